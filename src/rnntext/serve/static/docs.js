// The API docs page: lists the endpoints of /openapi.json with plain DOM calls (no CDN, no
// framework), so it works offline. Text from the schema is set as text, never parsed as HTML.
"use strict";

function el(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

function resolve(schema, spec) {
  const ref = schema && schema.$ref;
  if (!ref) return schema || {};
  return ref.replace(/^#\//, "").split("/").reduce((node, key) => (node || {})[key], spec) || {};
}

function typeOf(schema, spec) {
  schema = resolve(schema, spec);
  if (schema.anyOf) return schema.anyOf.map((s) => typeOf(s, spec)).join(" | ");
  if (schema.type === "array") return typeOf(schema.items, spec) + "[]";
  return schema.type || schema.title || "object";
}

function fieldTable(rows) {
  const table = el("table", "fields");
  const head = table.insertRow();
  ["name", "type", "default", "description"].forEach((h) => head.appendChild(el("th", "", h)));
  rows.forEach((r) => {
    const row = table.insertRow();
    [r.name + (r.required ? " *" : ""), r.type, r.default, r.description].forEach((cell, i) => {
      row.appendChild(el("td", i < 3 ? "mono" : "", cell === undefined ? "" : String(cell)));
    });
  });
  return table;
}

function bodyRows(operation, spec) {
  const content = ((operation.requestBody || {}).content || {})["application/json"];
  if (!content) return [];
  const schema = resolve(content.schema, spec);
  const required = new Set(schema.required || []);
  return Object.entries(schema.properties || {}).map(([name, p]) => ({
    name, required: required.has(name), type: typeOf(p, spec),
    default: p.default === undefined ? undefined : JSON.stringify(p.default), description: p.description,
  }));
}

function queryRows(operation, spec) {
  return (operation.parameters || []).filter((p) => p.in === "query").map((p) => ({
    name: p.name, required: p.required, type: typeOf(p.schema, spec),
    default: (p.schema || {}).default === undefined ? undefined : JSON.stringify(p.schema.default),
    description: p.description || (p.schema || {}).description,
  }));
}

function endpoint(method, path, operation, spec) {
  const section = el("section", "panel endpoint");
  const head = el("h2", "");
  head.appendChild(el("span", "method " + method, method.toUpperCase()));
  head.appendChild(el("code", "path", path));
  section.appendChild(head);
  if (operation.description || operation.summary) {
    section.appendChild(el("p", "", operation.description || operation.summary));
  }
  const query = queryRows(operation, spec), body = bodyRows(operation, spec);
  if (query.length) section.append(el("h3", "", "Query parameters"), fieldTable(query));
  if (body.length) section.append(el("h3", "", "JSON body"), fieldTable(body));
  return section;
}

async function main() {
  const list = document.getElementById("endpoints");
  try {
    const response = await fetch("/openapi.json");
    if (!response.ok) throw new Error("GET /openapi.json answered " + response.status);
    const spec = await response.json();
    Object.entries(spec.paths || {}).forEach(([path, methods]) => {
      Object.entries(methods).forEach(([method, operation]) => {
        list.appendChild(endpoint(method, path, operation, spec));
      });
    });
  } catch (e) {
    const box = document.getElementById("error");
    box.textContent = "Could not read the API description: " + e.message;
    box.hidden = false;
  }
}

main();

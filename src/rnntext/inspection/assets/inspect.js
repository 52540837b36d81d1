// The page of `rnntext inspect` (rnntext/inspection/page.py writes the data it reads).
// Text from the model is only ever set with textContent: never parsed as HTML.
"use strict";
(() => {
  const data = JSON.parse(document.getElementById("inspect-data").textContent);
  const $ = (id) => document.getElementById(id);
  const T = data.ids.length;
  const arrays = new Map(data.arrays.map((a) => [a.name, a]));
  const spans = [];
  let current = null; // {array, unit, values, scaled}
  let kept = -1; // the position a click keeps in the detail panel

  function el(tag, text, className) {
    const e = document.createElement(tag);
    if (text !== undefined) e.textContent = text;
    if (className) e.className = className;
    return e;
  }

  // A unit's values: 8 bits each between the unit's lowest (lo) and highest (hi) value.
  function bytesOf(a) {
    if (!a.bytes) {
      const raw = atob(a.q);
      a.bytes = new Uint8Array(raw.length);
      for (let i = 0; i < raw.length; i++) a.bytes[i] = raw.charCodeAt(i);
    }
    return a.bytes;
  }
  function values(name, unit) {
    const a = arrays.get(name), b = bytesOf(a), lo = a.lo[unit], step = (a.hi[unit] - lo) / 255;
    const out = new Float64Array(T);
    for (let t = 0; t < T; t++) out[t] = lo + b[unit * T + t] * step;
    return out;
  }

  // The diverging scale: s in [-1, 1], blue below 0, white at 0, red above. A gate in (0, 1)
  // is centred at 1/2 (s = 2v - 1); any other array is scaled by the unit's largest |value|.
  function scaler(a, vals) {
    if (a.fraction) return { s: (v) => 2 * v - 1, low: "0", high: "1" };
    let m = 0;
    for (const v of vals) m = Math.max(m, Math.abs(v));
    return { s: (v) => (m > 0 ? v / m : 0), low: (-m).toPrecision(3), high: "+" + m.toPrecision(3) };
  }
  function colour(s) {
    s = Math.max(-1, Math.min(1, s));
    const w = Math.round(255 * (1 - Math.abs(s)));
    return s >= 0 ? `rgb(255, ${w}, ${w})` : `rgb(${w}, ${w}, 255)`;
  }

  // Whitespace made visible where a token is shown on its own.
  const visible = (s) => s.replace(/\n/g, "\u23ce").replace(/\t/g, "\u21e5").replace(/ /g, "\u2423") || "\u2205";
  const label = (id) => visible(data.labels[id] ?? "");
  const arrayTitle = (a) => `layer ${a.layer} ${a.exposed}`;

  function drawText() {
    const box = $("text"), frag = document.createDocumentFragment();
    data.pieces.forEach((piece, t) => {
      const s = el("span", piece.replace(/\n/g, "\u23ce\n"));
      s.dataset.t = t;
      spans.push(s);
      frag.append(s);
    });
    box.append(frag);
    const position = (e) => (e.target.dataset && e.target.dataset.t !== undefined ? +e.target.dataset.t : -1);
    box.addEventListener("mouseover", (e) => { if (kept < 0 && position(e) >= 0) detail(position(e)); });
    box.addEventListener("click", (e) => {
      const t = position(e);
      if (t < 0) return;
      if (kept >= 0) spans[kept].classList.remove("kept");
      kept = kept === t ? -1 : t;
      if (kept >= 0) spans[kept].classList.add("kept");
      detail(t);
    });
  }

  function detail(t) {
    const box = $("detail");
    box.replaceChildren();
    const head = el("p");
    head.append(`position ${t}: `, el("span", label(data.ids[t]), "tok"));
    if (current) head.append(`  ${arrayTitle(current.array)} unit ${current.unit} = ${current.values[t].toFixed(3)}`);
    box.append(head);
    const next = el("p");
    if (data.next_prob[t] === null) next.append("nothing was read after this token");
    else next.append("next came ", el("span", label(data.ids[t + 1] ?? data.next_id), "tok"),
                     `, given p = ${data.next_prob[t].toFixed(4)}`);
    next.id = "next-prob";
    box.append(next, el("p", "the model's likeliest next tokens:", "hint"));
    const table = el("table");
    data.top.ids[t].forEach((id, j) => {
      const p = data.top.probs[t][j], row = el("tr"), bar = el("span", undefined, "bar");
      bar.style.width = `${Math.max(1, Math.round(p * 120))}px`;
      const cells = [el("td"), el("td", p.toFixed(4), "p"), el("td")];
      cells[0].append(el("span", label(id), "tok"));
      cells[2].append(bar);
      row.append(...cells);
      table.append(row);
    });
    box.append(table);
  }

  function fillLayers() {
    const layers = [...new Set(data.arrays.map((a) => a.layer))];
    for (const k of layers) {
      const a = data.arrays.find((x) => x.layer === k);
      const o = el("option", `layer ${k} (${a.units} units)`);
      o.value = k;
      $("layer").append(o);
    }
  }
  function fillExposed(layer) {
    $("exposed").replaceChildren(...data.arrays.filter((a) => a.layer === layer).map((a) => {
      const o = el("option", `${a.exposed}: ${a.description}`);
      o.value = a.name;
      return o;
    }));
  }

  function select(name, unit) {
    const a = arrays.get(name);
    unit = Math.max(0, Math.min(a.units - 1, Math.trunc(unit) || 0));
    if (+$("layer").value !== a.layer || $("exposed").value !== name) {
      $("layer").value = a.layer;
      fillExposed(a.layer);
      $("exposed").value = name;
    }
    for (const input of [$("unit"), $("unit-range")]) { input.max = a.units - 1; input.value = unit; }
    const vals = values(name, unit), scale = scaler(a, vals);
    for (let t = 0; t < T; t++) spans[t].style.backgroundColor = colour(scale.s(vals[t]));
    current = { array: a, unit, values: vals };
    $("legend-low").textContent = scale.low;
    $("legend-high").textContent = scale.high;
    $("array-about").textContent = `${arrayTitle(a)}: ${a.description}; ${a.fraction ? "white at 0.5"
      : "white at 0, full colour at the unit's largest |value| over this text"}`;
    document.body.dataset.selected = `${name}:${unit}`;
    for (const b of $("found").querySelectorAll("button")) {
      b.classList.toggle("chosen", b.dataset.array === name && +b.dataset.unit === unit);
    }
    if (kept >= 0) detail(kept);
  }

  function drawFound() {
    $("found-about").textContent = `the units with the largest |correlation| r with each feature over ` +
      `${data.about.read.toLocaleString("en")} tokens; |r| of ${data.tracks} or more tracks it. Click one to show it.`;
    for (const f of data.found) {
      const box = el("div", undefined, "feature"), title = el("p");
      title.append(el("strong", f.description));
      box.append(title);
      if (!f.varies) box.append(el("p", "does not vary in this text", "untracked"));
      else if (!f.tracked) box.append(el("p", `no unit tracks it (best |r| ${Math.abs(f.units[0].r).toFixed(2)})`, "untracked"));
      for (const u of f.units) {
        const b = el("button", `${arrayTitle(u)} #${u.unit} r=${u.r >= 0 ? "+" : ""}${u.r.toFixed(2)}`);
        if (Math.abs(u.r) >= data.tracks) b.classList.add("tracks");
        b.dataset.array = u.array;
        b.dataset.unit = u.unit;
        b.addEventListener("click", () => select(u.array, u.unit));
        box.append(b);
      }
      $("found").append(box);
    }
  }

  function start() {
    $("title").textContent = `rnntext inspect: ${data.name}`;
    document.title = `${data.name}: rnntext inspect`;
    $("about").textContent = data.about.line;
    if (data.note) { $("note").textContent = data.note; $("note").hidden = false; }
    drawText();
    fillLayers();
    drawFound();
    $("layer").addEventListener("change", () => {
      fillExposed(+$("layer").value);
      select($("exposed").value, +$("unit").value);
    });
    $("exposed").addEventListener("change", () => select($("exposed").value, +$("unit").value));
    $("unit").addEventListener("input", () => select($("exposed").value, +$("unit").value));
    $("unit-range").addEventListener("input", () => select($("exposed").value, +$("unit-range").value));
    const best = data.found.flatMap((f) => f.units).sort((a, b) => Math.abs(b.r) - Math.abs(a.r))[0];
    fillExposed(data.arrays[0].layer);
    select(best ? best.array : data.arrays[0].name, best ? best.unit : 0);
    window.rnntextInspect = { select, values, colour };
    document.body.dataset.state = "ready";
  }

  start();
})();

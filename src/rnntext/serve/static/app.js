// The playground: talks to the /v1 API of the server that served this page. No libraries.
"use strict";

const $ = (id) => document.getElementById(id);
const state = { models: [], limits: {}, controller: null, chartTimer: null, chartSeq: 0 };

// Tokens that would be invisible in the chart get a visible stand-in.
const VISIBLE = { " ": "␣", "\n": "↵", "\t": "⇥", "\r": "␍" };
const visible = (token) => (token in VISIBLE ? VISIBLE[token] : token);

function showError(message) {
  const box = $("error");
  box.textContent = message;
  box.hidden = !message;
}

// The server answers errors as JSON {"error": "...", "limit": "..."}; say them as they are.
async function errorOf(response) {
  try {
    const body = await response.json();
    if (body && body.error) return body.error;
  } catch (_) { /* not JSON: fall through */ }
  return `the server answered ${response.status} ${response.statusText}`;
}

async function api(path, body) {
  const options = body === undefined ? {} : {
    method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body),
  };
  const response = await fetch(path, options);
  if (!response.ok) throw new Error(await errorOf(response));
  return response.json();
}

function currentModel() {
  return state.models.find((m) => m.name === $("model").value);
}

function showModelInfo() {
  const m = currentModel();
  const info = $("model-info");
  info.replaceChildren();
  if (!m) return;
  const loss = m.training.best_val_loss;
  const rows = [
    ["model", m.shape],
    ["level", `${m.level}, ${m.vocab_size} tokens`],
    ["parameters", m.parameters.toLocaleString()],
    ["trained", `${m.training.iterations} iterations` + (loss == null ? "" : `, val loss ${loss.toFixed(3)}`)],
  ];
  for (const [key, value] of rows) {
    const dt = document.createElement("dt");
    const dd = document.createElement("dd");
    dt.textContent = key;
    dd.textContent = value;
    info.append(dt, dd);
  }
  $("top_k").max = Math.min(m.vocab_size, state.limits.max_top_probs || 100);
}

async function loadModels() {
  const data = await api("/v1/models");
  state.models = data.models;
  state.limits = data.limits;
  for (const m of data.models) $("model").add(new Option(m.name, m.name));
  $("length").max = data.limits.max_length;
  $("beam").max = data.limits.max_samples;
  $("prime").maxLength = data.limits.max_prime_chars;
  if (!data.models.length) showError("This server has no models: start it with rnntext serve RUN.");
  showModelInfo();
  updateSliders();
  refreshChart();
}

function updateSliders() {
  $("temperature-value").textContent = Number($("temperature").value).toFixed(2);
  $("top_k-value").textContent = $("top_k").value === "0" ? "all" : $("top_k").value;
  const penalty = Number($("repetition_penalty").value);
  $("repetition_penalty-value").textContent = penalty === 1 ? "off" : penalty.toFixed(2);
  $("length-value").textContent = $("length").value;
}

function percent(prob) {
  const p = 100 * prob;
  return `${p >= 1 || p === 0 ? p.toFixed(1) : p.toPrecision(2)}%`; // 12.3%, 0.42%
}

function renderChart(tokens) {
  const chart = $("chart");
  chart.replaceChildren();
  for (const { token, prob } of tokens) {
    const row = document.createElement("div");
    row.className = "bar-row";
    const label = document.createElement("span");
    label.className = "bar-token" + (token in VISIBLE ? " special" : "");
    label.textContent = visible(token);
    label.title = JSON.stringify(token);
    const track = document.createElement("div");
    track.className = "bar-track";
    const bar = document.createElement("div");
    bar.className = "bar";
    bar.style.width = `${100 * prob}%`; // the track is 0-100%: a bar is as long as its probability
    track.append(bar);
    const value = document.createElement("span");
    value.className = "bar-prob";
    value.textContent = percent(prob);
    row.append(label, track, value);
    chart.append(row);
  }
}

// The chart follows the prime as it is typed; only the latest answer is drawn.
async function refreshChart() {
  const model = $("model").value;
  if (!model) return;
  const seq = ++state.chartSeq;
  try {
    const data = await api("/v1/next", { model, prime: $("prime").value, top_probs: 10, unknown: $("unknown").value });
    if (seq === state.chartSeq) renderChart(data.tokens);
  } catch (err) {
    if (seq !== state.chartSeq) return;
    // Shown in the chart, not the banner: it is redrawn on every keystroke.
    const note = Object.assign(document.createElement("p"), { className: "empty", textContent: err.message });
    $("chart").replaceChildren(note);
  }
}

function scheduleChart() {
  clearTimeout(state.chartTimer);
  state.chartTimer = setTimeout(refreshChart, 250);
}

function setRunning(running) {
  $("generate").disabled = running;
  $("stop").disabled = !running;
  $("caret").hidden = !running;
}

// Stop strings: one per line, with \n for a line end and \\ for a backslash.
function stopStrings() {
  return $("stop_strings").value.split("\n").filter((line) => line !== "")
    .map((line) => line.replace(/\\(n|\\)/g, (_, c) => (c === "n" ? "\n" : "\\")));
}

function request() {
  const seed = $("seed").value.trim();
  const beam = Number($("beam").value) || 0;
  return {
    model: $("model").value,
    prime: $("prime").value,
    temperature: Number($("temperature").value),
    top_k: Number($("top_k").value),
    length: Number($("length").value),
    repetition_penalty: Number($("repetition_penalty").value),
    stop: stopStrings(),
    ...(beam > 0 ? { beam } : {}),
    unknown: $("unknown").value,
    ...(seed === "" ? {} : { seed: Number(seed) }),
  };
}

// Server-sent events over fetch (EventSource cannot POST): frames end with a blank line.
function handleEvent(name, data) {
  const gen = $("out-gen");
  if (name === "start") {
    $("status").textContent = `generating (seed ${data.seed})…`;
  } else if (name === "tokens") {
    if (data.delta) gen.textContent += data.delta[0];
    else gen.textContent = data.text[0];
    $("status").textContent = `${data.tokens} tokens…`;
    $("output").scrollTop = $("output").scrollHeight;
  } else if (name === "done") {
    gen.textContent = data.samples[0];
    $("status").textContent = `${data.tokens} tokens in ${data.seconds.toFixed(2)} s · seed ${data.seed}`;
  } else if (name === "error") {
    showError(data.error);
    $("status").textContent = "stopped by an error";
  }
}

function parseFrame(frame) {
  let name = "message";
  const lines = [];
  for (const line of frame.split("\n")) {
    if (line.startsWith("event:")) name = line.slice(6).trim();
    else if (line.startsWith("data:")) lines.push(line.slice(5).trimStart());
  }
  if (lines.length) handleEvent(name, JSON.parse(lines.join("\n")));
}

async function generate() {
  showError("");
  const body = request();
  $("out-prime").textContent = body.prime;
  $("out-gen").textContent = "";
  $("status").textContent = "waiting for the server…";
  state.controller = new AbortController();
  setRunning(true);
  refreshChart();
  try {
    const response = await fetch("/v1/generate/stream", {
      method: "POST", headers: { "Content-Type": "application/json" },
      body: JSON.stringify(body), signal: state.controller.signal,
    });
    if (!response.ok) throw new Error(await errorOf(response));
    const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
    let buffer = "";
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      buffer += value;
      let end;
      while ((end = buffer.indexOf("\n\n")) >= 0) {
        parseFrame(buffer.slice(0, end));
        buffer = buffer.slice(end + 2);
      }
    }
  } catch (err) {
    if (err.name === "AbortError") $("status").textContent = "stopped";
    else {
      showError(err.message === "Failed to fetch" ? "Cannot reach the server: is rnntext serve still running?" : err.message);
      $("status").textContent = "";
    }
  } finally {
    setRunning(false);
    state.controller = null;
  }
}

async function copyOutput() {
  const text = $("out-prime").textContent + $("out-gen").textContent;
  try {
    await navigator.clipboard.writeText(text);
  } catch (_) {
    // Not a secure context (served to another machine over http): the old way still works.
    const area = Object.assign(document.createElement("textarea"), { value: text });
    document.body.append(area);
    area.select();
    document.execCommand("copy");
    area.remove();
  }
  $("copy").textContent = "Copied";
  setTimeout(() => { $("copy").textContent = "Copy"; }, 1200);
}

function init() {
  for (const id of ["temperature", "top_k", "repetition_penalty", "length"]) $(id).addEventListener("input", updateSliders);
  $("model").addEventListener("change", () => { showModelInfo(); refreshChart(); });
  $("prime").addEventListener("input", scheduleChart);
  $("unknown").addEventListener("change", scheduleChart);
  $("generate").addEventListener("click", generate);
  $("stop").addEventListener("click", () => state.controller && state.controller.abort());
  $("copy").addEventListener("click", copyOutput);
  $("prime").addEventListener("keydown", (e) => {
    if (e.key === "Enter" && (e.ctrlKey || e.metaKey)) generate();
  });
  loadModels().catch((err) => showError(`Cannot load the models: ${err.message}`));
}

init();

/* The page around runtime.js: reads the form, generates in slices of ~30 ms so that the page
 * stays responsive, shows the text as it grows and the likeliest next tokens. */
(function () {
  "use strict";
  const $ = (id) => document.getElementById(id);
  let model = null, job = null;

  function status(text, error = false) {
    $("status").textContent = text;
    $("status").className = error ? "error" : "";
  }

  function showTop(table, top) {
    table.replaceChildren(...top.map(([id, , p]) => {
      const row = document.createElement("tr");
      const shown = JSON.stringify(model.decode([id]) || model.vocab.tokens[id]);
      row.innerHTML = '<td class="t"></td><td class="p"></td><td><span class="bar"></span></td>';
      row.children[0].textContent = shown;
      row.children[1].textContent = p.toFixed(4);
      row.children[2].firstChild.style.width = `${Math.max(1, Math.round(p * 120))}px`;
      row.dataset.id = id;
      return row;
    }));
  }

  function number(id, test, what) {
    const text = $(id).value.trim(), value = Number(text);
    if (text === "" || !Number.isFinite(value) || !test(value)) throw new Error(`${id}: ${what}`);
    return value;
  }

  // A seed left empty is drawn fresh for each click, as `rnntext sample` draws one without
  // --seed: below 2**31, short to read back and to type.
  function freshSeed() {
    return String(crypto.getRandomValues(new Uint32Array(1))[0] >>> 1);
  }

  function options() {
    const typed = $("seed").value.trim(), seed = typed === "" ? freshSeed() : typed;
    if (!/^\d+$/.test(seed)) throw new Error("seed: a whole number, 0 or more (empty: a fresh one each time)");
    const label = model.spec.labels.length ? Number($("label").value) : null;
    return {
      temperature: number("temperature", (x) => x >= 0, "a number, 0 or more (0 is greedy)"),
      length: number("length", (x) => Number.isInteger(x) && x >= 0 && x <= 1000000, "a whole number from 0 to 1000000"),
      topK: number("top-k", (x) => Number.isInteger(x) && x >= 0, "a whole number, 0 or more (0 turns it off)"),
      topP: number("top-p", (x) => x > 0 && x <= 1, "a number in (0, 1] (1 turns it off)"),
      seed: BigInt(seed), label, greedy: model.spec.sample.greedy,
    };
  }

  async function generate() {
    if (job) job.stop = true;
    let opts;
    try { opts = options(); } catch (e) { status(e.message, true); return; }
    const mine = (job = { stop: false });
    const { ids: prime, unknown } = model.encode($("prime").value);
    const note = (unknown.length ? `left out (not in the vocabulary): ${JSON.stringify(unknown.join(" "))}; ` : "")
      + (opts.greedy || opts.temperature === 0 ? "" : `seed ${opts.seed} (type it in Seed to write this text again); `);
    $("seed-used").textContent = opts.greedy || opts.temperature === 0 ? "" : String(opts.seed);
    showTop($("top-prime"), model.top(prime, 10, opts.label));
    $("stop").disabled = false;
    document.body.dataset.state = "running";
    const out = [], steps = model.tokens(prime, opts), started = performance.now();
    let done = false;
    while (!done && !mine.stop) {
      const until = performance.now() + 30;
      while (performance.now() < until) {
        const next = steps.next();
        if (next.done) { done = true; break; }
        out.push(next.value);
      }
      $("output").textContent = model.decode(prime.concat(out));
      const seconds = (performance.now() - started) / 1000;
      status(`${note}${out.length} tokens in ${seconds.toFixed(2)} s (${Math.round(out.length / seconds)} tokens/s)`);
      if (!done) await new Promise((resolve) => setTimeout(resolve, 0));
    }
    if (job !== mine) return; // a newer generation took over
    showTop($("top-end"), model.top(prime.concat(out), 10, opts.label));
    $("stop").disabled = true;
    document.body.dataset.state = "done";
    job = null;
  }

  function init() {
    try {
      if (!globalThis.RNNTEXT_MODEL) throw new Error("model.js is missing or damaged: export the run again");
      model = new RnnText.Model(globalThis.RNNTEXT_MODEL);
    } catch (e) {
      status(e.message, true);
      document.body.dataset.state = "error";
      return;
    }
    globalThis.rnntextModel = model;
    const s = model.spec;
    $("title").textContent = `rnntext: ${s.name}`;
    $("about").textContent = `A ${s.shape}${s.embed_size ? `, embedding ${s.embed_size}` : ", one-hot input"}, on `
      + `${s.vocab.level} tokens (${s.vocab_size} of them), running in this browser: nothing is sent anywhere.`;
    $("temperature").value = s.sample.temperature;
    $("length").value = s.sample.length;
    $("top-k").value = s.sample.top_k;
    $("top-p").value = s.sample.top_p;
    $("seed").value = s.sample.seed;
    if (s.labels.length) {
      $("label-box").hidden = false;
      $("label").replaceChildren(...s.labels.map((name, i) => new Option(name, String(i))));
    }
    $("generate").disabled = false;
    $("generate").addEventListener("click", generate);
    $("stop").addEventListener("click", () => { if (job) job.stop = true; });
    document.body.dataset.state = "ready";
  }

  init();
})();

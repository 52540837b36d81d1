/* rnntext's generation runtime in plain JavaScript: the page `rnntext export web` writes.
 *
 * It steps a trained model exported by rnntext.interop.web (model.js sets
 * globalThis.RNNTEXT_MODEL) with the maths of the NumPy runtime (rnntext.generation):
 * - weights in PyTorch's layout and names (rnn.weight_ih_l0, ...; gate orders LSTM i, f, g, o
 *   and GRU r, z, n), float32, decoded from one base64 blob; every sum runs in float64;
 * - one step function per cell in CELLS, on gx = W_ih x + b_ih and gh = W_hh h + b_hh (none
 *   for a cell without recurrent weights: minGRU, minLSTM);
 * - sampling as rnntext.generation.rules documents: stream 0 of seed s draws its uniforms from
 *   numpy's PCG64(SeedSequence(s, spawn_key=(0,))), one float64 per step (greedy steps
 *   included), and a token is the inverse CDF of u over exp((l - max l) / T) after top-k and
 *   top-p; greedy takes the first largest logit;
 * - per token level the text's ids and the ids' text from levels.js (loaded first).
 * No network, no modules: it runs from file:// and from any static host.
 */
(function (global) {
  "use strict";

  // -- cells ------------------------------------------------------------------------------
  // The step of the model's cell comes with the model: model.js sets RNNTEXT_CELLS to the
  // cell's `js_step` from its module (rnntext/cells), with its gate count and state parts.
  const CELLS = global.RNNTEXT_CELLS || {};

  /** out[r] = bias[r] + W[r, :n] . x for r < rows; W row-major with `stride` columns. Eight rows
   *  at a time share each x[c] (about 1.7x the speed of one row at a time in V8). */
  function matvec(W, rows, n, stride, x, bias, out) {
    let r = 0;
    for (; r + 7 < rows; r += 8) {
      const b0 = r * stride, b1 = b0 + stride, b2 = b1 + stride, b3 = b2 + stride;
      const b4 = b3 + stride, b5 = b4 + stride, b6 = b5 + stride, b7 = b6 + stride;
      let s0 = 0, s1 = 0, s2 = 0, s3 = 0, s4 = 0, s5 = 0, s6 = 0, s7 = 0;
      for (let c = 0; c < n; c++) {
        const xc = x[c];
        s0 += W[b0 + c] * xc; s1 += W[b1 + c] * xc; s2 += W[b2 + c] * xc; s3 += W[b3 + c] * xc;
        s4 += W[b4 + c] * xc; s5 += W[b5 + c] * xc; s6 += W[b6 + c] * xc; s7 += W[b7 + c] * xc;
      }
      out[r] = bias[r] + s0; out[r + 1] = bias[r + 1] + s1; out[r + 2] = bias[r + 2] + s2; out[r + 3] = bias[r + 3] + s3;
      out[r + 4] = bias[r + 4] + s4; out[r + 5] = bias[r + 5] + s5; out[r + 6] = bias[r + 6] + s6; out[r + 7] = bias[r + 7] + s7;
    }
    for (; r < rows; r++) {
      const base = r * stride;
      let s = 0;
      for (let c = 0; c < n; c++) s += W[base + c] * x[c];
      out[r] = bias[r] + s;
    }
  }

  function floats(b64) {
    const bin = atob(b64), bytes = new Uint8Array(bin.length);
    for (let i = 0; i < bin.length; i++) bytes[i] = bin.charCodeAt(i);
    if (new Uint8Array(new Uint16Array([1]).buffer)[0] === 1) return new Float32Array(bytes.buffer);
    const view = new DataView(bytes.buffer), out = new Float32Array(bytes.length / 4); // a big-endian machine
    for (let i = 0; i < out.length; i++) out[i] = view.getFloat32(4 * i, true);
    return out;
  }

  // -- the network --------------------------------------------------------------------------
  class Network {
    constructor(spec) {
      const cell = CELLS[spec.cell];
      if (!cell) throw new Error(`this page does not know the cell ${spec.cell}`);
      if (cell.gates !== spec.gates) throw new Error(`cell ${spec.cell}: ${spec.gates} gates exported, ${cell.gates} here`);
      const blob = floats(spec.weights);
      const get = (name, shape) => {
        const t = spec.tensors[name];
        if (!t || t.shape.join() !== shape.join()) throw new Error(`weight ${name}: expected shape ${shape}`);
        return blob.subarray(t.offset, t.offset + shape.reduce((a, b) => a * b, 1));
      };
      this.cell = cell; this.V = spec.vocab_size; this.E = spec.embed_size; this.L = spec.labels.length;
      this.emb = this.E ? get("embedding.weight", [this.V, this.E]) : null;
      let D = (this.E || this.V) + this.L;
      this.layers = spec.hidden.map((H, k) => {
        const G = cell.gates * H, layer = { H, D, gx: new Float64Array(G), gh: null, whh: null, s: {} };
        layer.wih = get(`rnn.weight_ih_l${k}`, [G, D]); layer.bih = get(`rnn.bias_ih_l${k}`, [G]);
        if (cell.recurrent !== false) { // minGRU and minLSTM have no recurrent weights: gh stays null
          layer.whh = get(`rnn.weight_hh_l${k}`, [G, H]); layer.bhh = get(`rnn.bias_hh_l${k}`, [G]);
          layer.gh = new Float64Array(G);
        }
        for (const part of cell.parts) layer.s[part] = new Float64Array(H);
        D = H;
        return layer;
      });
      this.wout = spec.tie_weights ? this.emb : get("output.weight", [this.V, D]);
      this.bout = get("output.bias", [this.V]);
      this.x = new Float64Array(this.E);
      this.logits = new Float64Array(this.V);
      this.label = null;
    }

    reset() {
      for (const layer of this.layers) for (const part of this.cell.parts) layer.s[part].fill(0);
    }

    /** Feed token `id`; returns the next-token logits (V,) float64 (a buffer reused by every step). */
    step(id) {
      const first = this.layers[0], G = first.gx.length, base = this.E || this.V;
      if (this.E) {
        for (let e = 0; e < this.E; e++) this.x[e] = this.emb[id * this.E + e];
        matvec(first.wih, G, this.E, first.D, this.x, first.bih, first.gx);
      } else { // one-hot input: column `id` of W_ih
        for (let r = 0; r < G; r++) first.gx[r] = first.bih[r] + first.wih[r * first.D + id];
      }
      if (this.label !== null) for (let r = 0; r < G; r++) first.gx[r] += first.wih[r * first.D + base + this.label];
      let below = null;
      for (const layer of this.layers) {
        if (below) matvec(layer.wih, layer.gx.length, layer.D, layer.D, below, layer.bih, layer.gx);
        if (layer.whh) matvec(layer.whh, layer.gh.length, layer.H, layer.H, layer.s.h, layer.bhh, layer.gh);
        this.cell.step(layer.gx, layer.gh, layer.s, layer.H);
        below = layer.s.h;
      }
      const H = this.layers[this.layers.length - 1].H;
      matvec(this.wout, this.V, H, H, below, this.bout, this.logits);
      return this.logits;
    }
  }

  // -- random numbers: numpy's SeedSequence and PCG64, exactly ------------------------------
  const M128 = (1n << 128n) - 1n, M64 = (1n << 64n) - 1n;
  const PCG_MULT = (2549297995355413924n << 64n) + 4865540595714422341n;

  function words32(n) { // a non-negative integer as little-endian uint32 words ([0] for 0)
    const out = [];
    do { out.push(Number(n & 0xffffffffn)); n >>= 32n; } while (n > 0n);
    return out;
  }

  function seedState(seed, stream) { // SeedSequence(seed, spawn_key=(stream,)).generate_state(4, uint64)
    const run = words32(BigInt(seed)), spawn = words32(BigInt(stream));
    while (run.length < 4) run.push(0);
    const entropy = run.concat(spawn);
    let hashA = 0x43b0d7e5;
    const hashmix = (v) => {
      v = (v ^ hashA) >>> 0; hashA = Math.imul(hashA, 0x931e8875) >>> 0;
      v = Math.imul(v, hashA) >>> 0; return (v ^ (v >>> 16)) >>> 0;
    };
    const mix = (x, y) => { const r = (Math.imul(0xca01f9dd, x) - Math.imul(0x4973f715, y)) >>> 0; return (r ^ (r >>> 16)) >>> 0; };
    const pool = entropy.slice(0, 4).map(hashmix);
    for (let s = 0; s < 4; s++) for (let d = 0; d < 4; d++) if (s !== d) pool[d] = mix(pool[d], hashmix(pool[s]));
    for (let s = 4; s < entropy.length; s++) for (let d = 0; d < 4; d++) pool[d] = mix(pool[d], hashmix(entropy[s]));
    let hashB = 0x8b51f9dd;
    const state = [];
    for (let i = 0; i < 8; i++) {
      let v = (pool[i % 4] ^ hashB) >>> 0; hashB = Math.imul(hashB, 0x58f38ded) >>> 0;
      v = Math.imul(v, hashB) >>> 0; state.push((v ^ (v >>> 16)) >>> 0);
    }
    return [0, 1, 2, 3].map((k) => BigInt(state[2 * k]) | (BigInt(state[2 * k + 1]) << 32n));
  }

  /** The uniforms of one stream: numpy.random.Generator(PCG64(SeedSequence(seed, spawn_key=(stream,)))).random(). */
  class Uniforms {
    constructor(seed, stream = 0) {
      const s = seedState(seed, stream);
      this.inc = (((s[2] << 64n) | s[3]) << 1n | 1n) & M128;
      this.state = 0n;
      this.advance();
      this.state = (this.state + ((s[0] << 64n) | s[1])) & M128;
      this.advance();
    }

    advance() { this.state = (this.state * PCG_MULT + this.inc) & M128; }

    next() {
      this.advance();
      const hi = this.state >> 64n, x = hi ^ (this.state & M64), rot = hi >> 58n;
      const out = ((x >> rot) | (x << ((64n - rot) & 63n))) & M64;
      return Number(out >> 11n) / 9007199254740992;
    }
  }

  // -- sampling rules --------------------------------------------------------------------------
  function isGreedy(rule) { return rule.greedy || rule.temperature === 0 || rule.topK === 1; }

  function argmax(a) {
    let best = 0;
    for (let i = 1; i < a.length; i++) if (a[i] > a[best]) best = i;
    return best;
  }

  /** Unnormalised float64 weights after temperature, top-k and top-p (rules.Sampler.weights), into w. */
  function weights(logits, rule, w = new Float64Array(logits.length)) {
    const V = logits.length;
    let peak = -Infinity;
    for (let i = 0; i < V; i++) if (logits[i] > peak) peak = logits[i];
    for (let i = 0; i < V; i++) w[i] = Math.exp((logits[i] - peak) / rule.temperature);
    const k = rule.topK || 0, p = rule.topP === undefined ? 1 : rule.topP;
    if ((k > 0 && k < V) || p < 1) {
      const order = Array.from(w.keys()).sort((a, b) => w[b] - w[a]); // stable: ties keep the lower id first
      const ranked = order.map((i) => w[i]);
      if (k > 0 && k < V) ranked.fill(0, k);
      if (p < 1) {
        const mass = new Float64Array(V);
        let sum = 0;
        for (let r = 0; r < V; r++) mass[r] = sum += ranked[r];
        const cut = p * mass[V - 1];
        for (let r = 0; r < V; r++) if (mass[r] - ranked[r] >= cut) ranked[r] = 0;
      }
      order.forEach((i, r) => { w[i] = ranked[r]; });
    }
    return w;
  }

  /** Draws one token from logits (V,) and a uniform u in [0, 1) under `rule`, with reused buffers. */
  class Sampler {
    constructor(rule, V) { this.rule = rule; this.greedy = isGreedy(rule); this.w = new Float64Array(V); this.cdf = new Float64Array(V); }

    choose(logits, u) {
      if (this.greedy) return argmax(logits);
      const w = weights(logits, this.rule, this.w), V = w.length, cdf = this.cdf;
      let sum = 0;
      for (let i = 0; i < V; i++) cdf[i] = sum += w[i];
      const target = cdf[V - 1] * u;
      let lo = 0, hi = V; // the number of entries <= target (the cdf does not decrease)
      while (lo < hi) { const mid = (lo + hi) >> 1; if (cdf[mid] <= target) lo = mid + 1; else hi = mid; }
      return Math.min(lo, V - 1);
    }
  }

  /** The k most likely (id, probability) at temperature 1, most likely first (rules.top_tokens). */
  function topTokens(logits, k) {
    const w = weights(logits, { temperature: 1 });
    let total = 0;
    for (const x of w) total += x;
    const order = Array.from(w.keys()).sort((a, b) => w[b] - w[a]);
    return order.slice(0, k).map((i) => [i, w[i] / total]);
  }

  // -- the model: prime, generate, next tokens ------------------------------------------------
  class Model {
    constructor(spec) {
      if (spec.format !== "rnntext-web" || spec.format_version !== 1) throw new Error("model.js is not an rnntext web export");
      this.spec = spec;
      this.vocab = spec.vocab;
      this.vocab.spacing = spec.spacing;
      this.level = global.RnnText.LEVELS[spec.vocab.level];
      if (!this.level) throw new Error(`this page does not know the token level ${spec.vocab.level}`);
      this.net = new Network(spec);
      this.drop = new Set(spec.drop_ids);
    }

    /** The prime's ids (the start ids for an empty prime) and the symbols or words left out. */
    encode(prime) {
      const { ids, unknown } = prime ? this.level.encode(this.vocab, prime) : { ids: [], unknown: [] };
      return { ids: ids.length ? ids : this.spec.start_ids.slice(), unknown };
    }

    /** Text of ids, start and end tokens left out (api.Model.decode). */
    decode(ids) { return this.level.decode(this.vocab, ids.filter((i) => i >= 0 && !this.drop.has(i))); }

    /** Feed the prime's ids from the zero state; returns the logits after them. */
    prime(ids, label = null) {
      this.net.reset();
      this.net.label = label;
      let logits = null;
      for (const id of ids) logits = this.net.step(id);
      return logits;
    }

    /**
     * Generate after `ids`: options length, temperature, topK, topP, greedy, seed, label.
     * Yields each token id as it is chosen; stops after the end token of a line-mode model.
     */
    *tokens(ids, options) {
      const rule = { temperature: options.temperature ?? 1, topK: options.topK || 0, topP: options.topP ?? 1, greedy: !!options.greedy };
      const uniforms = new Uniforms(options.seed ?? 0, 0), sampler = new Sampler(rule, this.net.V);
      let logits = this.prime(ids, options.label ?? null);
      for (let n = 0; n < options.length; n++) {
        const id = sampler.choose(logits, uniforms.next());
        yield id;
        if (id === this.spec.end_id) return;
        logits = this.net.step(id);
      }
    }

    /** Everything at once: {primeIds, unknown, ids, text, top (after the prime), topEnd (after the text)}. */
    run(prime, options) {
      const { ids: primeIds, unknown } = this.encode(prime);
      const k = options.k || 10, label = options.label ?? null;
      const top = this.top(primeIds, k, label);
      const ids = Array.from(this.tokens(primeIds, options)), all = primeIds.concat(ids);
      return { primeIds, unknown, ids, text: this.decode(all), top, topEnd: this.top(all, k, label) };
    }

    /** The k most likely next tokens after ids: [[id, token, probability], ...]. */
    top(ids, k = 10, label = null) {
      return topTokens(this.prime(ids, label), k).map(([i, p]) => [i, this.vocab.tokens[i], p]);
    }
  }

  Object.assign(global.RnnText || (global.RnnText = {}), { CELLS, Model, Sampler, Uniforms, topTokens });
})(globalThis);

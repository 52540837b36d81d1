/* rnntext's token levels in plain JavaScript, for the page `rnntext export web` writes: for
 * each level the ids of a text (and the symbols or words the vocabulary lacks) and the text of
 * ids, as the project's vocabularies encode and decode them (rnntext.text):
 * - char: Unicode code points; byte: UTF-8 bytes, each token the Latin-1 character of its byte;
 * - word: the "punct" tokenizer's pattern (or whitespace for "space"), <eos> for line ends
 *   when the vocabulary has them, unknown words as <unk>; decoding spaces tokens with the
 *   flags the export computed with the project's detokenize, straight quotes alternating;
 * - bpe: byte-level BPE as the tokenizers package runs it (added tokens first, GPT-2's
 *   pre-tokenizing pattern, merges by rank), decoding bytes back to UTF-8.
 * Undecodable bytes become U+FFFD, as Python's errors="replace" does.
 */
(function (global) {
  "use strict";

  const utf8 = (bytes) => new TextDecoder("utf-8").decode(new Uint8Array(bytes));
  const byName = (vocab) => vocab.index || (vocab.index = new Map(vocab.tokens.map((t, i) => [t, i])));

  function lookup(vocab, symbols) {
    const index = byName(vocab), ids = [], unknown = [];
    for (const s of symbols) {
      const id = index.get(s);
      if (id === undefined) unknown.push(s); else ids.push(id);
    }
    return { ids, unknown };
  }

  const WORD_TAGS = ["<unk>", "<eos>", "<s>", "</s>", "<pad>"];
  const WORD = new RegExp(WORD_TAGS.map((t) => t.replace(/[/]/g, "\\/")).join("|")
    + "|[\\p{L}\\p{N}\\p{M}_]+(?:(?:['’\\-]|(?<=\\p{Nd})[.,:](?=\\p{Nd}))[\\p{L}\\p{N}\\p{M}_]+)*|([.!?\\-])\\1*|\\S", "gu");

  function wordTokens(vocab, text) {
    const split = (line) => (vocab.mode === "space" ? line.split(/\s+/).filter(Boolean) : line.match(WORD) || []);
    if (!vocab.eos) return split(text);
    const lines = text.split("\n");
    return lines.flatMap((line, i) => (i < lines.length - 1 ? [...split(line), "<eos>"] : split(line)));
  }

  function detokenize(vocab, ids) { // words.detokenize, with each token's spacing from the export
    let out = "", glue = true, quotes = new Set();
    for (const id of ids) {
      const token = vocab.tokens[id];
      if (token === "<eos>") { out += "\n"; glue = true; quotes = new Set(); continue; }
      let [before, after] = vocab.spacing[id];
      if (token === '"' || token === "'") {
        const opening = !quotes.has(token);
        if (opening) quotes.add(token); else quotes.delete(token);
        before = !opening; after = opening;
      }
      if (!(glue || before)) out += " ";
      out += token;
      glue = after;
    }
    return out;
  }

  function byteAlphabet() { // GPT-2's bytes_to_unicode: byte -> the character the BPE tokens spell it with
    const direct = [];
    for (let b = 33; b <= 126; b++) direct.push(b);
    for (let b = 161; b <= 172; b++) direct.push(b);
    for (let b = 174; b <= 255; b++) direct.push(b);
    const chars = new Array(256);
    let n = 0;
    for (let b = 0; b < 256; b++) chars[b] = String.fromCharCode(direct.includes(b) ? b : 256 + n++);
    return chars;
  }

  function bpeSetup(vocab) {
    if (vocab.bpe) return vocab.bpe;
    const tk = JSON.parse(vocab.tokenizer), chars = byteAlphabet();
    const ranks = new Map(tk.model.merges.map((m, r) => [(Array.isArray(m) ? m : m.split(" ")).join(" "), r]));
    const specials = tk.added_tokens.map((t) => t.content).sort((a, b) => b.length - a.length);
    const escape = (s) => s.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&");
    return (vocab.bpe = {
      chars, ranks, byteOf: new Map(chars.map((c, b) => [c, b])),
      special: specials.length ? new RegExp(`(${specials.map(escape).join("|")})`) : null,
      pieces: /'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+/gu,
    });
  }

  function bpeMerge(bpe, piece) { // merge the lowest-ranked pair (leftmost on ties) until none is left
    const parts = Array.from(piece);
    for (;;) {
      let best = -1, bestRank = Infinity;
      for (let i = 0; i + 1 < parts.length; i++) {
        const rank = bpe.ranks.get(parts[i] + " " + parts[i + 1]);
        if (rank !== undefined && rank < bestRank) { best = i; bestRank = rank; }
      }
      if (best < 0) return parts;
      parts.splice(best, 2, parts[best] + parts[best + 1]);
    }
  }

  function bpeTokens(vocab, text) {
    const bpe = bpeSetup(vocab), out = [];
    const chunks = bpe.special ? text.split(bpe.special) : [text];
    chunks.forEach((chunk, i) => {
      if (i % 2 === 1) { out.push(chunk); return; } // a special token, as it is
      for (const piece of chunk.match(bpe.pieces) || []) {
        const spelled = Array.from(new TextEncoder().encode(piece), (b) => bpe.chars[b]).join("");
        out.push(...bpeMerge(bpe, spelled));
      }
    });
    return out;
  }

  const LEVELS = {
    char: { encode: (v, text) => lookup(v, Array.from(text)), decode: (v, ids) => ids.map((i) => v.tokens[i]).join("") },
    byte: {
      encode: (v, text) => lookup(v, Array.from(new TextEncoder().encode(text), (b) => String.fromCharCode(b))),
      decode: (v, ids) => utf8(ids.map((i) => v.tokens[i].charCodeAt(0))),
    },
    word: { // unknown words become <unk>, which is what the word level trains on
      encode(v, text) {
        const index = byName(v), unknown = [];
        const ids = wordTokens(v, text).map((t) => (index.has(t) ? index.get(t) : (unknown.push(t), index.get("<unk>"))));
        return { ids, unknown };
      },
      decode: detokenize,
    },
    bpe: {
      encode: (v, text) => lookup(v, bpeTokens(v, text)),
      decode(v, ids) {
        const bpe = bpeSetup(v), bytes = [];
        for (const i of ids) for (const c of v.tokens[i]) bytes.push(...(bpe.byteOf.has(c) ? [bpe.byteOf.get(c)] : new TextEncoder().encode(c)));
        return utf8(bytes);
      },
    },
  };

  (global.RnnText || (global.RnnText = {})).LEVELS = LEVELS;
})(globalThis);

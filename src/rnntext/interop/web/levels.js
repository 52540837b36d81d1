/* What the token levels share in plain JavaScript, on the page `rnntext export web` writes.
 *
 * Each level's own encoder and decoder comes from its module (rnntext/text/levels: the level's
 * `js_codec`), as each cell's step comes from the cell's: the export appends them below this
 * file from the level registry, as RnnText.LEVELS[name] = {encode(vocab, text) -> {ids,
 * unknown}, decode(vocab, ids) -> text}, so that no code of the page knows a level by name.
 * The helpers they share (RnnText.text):
 * - utf8(bytes): the text of UTF-8 bytes, undecodable ones as U+FFFD (Python's errors="replace");
 * - byName(vocab): the vocabulary's token -> id map (built once, kept on the vocabulary);
 * - lookup(vocab, symbols): {ids, unknown}: the ids of the symbols the vocabulary has, and
 *   those it lacks.
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

  (global.RnnText || (global.RnnText = {})).text = { utf8, byName, lookup };
})(globalThis);

/**
 * Hiding tokens (AttentionViz's "hide and renormalise"): attnviz keeps a hidden token's place —
 * its row and column become 0 and the other rows are renormalised — so the chips that hide and
 * show tokens are the result's own tokens, with the request's hidden ones marked.
 */

/**
 * @param {{text: string}[]} tokens the tokens of the result (hidden ones keep their place)
 * @param {number[]} hidden indices of the hidden tokens
 * @returns {{index: number, text: string, hidden: boolean}[]}
 */
export function tokenSlots(tokens, hidden) {
  const set = new Set(hidden);
  return tokens.map((t, index) => ({ index, text: t.text, hidden: set.has(index) }));
}

/** The hidden list with one index toggled, sorted. @param {number[]} hidden @param {number} index */
export function toggled(hidden, index) {
  const set = new Set(hidden);
  if (set.has(index)) set.delete(index);
  else set.add(index);
  return [...set].sort((a, b) => a - b);
}

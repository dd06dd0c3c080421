/**
 * A string's size in UTF-8, as TextEncoder would encode it (a lone surrogate counts as U+FFFD, 3
 * bytes), without allocating the encoding: sizes are checked on hot paths (every event's JSON line,
 * every PUT a counting bucket sees).
 */
export function utf8Length(s: string): number {
  let n = s.length
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i)
    if (c < 0x80) continue
    if (c < 0x800) { n += 1; continue }
    const next = s.charCodeAt(i + 1)
    if (c >= 0xd800 && c <= 0xdbff && next >= 0xdc00 && next <= 0xdfff) { n += 2; i++ } // a pair: 4 bytes
    else n += 2
  }
  return n
}

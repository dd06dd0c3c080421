/**
 * Short stand-ins for long strings in file statistics. The manifest once kept whole values:
 * 24 events with a 1 MB exception message made a 100 MB manifest that every query reads.
 * Bounds are in code point order (compareStrings, UTF-8 byte order), the order filters and
 * Parquet statistics use, so a truncated min stays a lower bound and a truncated max an upper one.
 */

/** Longest string a statistic keeps, in UTF-16 code units (an upper bound may take one more). */
export const STAT_STRING_UNITS = 64

const isHigh = (u: number) => u >= 0xd800 && u <= 0xdbff
const isLow = (u: number) => u >= 0xdc00 && u <= 0xdfff

/** Where to cut `s` to at most `limit` units without splitting a surrogate pair. */
function cutAt(s: string, limit: number): number {
  if (s.length <= limit) return s.length
  return isHigh(s.charCodeAt(limit - 1)) && isLow(s.charCodeAt(limit)) ? limit - 1 : limit
}

/**
 * A copy of `s.slice(0, end)` that shares no memory with `s`: V8 keeps a slice as a view of its
 * parent, so a 64-unit bound of a 1 MB message would keep the whole message alive.
 */
function copyPrefix(s: string, end: number): string {
  const units: number[] = new Array<number>(end)
  for (let i = 0; i < end; i++) units[i] = s.charCodeAt(i)
  return String.fromCharCode(...units)
}

/** A lower bound of `s` at most `limit` units long: `s` itself, or a prefix of it. */
export function lowerBound(s: string, limit = STAT_STRING_UNITS): string {
  return s.length <= limit ? s : copyPrefix(s, cutAt(s, limit))
}

/**
 * An upper bound of `s` about `limit` units long: `s` itself, or a prefix whose last character
 * is replaced by the next one (dropping characters that have no next: U+10FFFF, lone
 * surrogates), so every string that starts with the prefix sorts before it. Null when no
 * such bound exists (the prefix is all U+10FFFF or lone surrogates): the caller keeps no max.
 */
export function upperBound(s: string, limit = STAT_STRING_UNITS): string | null {
  if (s.length <= limit) return s
  let end = cutAt(s, limit)
  while (end > 0) {
    const last = s.charCodeAt(end - 1)
    const pair = end >= 2 && isLow(last) && isHigh(s.charCodeAt(end - 2))
    const start = pair ? end - 2 : end - 1
    const cp = pair ? s.codePointAt(start)! : last
    // No character follows U+10FFFF, and a lone surrogate has no well-formed successor.
    if (cp === 0x10ffff || (!pair && (isHigh(cp) || isLow(cp)))) { end = start; continue }
    // The successor skips the surrogate block; U+FFFF is followed by U+10000, a pair.
    const next = cp === 0xd7ff ? 0xe000 : cp + 1
    return copyPrefix(s, start) + String.fromCodePoint(next)
  }
  return null
}

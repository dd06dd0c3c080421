/**
 * Regular expressions on a linear-time engine (RE2). A backtracking engine (JavaScript's
 * RegExp, PCRE) can take exponential time on patterns such as `(a+)+$`, so one filter or
 * SQL predicate could hang a query; RE2 never backtracks. Its syntax is Perl's without
 * backreferences and lookaround, which are refused here with a reason when the pattern
 * is compiled, never while rows are scanned.
 */
import { RE2JS } from 're2js'
import { ExprError } from './paths.js'

/** Longest pattern accepted (MongoDB's own limit is 32,764 bytes); compile cost grows with it. */
export const MAX_REGEX_LENGTH = 32_768

/** A compiled pattern: `test` says whether it matches anywhere in the string. */
export interface SafeRegex {
  test(s: string): boolean
}

/** Flags as MongoDB's `$options` and a RegExp's `flags` spell them; g, y and d mean nothing to a stateless test. */
const FLAG_BITS: Record<string, number> = {
  i: RE2JS.CASE_INSENSITIVE,
  m: RE2JS.MULTILINE,
  s: RE2JS.DOTALL,
  x: 0,
  u: 0,
  g: 0,
  y: 0,
  d: 0,
}

/**
 * Compiles `pattern` (RE2 syntax; JavaScript's `\uXXXX` and `\u{…}` escapes are accepted too) with
 * MongoDB-style `flags` (i, m, s, x, u). Throws ExprError naming the pattern and what is not supported.
 */
export function compileRegex(pattern: string, flags = ''): SafeRegex {
  if (typeof pattern !== 'string') throw new ExprError(`a regular expression must be a string, got ${typeof pattern}`)
  if (pattern.length > MAX_REGEX_LENGTH) {
    throw new ExprError(
      `regular expression of ${pattern.length} characters is over the limit of ${MAX_REGEX_LENGTH}; ` +
        'match on a shorter pattern or use $in for lists of values',
    )
  }
  let bits = 0
  for (const f of flags) {
    const bit = FLAG_BITS[f]
    if (bit === undefined) {
      throw new ExprError(
        `unknown regular expression flag ${JSON.stringify(f)} in ${JSON.stringify(flags)}; supported: i m s x u`,
      )
    }
    bits |= bit
  }
  let source = unicodeEscapes(pattern)
  if (flags.includes('x')) source = stripExtended(source)
  let re: RE2JS
  try {
    re = RE2JS.compile(source, bits)
  } catch (e) {
    throw new ExprError(`regular expression ${JSON.stringify(pattern)} is not supported: ${explain(source, e)}`)
  }
  return { test: (s: string) => re.test(s) }
}

/** A RegExp object goes through the same engine: its source and flags, nothing of V8's matcher. */
export function compileRegExpObject(re: RegExp): SafeRegex {
  return compileRegex(re.source, re.flags)
}

/** Says why RE2 refused a pattern, in words a user can act on. */
function explain(source: string, e: unknown): string {
  const desc = e instanceof Error ? e.message.replace(/^error parsing regexp: /, '') : String(e)
  const unsupported =
    /\\[1-9]|\\k</.test(source) && /invalid escape sequence: `\\[1-9k]/.test(desc)
      ? 'backreferences (\\1, \\k<name>)'
      : /`\(\?[=!]/.test(desc)
        ? 'lookahead ((?=…), (?!…))'
        : /`\(\?<[=!]/.test(desc)
          ? 'lookbehind ((?<=…), (?<!…))'
          : null
  if (unsupported) {
    return `${unsupported} cannot be matched in linear time and RE2 does not support them (${desc}); ` +
      'rewrite without them'
  }
  return `${desc} (RE2 syntax: Perl's without backreferences or lookaround)`
}

/** `\uXXXX` and `\u{X…}` (JavaScript) become RE2's `\x{…}`; every other escape is kept as written. */
function unicodeEscapes(p: string): string {
  if (!p.includes('\\u')) return p
  let out = ''
  for (let i = 0; i < p.length; i++) {
    const c = p[i]!
    if (c !== '\\') {
      out += c
      continue
    }
    const rest = p.slice(i + 1)
    const m = /^u(?:([0-9a-fA-F]{4})|\{([0-9a-fA-F]{1,6})\})/.exec(rest)
    if (m) {
      out += `\\x{${m[1] ?? m[2]}}`
      i += m[0].length
    } else {
      out += c + (p[i + 1] ?? '')
      i++
    }
  }
  return out
}

/** The `x` flag: whitespace outside character classes is ignored and `#` starts a comment to end of line. */
function stripExtended(p: string): string {
  let out = ''
  let inClass = false
  for (let i = 0; i < p.length; i++) {
    const c = p[i]!
    if (c === '\\') {
      out += c + (p[i + 1] ?? '')
      i++
    } else if (inClass) {
      out += c
      if (c === ']') inClass = false
    } else if (c === '[') {
      inClass = true
      out += c
      // A `]` right after `[` or `[^` is a literal, not the end of the class.
      if (p[i + 1] === '^') out += p[++i]
      if (p[i + 1] === ']') out += p[++i]
    } else if (c === '#') {
      while (i < p.length && p[i] !== '\n') i++
    } else if (!/\s/.test(c)) {
      out += c
    }
  }
  return out
}

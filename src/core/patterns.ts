// Ordered include/exclude path patterns (SPEC 3), read like GitHub's `paths:` filter: the last
// pattern that matches a path decides, and a `!` pattern excludes. Compiled once; matching a path
// looks up literal patterns and `dir/**` prefixes in maps, and runs a regular expression only for
// the remaining globs that come after the best fast hit.
import { GLOBSTAR, Minimatch } from 'minimatch'
import type { MinimatchOptions } from 'minimatch'

const OPTIONS: MinimatchOptions = { dot: true, nonegate: true, nocomment: true }

interface Glob {
  index: number
  re: RegExp | false
  mm: Minimatch
}

export interface CompiledPatterns {
  /** The patterns as written, by index. */
  readonly source: readonly string[]
  /** `!` patterns, by index. */
  readonly negated: readonly boolean[]
  /** Exact path → index of the last literal pattern that names it. */
  readonly literals: ReadonlyMap<string, number>
  /** Folder → index of the last `folder/**` pattern. */
  readonly prefixes: ReadonlyMap<string, number>
  /** Every other pattern, last first. */
  readonly globs: readonly Glob[]
}

/** Compiles `patterns` once for matchPath(). Throws an Error naming an invalid pattern. */
export function compilePatterns(patterns: string[]): CompiledPatterns {
  const negated: boolean[] = []
  const literals = new Map<string, number>()
  const prefixes = new Map<string, number>()
  const globs: Glob[] = []

  patterns.forEach((raw, index) => {
    const { glob, negate } = normalize(raw)
    negated.push(negate)
    const mm = new Minimatch(glob, OPTIONS)
    const set = mm.set
    if (set.length === 0) throw new Error(`invalid path pattern ${JSON.stringify(raw)}: it matches nothing`)
    // Later patterns override earlier ones, so a map keeps the highest index.
    if (set.every(parts => parts.every(isLiteralPart))) {
      for (const parts of set) literals.set(parts.join('/'), index)
    } else if (set.length === 1 && isPrefix(set[0])) {
      prefixes.set((set[0].slice(0, -1) as string[]).join('/'), index)
    } else {
      globs.push({ index, re: mm.makeRe(), mm })
    }
  })
  globs.reverse()
  return { source: [...patterns], negated, literals, prefixes, globs }
}

/** The positive pattern that decided `path` belongs, or undefined when no pattern matches or a `!` one decided. */
export function matchPath(compiled: CompiledPatterns, path: string): string | undefined {
  const p = stripDotSlash(path)
  // Paths with `.`/`..`/empty segments get minimatch's own matcher: its regex and our maps assume clean paths.
  if (UNCLEAN.test(p)) return decided(compiled, slowIndex(compiled, p))

  let best = compiled.literals.get(p) ?? -1
  if (compiled.prefixes.size > 0) {
    for (let i = p.indexOf('/'); i > 0; i = p.indexOf('/', i + 1)) {
      const hit = compiled.prefixes.get(p.slice(0, i))
      if (hit !== undefined && hit > best) best = hit
    }
  }
  for (const g of compiled.globs) {
    if (g.index <= best) break
    if (g.re ? g.re.test(p) : g.mm.match(p)) {
      best = g.index
      break
    }
  }
  return decided(compiled, best)
}

const UNCLEAN = /(^|\/)\.{1,2}(\/|$)|\/\/|^\/|\/$/

function decided(compiled: CompiledPatterns, index: number): string | undefined {
  return index >= 0 && !compiled.negated[index] ? compiled.source[index] : undefined
}

function slowIndex(compiled: CompiledPatterns, path: string): number {
  for (let i = compiled.source.length - 1; i >= 0; i--) {
    const { glob } = normalize(compiled.source[i])
    if (new Minimatch(glob, OPTIONS).match(path)) return i
  }
  return -1
}

function normalize(raw: string): { glob: string; negate: boolean } {
  if (typeof raw !== 'string')
    throw new Error(`invalid path pattern ${JSON.stringify(raw)}: it must be a string`)
  const negate = raw.startsWith('!')
  let glob = stripDotSlash(negate ? raw.slice(1) : raw)
  const bad = (why: string): Error => new Error(`invalid path pattern ${JSON.stringify(raw)}: ${why}`)
  if (raw.trim() === '') throw bad('it is empty (remove it)')
  if (negate && glob.trim() === '') throw bad('`!` needs a pattern after it, e.g. "!docs/**"')
  if (glob.startsWith('!')) throw bad('use a single leading `!` to exclude')
  if (glob.startsWith('/')) {
    throw bad(
      `patterns are relative to the repository root (write ${JSON.stringify(glob.replace(/^\/+/, ''))})`
    )
  }
  if (glob === '') throw bad('it names the repository root; use "**" for every file')
  if (glob.endsWith('/')) glob += '**'
  return { glob, negate }
}

function stripDotSlash(s: string): string {
  while (s.startsWith('./')) s = s.slice(2)
  return s
}

function isLiteralPart(part: unknown): part is string {
  return typeof part === 'string' && part !== '' && part !== '.' && part !== '..'
}

function isPrefix(parts: readonly unknown[]): boolean {
  return parts.length >= 2 && parts[parts.length - 1] === GLOBSTAR && parts.slice(0, -1).every(isLiteralPart)
}

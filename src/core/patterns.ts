// Ordered include/exclude path patterns (SPEC 3), read like GitHub's `paths:` filter: the last
// pattern that matches a path decides, and a `!` pattern excludes. Compiled once. Matching a path
// looks up literal patterns and `dir/**` prefixes in maps, then runs regular expressions only for
// globs that come after the best map hit and could match the path's first folder.
import { GLOBSTAR, Minimatch } from 'minimatch'
import type { MinimatchOptions } from 'minimatch'

const OPTIONS: MinimatchOptions = { dot: true, nonegate: true, nocomment: true }

interface Glob {
  index: number
  /** Whether the pattern matches `path`, whose last segment is `base`. */
  test: (path: string, base: string) => boolean
}

export interface CompiledPatterns {
  /** The patterns as written, by index. */
  readonly source: readonly string[]
  /** `!` patterns, by index. */
  readonly negated: readonly boolean[]
  /** Every pattern compiled, by index (for paths the fast paths do not handle). */
  readonly all: readonly Minimatch[]
  /** Exact path → index of the last literal pattern that names it. */
  readonly literals: ReadonlyMap<string, number>
  /** Folder → index of the last `folder/**` pattern. */
  readonly prefixes: ReadonlyMap<string, number>
  /** Other patterns that start with a literal folder, by that folder, last first. */
  readonly globsByFirst: ReadonlyMap<string, readonly Glob[]>
  /** Other patterns that may match any first folder, last first. */
  readonly globsAnyFirst: readonly Glob[]
}

/** Compiles `patterns` once for matchPath(). Throws an Error naming an invalid pattern. */
export function compilePatterns(patterns: string[]): CompiledPatterns {
  const negated: boolean[] = []
  const all: Minimatch[] = []
  const literals = new Map<string, number>()
  const prefixes = new Map<string, number>()
  const globsByFirst = new Map<string, Glob[]>()
  const globsAnyFirst: Glob[] = []

  patterns.forEach((raw, index) => {
    const { glob, negate } = normalize(raw)
    negated.push(negate)
    const mm = new Minimatch(glob, OPTIONS)
    all.push(mm)
    const set = mm.set
    if (set.length === 0) throw new Error(`invalid path pattern ${JSON.stringify(raw)}: it matches nothing`)
    // Later patterns override earlier ones, so the maps keep the highest index.
    if (set.every(parts => parts.every(isLiteralPart))) {
      for (const parts of set) literals.set(parts.join('/'), index)
    } else if (set.length === 1 && isPrefix(set[0])) {
      prefixes.set((set[0].slice(0, -1) as string[]).join('/'), index)
    } else {
      const g: Glob = { index, test: globTest(mm) }
      // A pattern whose every alternative starts with a literal folder can only match paths under it.
      const firsts = set.map(parts => (parts.length > 1 && isLiteralPart(parts[0]) ? parts[0] : undefined))
      if (firsts.some(f => f === undefined)) globsAnyFirst.unshift(g)
      else {
        for (const f of new Set(firsts as string[])) {
          const list = globsByFirst.get(f) ?? []
          list.unshift(g)
          globsByFirst.set(f, list)
        }
      }
    }
  })
  return { source: [...patterns], negated, all, literals, prefixes, globsByFirst, globsAnyFirst }
}

/** The positive pattern that decided `path` belongs, or undefined when no pattern matches or a `!` one decided. */
export function matchPath(compiled: CompiledPatterns, path: string): string | undefined {
  const p = stripDotSlash(path)
  // Paths with `.`/`..`/empty segments get minimatch's own matcher: its regex and our maps assume clean paths.
  if (UNCLEAN.test(p)) return decided(compiled, slowIndex(compiled, p))

  let best = compiled.literals.get(p) ?? -1
  const slash = p.indexOf('/')
  if (compiled.prefixes.size > 0) {
    for (let i = slash; i > 0; i = p.indexOf('/', i + 1)) {
      const hit = compiled.prefixes.get(p.slice(0, i))
      if (hit !== undefined && hit > best) best = hit
    }
  }
  // Walk both candidate lists, last pattern first, until one matches or the map hit is later.
  const base = p.slice(p.lastIndexOf('/') + 1)
  const byFirst = slash > 0 ? (compiled.globsByFirst.get(p.slice(0, slash)) ?? NONE) : NONE
  const anyFirst = compiled.globsAnyFirst
  let i = 0
  let j = 0
  for (;;) {
    const a = byFirst[i]
    const b = anyFirst[j]
    const g = a === undefined ? b : b === undefined || a.index > b.index ? a : b
    if (g === undefined || g.index <= best) break
    if (g === a) i++
    else j++
    if (g.test(p, base)) {
      best = g.index
      break
    }
  }
  return decided(compiled, best)
}

const NONE: readonly Glob[] = []

function globTest(mm: Minimatch): Glob['test'] {
  // `**/<name glob>`: on clean paths, `**` takes any folders, so only the last segment decides.
  const names = mm.set.map(parts => (parts.length === 2 && parts[0] === GLOBSTAR ? parts[1] : undefined))
  if (names.every(n => typeof n === 'string' || n instanceof RegExp)) {
    const list = names as (string | RegExp)[]
    return (_path, base) => list.some(n => (typeof n === 'string' ? n === base : n.test(base)))
  }
  const re = mm.makeRe()
  return re ? path => re.test(path) : path => mm.match(path)
}
const UNCLEAN = /(^|\/)\.{1,2}(\/|$)|\/\/|^\/|\/$/

function decided(compiled: CompiledPatterns, index: number): string | undefined {
  return index >= 0 && !compiled.negated[index] ? compiled.source[index] : undefined
}

function slowIndex(compiled: CompiledPatterns, path: string): number {
  for (let i = compiled.all.length - 1; i >= 0; i--) if (compiled.all[i].match(path)) return i
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

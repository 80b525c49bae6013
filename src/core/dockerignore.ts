// .dockerignore matching with @balena/dockerignore (a port of Moby's matcher, tested against
// `docker build`), case-sensitive as on Linux, each rule escaped as BuildKit escapes it. Two shortcuts
// around it, both sound, so that a context of thousands of files is cheap: below an ignored folder that
// no `!` rule can reach, everything is ignored (such a folder is asked about once, not once per file in
// it); and a path that no rule can match (it lacks a rule's literal start or end) is not ignored
// without asking. Pure.
import { posix } from 'node:path'
import dockerignore from '@balena/dockerignore'

// The package is CommonJS whose types describe an ES module: its default import is the factory itself.
const createIgnore = dockerignore as unknown as typeof dockerignore.default

export interface DockerignoreMatcher {
  /** Whether a context-relative path (`src/a.ts`) is left out of the context. */
  ignores(path: string): boolean
  /** Whether a `!` rule may match the context-relative folder `dir` or something below it. */
  reincludesBelow(dir: string): boolean
}

/** Compiles the text of a .dockerignore. */
export function compileDockerignore(text: string): DockerignoreMatcher {
  const lines = text.split(/\r?\n/).map(escapedAsBuildKit)
  const ig = createIgnore({ ignorecase: false }).add(lines)
  const rules = lines.filter(l => l.trim() !== '' && !l.startsWith('#'))
  if (rules.length === 0) return { ignores: () => false, reincludesBelow: () => false }
  // `^` goes into the regular expression as an anchor (in BuildKit's too): `!^keep` re-includes
  // `keep`, which the segment comparison of mayReach() cannot see. No shortcut then.
  const shortcuts = !rules.some(l => l.includes('^'))
  const negations = rules.flatMap(l => (l.trim().startsWith('!') ? [cleanedPattern(l)?.split('/')] : []))
  const literals = rules.map(literalEnds)
  const reaches = new Map<string, boolean>()
  const reincludesBelow = (dir: string): boolean => {
    if (!shortcuts) return true
    let r = reaches.get(dir)
    if (r === undefined) reaches.set(dir, (r = negations.some(n => mayReach(n, dir.split('/')))))
    return r
  }
  // Sound only for a folder no `!` rule reaches: then neither it nor a folder above it is re-included.
  const folders = new Map<string, boolean>()
  const folderIgnored = (dir: string): boolean => {
    let ignored = folders.get(dir)
    if (ignored === undefined) {
      const slash = dir.lastIndexOf('/')
      ignored = (slash > 0 && folderIgnored(dir.slice(0, slash))) || ig.ignores(dir)
      folders.set(dir, ignored)
    }
    return ignored
  }
  return {
    ignores(path) {
      const clean = UNCLEAN.test(path) ? posix.normalize(path).replace(/^\/+|\/+$/g, '') : path
      const slash = clean.lastIndexOf('/')
      if (slash > 0) {
        const dir = clean.slice(0, slash)
        if (!reincludesBelow(dir) && folderIgnored(dir)) return true
      }
      if (shortcuts && clean !== '' && !literals.some(l => mayMatch(l, clean))) return false
      return ig.ignores(clean)
    },
    reincludesBelow
  }
}

/**
 * The first rule that is not a pattern (an unclosed `[`), with its 1-based line and why, or undefined.
 * BuildKit refuses such a .dockerignore; the library would throw at the first path it is asked about.
 */
export function malformedRule(text: string): { line: number; rule: string; why: string } | undefined {
  const lines = text.split(/\r?\n/)
  for (let i = 0; i < lines.length; i++) {
    try {
      createIgnore({ ignorecase: false }).add(escapedAsBuildKit(lines[i])).ignores('x')
    } catch (e) {
      return { line: i + 1, rule: lines[i].trim(), why: (e as Error).message.split(': ').pop() ?? '' }
    }
  }
  return undefined
}

/**
 * A rule as BuildKit's matcher (moby/patternmatcher) reads it: that matcher escapes `+ ( ) | { }` (and
 * `.` `$`) before it builds its regular expression, so they match themselves; the library, a port of
 * Moby's older matcher, escapes only `.` and `$`, and would read `a+b` as a regular expression (and
 * throw on `c++`). Each is escaped here unless a `\` already escapes it.
 */
export function escapedAsBuildKit(line: string): string {
  let out = ''
  for (let i = 0; i < line.length; i++) {
    if (line[i] === '\\' && i + 1 < line.length) out += line[i] + line[++i]
    else out += LITERAL_IN_BUILDKIT.includes(line[i]) ? `\\${line[i]}` : line[i]
  }
  return out
}

const LITERAL_IN_BUILDKIT = '+()|{}'
const UNCLEAN = /(^|\/)\.\.?(\/|$)|\/\/|^\/|\/$/

/**
 * The literal text a rule's pattern starts and ends with, as the matcher cleans it. The matcher tests
 * its pattern, anchored, on the path and on folders above it, so a path it matches starts with `start`
 * and has `end` at the end of one of its segments. Anything but plain characters ends a literal: the
 * matcher turns wildcards, escapes and classes into a regular expression, and passes other regular
 * expression characters through.
 */
function literalEnds(line: string): { start: string; end: string } {
  const pattern = cleanedPattern(line)
  if (pattern === undefined) return { start: '', end: '' }
  const first = pattern.search(NOT_PLAIN)
  if (first < 0) return { start: pattern, end: pattern }
  let last = pattern.length - 1
  while (last >= 0 && !NOT_PLAIN.test(pattern[last])) last--
  // Not its leading `/`: after `**` the matcher makes it optional (`**/foo` matches `foo`).
  return { start: pattern.slice(0, first), end: pattern.slice(last + 1).replace(/^\//, '') }
}

/**
 * A rule's pattern without its `!`, cleaned as the matcher cleans it (Go's Clean, one leading `/`
 * dropped); undefined where it may match anything (it still starts with `/` or `..`, or is `.`).
 */
function cleanedPattern(line: string): string | undefined {
  let pattern = line.trim()
  if (pattern.startsWith('!')) pattern = pattern.slice(1).trim()
  pattern = cleanPath(pattern)
  if (pattern.length > 1 && pattern.startsWith('/')) pattern = cleanPath(pattern.slice(1))
  return pattern === '.' || pattern.startsWith('/') || pattern.startsWith('..') ? undefined : pattern
}

/** Go's filepath.Clean, as the matcher has it. */
const cleanPath = (p: string): string => posix.normalize(p).replace(/(?<=.)\/$/, '')

const NOT_PLAIN = /[^A-Za-z0-9._\-/]/

function mayMatch(l: { start: string; end: string }, path: string): boolean {
  return path.startsWith(l.start) && (path.endsWith(l.end) || path.includes(`${l.end}/`))
}

/**
 * Whether a pattern may match `dir` or a path below it: a pattern matches a path segment by segment
 * (and a folder brings what is below it), so a literal segment that differs from the folder's rules it
 * out. Any wildcard or escape (`* ? [ \`) counts as a possible match.
 */
function mayReach(pattern: string[] | undefined, dir: string[]): boolean {
  if (pattern === undefined) return true
  for (let i = 0; i < Math.min(pattern.length, dir.length); i++) {
    if (/[*?[\\]/.test(pattern[i])) return true
    if (pattern[i] !== dir[i]) return false
  }
  return true
}

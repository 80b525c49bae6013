// .dockerignore matching with @balena/dockerignore (a port of Moby's matcher, tested against
// `docker build`), case-sensitive as on Linux. One shortcut around it: below an ignored folder that no
// `!` rule can reach, everything is ignored, so such a folder is asked about once rather than once per
// file in it (a dockerignored node_modules of thousands of files costs one question). Pure.
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
  const lines = text.split(/\r?\n/)
  const ig = createIgnore({ ignorecase: false }).add(lines)
  const rules = lines.filter(l => l.trim() !== '' && !l.startsWith('#'))
  if (rules.length === 0) return { ignores: () => false, reincludesBelow: () => false }
  const negations = rules.flatMap(l => (l.trim().startsWith('!') ? [negationSegments(l)] : []))
  const reaches = new Map<string, boolean>()
  const reincludesBelow = (dir: string): boolean => {
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
      return ig.ignores(clean)
    },
    reincludesBelow
  }
}

const UNCLEAN = /(^|\/)\.\.?(\/|$)|\/\/|^\/|\/$/

/** A `!` rule's pattern as path segments, cleaned as the matcher cleans it; undefined: it may match anywhere. */
function negationSegments(line: string): string[] | undefined {
  const pattern = posix.normalize(line.trim().slice(1).trim()).replace(/^\/+|\/+$/g, '')
  return pattern === '' || pattern === '.' || pattern.startsWith('..') ? undefined : pattern.split('/')
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

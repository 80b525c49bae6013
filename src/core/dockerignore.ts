// .dockerignore matching with @balena/dockerignore (a port of Moby's matcher, tested against
// `docker build`), case-sensitive as on Linux. One shortcut around it: without `!` rules, everything
// below an ignored folder is ignored, so a folder is asked about once rather than once per file in it
// (a dockerignored node_modules of thousands of files costs one question). Pure.
import { posix } from 'node:path'
import dockerignore from '@balena/dockerignore'

// The package is CommonJS whose types describe an ES module: its default import is the factory itself.
const createIgnore = dockerignore as unknown as typeof dockerignore.default

export interface DockerignoreMatcher {
  /** Whether a context-relative path (`src/a.ts`) is left out of the context. */
  ignores(path: string): boolean
}

/** Compiles the text of a .dockerignore. */
export function compileDockerignore(text: string): DockerignoreMatcher {
  const lines = text.split(/\r?\n/)
  const ig = createIgnore({ ignorecase: false }).add(lines)
  const rules = lines.filter(l => l.trim() !== '' && !l.startsWith('#'))
  if (rules.length === 0) return { ignores: () => false }
  const negations = rules.some(l => l.trim().startsWith('!'))
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
      if (!negations && slash > 0 && folderIgnored(clean.slice(0, slash))) return true
      return ig.ignores(clean)
    }
  }
}

const UNCLEAN = /(^|\/)\.\.?(\/|$)|\/\/|^\/|\/$/

// What git's index knows about the work tree, read once a run for content-ids.ts (through the one git
// runner): each entry's blob id, mode, flags and the stat data git recorded, whether settings make
// git's blob differ from the bytes on disk (eol/autocrlf conversion, `core.fileMode=false`), and which
// files carry attributes that convert them (clean/smudge filters, text/eol, ident, working-tree-encoding).
import { existsSync, statSync } from 'node:fs'
import { homedir } from 'node:os'
import * as path from 'node:path'
import type { IndexStat } from './git-output.js'
import type { Git } from './git.js'

export interface GitIndex {
  entries: Map<string, IndexStat>
  /** Whether the index may stand for the bytes on disk at all (no conversion, fileMode trusted). */
  usable: boolean
  /** When the index file was written (ms): an entry modified at or after it is racily clean (read it again). */
  written?: number
  /** Those of `paths` whose attributes make git's blob differ from the bytes on disk. */
  converted(paths: readonly string[]): Promise<Set<string>>
}

const CONVERTING = ['filter', 'text', 'eol', 'ident', 'working-tree-encoding']

/** `core.autocrlf`/`core.eol` convert text; `core.fileMode=false` leaves git's view of modes unreliable. */
export function indexUsable(config: Record<string, string>): boolean {
  const off = (v: string | undefined): boolean => v === undefined || /^(false|no|off|0)$/i.test(v)
  return (
    off(config['core.autocrlf']) &&
    config['core.eol'] === undefined &&
    !off(config['core.filemode'] ?? 'true')
  )
}

/** Reads the index of the work tree; an empty, unusable index outside a git work tree. */
export async function readGitIndex(git: Git): Promise<GitIndex> {
  const read = await git.indexRead()
  if (read === undefined) return { entries: new Map(), usable: false, converted: async () => new Set() }
  const { entries, config } = read
  let written: number | undefined
  try {
    written = statSync(read.indexFile).mtimeMs
  } catch {
    written = undefined
  }
  const attributes = hasAttributes(entries, read.infoAttributes, config['core.attributesfile'])
  return {
    entries,
    usable: indexUsable(config) && written !== undefined,
    written,
    converted: async asked => (attributes ? git.attributed(asked, CONVERTING) : new Set())
  }
}

/**
 * Whether any attributes file could apply: a tracked .gitattributes, the repository's info/attributes,
 * the user's or the system's. (An untracked .gitattributes counts only from the next `git add`.)
 */
function hasAttributes(entries: Map<string, IndexStat>, info: string, configured?: string): boolean {
  for (const p of entries.keys()) if (p === '.gitattributes' || p.endsWith('/.gitattributes')) return true
  const xdg = process.env.XDG_CONFIG_HOME || path.join(homedir(), '.config')
  const files = [info, path.join(xdg, 'git', 'attributes'), '/etc/gitattributes']
  return configured !== undefined || files.some(f => f && existsSync(f))
}

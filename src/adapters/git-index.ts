// What git's index knows about the work tree, read once a run for content-ids.ts: each entry's blob
// id, mode, flags and the stat data git recorded, the settings under which git's blob differs from
// the bytes on disk (eol/autocrlf conversion, `core.fileMode=false`), and which files carry
// attributes that convert them (clean/smudge filters, text/eol, ident, working-tree-encoding).
import { execFile } from 'node:child_process'
import { existsSync, statSync } from 'node:fs'
import { homedir } from 'node:os'
import * as path from 'node:path'

export interface IndexEntry {
  mode: string
  oid: string
  /** `git ls-files -v` tag: `H` cached; lower case assume-unchanged; `S` skip-worktree. */
  tag: string
  /** The stat data git recorded (32-bit as git stores them; times in milliseconds), when --debug gave it. */
  stat?: { ctime: number; mtime: number; ino: number; size: number }
}

export interface GitIndex {
  entries: Map<string, IndexEntry>
  /** Whether the index may stand for the bytes on disk at all (no conversion, fileMode trusted). */
  usable: boolean
  /** When the index file was written (ms): an entry modified at or after it is racily clean (re-read it). */
  written?: number
  /** Paths (of those asked) whose attributes make git's blob differ from the bytes on disk. */
  converted(paths: readonly string[]): Promise<Set<string>>
}

const DEBUG =
  /^ {2}ctime: (\d+):(\d+)\n {2}mtime: (\d+):(\d+)\n {2}dev: \d+\tino: (\d+)\n {2}uid: \d+\tgid: \d+\n {2}size: (\d+)\tflags: [0-9a-f]+\n/
const HEAD = /^(\S) (\d{6}) ([0-9a-f]{40}|[0-9a-f]{64}) (\d)$/

/** Parses `git ls-files -s -v --debug -z`; conflicted paths (stage ≠ 0) are left out. */
export function parseLsFilesDebug(out: string): Map<string, IndexEntry> {
  const index = new Map<string, IndexEntry>()
  const conflicted = new Set<string>()
  let last: IndexEntry | undefined
  for (let rec of out.split('\0')) {
    const m = DEBUG.exec(rec)
    if (m && last) {
      last.stat = {
        ctime: Number(m[1]) * 1000 + Number(m[2]) / 1e6,
        mtime: Number(m[3]) * 1000 + Number(m[4]) / 1e6,
        ino: Number(m[5]),
        size: Number(m[6])
      }
      rec = rec.slice(m[0].length)
    }
    last = undefined
    if (rec === '') continue
    const tab = rec.indexOf('\t')
    const h = tab < 0 ? null : HEAD.exec(rec.slice(0, tab))
    if (!h) throw new Error(`unexpected git ls-files line: ${JSON.stringify(rec.slice(0, 80))}`)
    const p = rec.slice(tab + 1)
    if (h[4] !== '0') conflicted.add(p)
    else index.set(p, (last = { tag: h[1], mode: h[2], oid: h[3] }))
  }
  for (const p of conflicted) index.delete(p)
  return index
}

/** `core.autocrlf`/`core.eol` convert text; `core.fileMode=false` leaves git's mode unreliable. */
export function indexUsable(config: Record<string, string>): boolean {
  const off = (v: string | undefined): boolean => v === undefined || /^(false|no|off|0)$/i.test(v)
  return (
    off(config['core.autocrlf']) &&
    config['core.eol'] === undefined &&
    !off(config['core.filemode'] ?? 'true')
  )
}

/** Parses `git check-attr -z`: `<path>\0<attr>\0<value>\0`; a path with any converting value set. */
export function parseCheckAttr(out: string): Set<string> {
  const parts = out.split('\0')
  const converted = new Set<string>()
  for (let i = 0; i + 2 < parts.length; i += 3) {
    const [p, value] = [parts[i], parts[i + 2]]
    if (value === 'unspecified' || value === 'unset') continue
    converted.add(p)
  }
  return converted
}

export function runGit(cwd: string, args: string[], input?: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = execFile(
      'git',
      ['-c', 'core.quotePath=false', ...args],
      {
        cwd,
        encoding: 'utf8',
        maxBuffer: 512 * 1024 * 1024,
        env: { ...process.env, GIT_TERMINAL_PROMPT: '0', GIT_OPTIONAL_LOCKS: '0' }
      },
      (err, stdout, stderr) => {
        if (!err) resolve(stdout)
        // `git config --get-regexp` exits 1 when nothing matches.
        else if (args[0] === 'config' && err.code === 1) resolve('')
        else reject(new Error(`git ${args[0]} failed: ${stderr.trim() || err.message}`))
      }
    )
    if (input !== undefined) child.stdin?.end(input)
  })
}

/** Reads the index of the work tree at `workspace`; an empty, unusable index outside a git work tree. */
export async function readGitIndex(workspace: string): Promise<GitIndex> {
  const none: GitIndex = { entries: new Map(), usable: false, converted: async () => new Set() }
  let listed: string
  let paths: string
  let config: string
  try {
    ;[listed, paths, config] = await Promise.all([
      runGit(workspace, ['ls-files', '-s', '-v', '--debug', '-z']),
      runGit(workspace, [
        'rev-parse',
        '--path-format=absolute',
        '--git-path',
        'index',
        '--git-path',
        'info/attributes'
      ]),
      runGit(workspace, ['config', '-z', '--get-regexp', '^core\\.(autocrlf|eol|filemode|attributesfile)$'])
    ])
  } catch (e) {
    if (/not a git repository/i.test((e as Error).message)) return none
    throw e
  }
  const settings: Record<string, string> = {}
  for (const rec of config.split('\0')) {
    const nl = rec.indexOf('\n')
    if (nl > 0) settings[rec.slice(0, nl).toLowerCase()] = rec.slice(nl + 1)
  }
  const [indexFile, infoAttributes] = paths.trim().split('\n')
  const entries = parseLsFilesDebug(listed)
  let written: number | undefined
  try {
    written = statSync(indexFile).mtimeMs
  } catch {
    written = undefined
  }
  const attributes = hasAttributes(entries, infoAttributes, settings['core.attributesfile'])
  return {
    entries,
    usable: indexUsable(settings) && written !== undefined,
    written,
    async converted(asked) {
      if (!attributes || asked.length === 0) return new Set()
      const out = await runGit(
        workspace,
        ['check-attr', '-z', '--stdin', 'filter', 'text', 'eol', 'ident', 'working-tree-encoding'],
        asked.join('\0') + '\0'
      )
      return parseCheckAttr(out)
    }
  }
}

/** Whether any attributes file could apply: in the index, the repository's info, the user's or the system's. */
function hasAttributes(entries: Map<string, IndexEntry>, info: string, configured?: string): boolean {
  for (const p of entries.keys()) if (p === '.gitattributes' || p.endsWith('/.gitattributes')) return true
  const xdg = process.env.XDG_CONFIG_HOME || path.join(homedir(), '.config')
  const files = [info, path.join(xdg, 'git', 'attributes'), '/etc/gitattributes']
  return configured !== undefined || files.some(f => f && existsSync(f))
}

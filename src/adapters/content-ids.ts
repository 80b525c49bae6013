// Content ids of a layer's inputs as the build will read them from the workspace (SPEC 4a), in one
// format whatever git knows: a file is `<st_mode in octal> <git blob id of the bytes on disk>`
// (`100644 e69de29b…`, full permission bits), a folder `<st_mode> folder`, a symbolic link
// `120000 <blob id of its target path>`, or, where the build follows it (a named COPY source), what
// it points to. Git's index is only a cache of blob ids: used for a file whose stat data is what git
// recorded, that is not racily clean, not assume-unchanged or skip-worktree, and whose bytes git does
// not convert (filters, text/eol, autocrlf) under a trusted `core.fileMode`; every other file is read
// and hashed here the way `git hash-object --no-filters` hashes it.
import { createHash } from 'node:crypto'
import { lstatSync, realpathSync, statSync, type Stats } from 'node:fs'
import { readFile, readlink } from 'node:fs/promises'
import * as path from 'node:path'
import { mapLimit } from '../core/limit.js'
import { readGitIndex, type GitIndex } from './git-index.js'
import type { IndexStat } from './git-output.js'
import type { Git } from './git.js'

/** One input as the build reads it: its id, or why the build could not read it (that layer alone has no digest). */
export type ContentEntry = { id: string; problem?: undefined } | { id?: undefined; problem: string }

export interface ContentIds {
  /** Repository-relative path → `<mode> <oid>` (`100644 e69de29b…`). Throws on a missing or unreadable file. */
  ids(paths: readonly string[]): Promise<Record<string, string>>
  /**
   * Each repository-relative path (file, folder, link) → its entry; `follow`: a link counts by what it
   * points to (a named COPY source), and a link out of the repository is a problem.
   */
  entries(paths: readonly string[], opts?: { follow?: boolean }): Promise<Record<string, ContentEntry>>
  /**
   * Starts reading git's index now (a plan calls it first: git runs beside the Dockerfiles' walk and
   * the registry look-ups); entries() waits for it. Errors come out of entries().
   */
  prefetch(): void
  /** How many files were read and hashed rather than taken from the index (for the log). */
  readonly hashed: number
}

/** git's object id of a blob: sha1 (or sha256 in a sha256 repository) of `blob <size>\0<bytes>`. */
export function blobId(bytes: Uint8Array, algorithm: 'sha1' | 'sha256' = 'sha1'): string {
  return createHash(algorithm).update(`blob ${bytes.length}\0`).update(bytes).digest('hex')
}

/** Why a path cannot be an input, or undefined: only plain repository-relative paths are read. */
export function pathProblem(p: string): string | undefined {
  if (p === '' || p.includes('\0') || path.isAbsolute(p) || /(^|\/)\.\.(\/|$)/.test(p))
    return `input file ${JSON.stringify(p)} is not a path inside the repository; inputs are repository-relative paths`
  if (p.includes('\\'))
    return `input file ${JSON.stringify(p)} has a backslash in its name, which BuildKit reads as a path separator: rename it, or leave it out with .dockerignore`
  return undefined
}

/** `100644`, `100755`, `40755`: a mode as git writes one, with every permission bit. */
export function modeOf(st: { mode: number }): string {
  let m = MODES.get(st.mode)
  if (m === undefined) MODES.set(st.mode, (m = st.mode.toString(8).padStart(6, '0')))
  return m
}

const MODES = new Map<number, string>()

const SPECIAL: [keyof Stats, string][] = [
  ['isFIFO', 'a fifo'],
  ['isSocket', 'a socket'],
  ['isCharacterDevice', 'a device'],
  ['isBlockDevice', 'a device']
]

/** `git`: the workspace's git (its index caches the blob ids of unmodified files). */
export function createContentIds(workspace: string, git: Git): ContentIds {
  const root = path.resolve(workspace)
  let index: Promise<GitIndex> | undefined
  const counter = { hashed: 0 }
  const readIndex = (): Promise<GitIndex> => {
    if (!index) {
      index = readGitIndex(git)
      index.catch(() => undefined) // said by entries(), which awaits it
    }
    return index
  }

  async function entries(
    paths: readonly string[],
    opts: { follow?: boolean } = {}
  ): Promise<Record<string, ContentEntry>> {
    const idx = await readIndex()
    const first = idx.entries.values().next().value
    const algorithm = first && first.oid.length === 64 ? 'sha256' : 'sha1'
    const out: Record<string, ContentEntry> = {}
    const toHash: ToHash[] = []
    const fromIndex: { p: string; mode: string }[] = []
    for (const p of new Set(paths)) {
      const seen = look(root, workspace, p, opts.follow === true)
      if ('problem' in seen) out[p] = { problem: seen.problem }
      else if ('id' in seen) out[p] = { id: seen.id }
      else if (seen.mode === '120000') toHash.push(seen)
      else if (seen.full === `${root}/${p}` && cached(idx.entries.get(p), seen.st, idx))
        fromIndex.push({ p, mode: seen.mode })
      else toHash.push(seen)
    }
    // Attributes that convert bytes (filters, eol) are asked only of the files the index would answer.
    const converted = await idx.converted(fromIndex.map(f => f.p))
    for (const f of fromIndex) {
      if (converted.has(f.p)) toHash.push({ p: f.p, full: `${root}/${f.p}`, mode: f.mode })
      else out[f.p] = { id: `${f.mode} ${idx.entries.get(f.p)!.oid}` }
    }
    await hashAll(toHash, algorithm, out, counter)
    return out
  }

  return {
    get hashed() {
      return counter.hashed
    },
    entries,
    prefetch() {
      void readIndex()
    },
    ids: paths => idsOf(paths, entries)
  }
}

/** ContentIds.ids(): the entries, the first problem thrown. */
async function idsOf(
  paths: readonly string[],
  entries: ContentIds['entries']
): Promise<Record<string, string>> {
  for (const p of paths) {
    const problem = pathProblem(p)
    if (problem && !problem.includes('backslash')) throw new Error(problem)
  }
  const found = await entries(paths)
  const out: Record<string, string> = {}
  for (const p of paths) {
    const e = found[p]
    if (e.problem !== undefined) throw new Error(e.problem)
    out[p] = e.id
  }
  return out
}

/** A file or link whose id is its bytes (read and hashed unless the index may answer). */
interface ToHash {
  p: string
  full: string
  mode: string
  st?: Stats
}

const quoted = (p: string): string => `input file ${JSON.stringify(p)}`

/** One path on disk: a problem, a folder's id, or the file or link to take an id of (followed when asked). */
function look(
  root: string,
  workspace: string,
  p: string,
  follow: boolean
): { problem: string } | { id: string } | (ToHash & { st: Stats }) {
  const problem = pathProblem(p)
  if (problem) return { problem }
  let full = `${root}/${p}`
  let st: Stats | undefined
  try {
    st = lstatSync(full, { throwIfNoEntry: false })
    if (st?.isSymbolicLink() && follow) {
      const real = realpathSync(full)
      if (real !== root && !real.startsWith(root + path.sep))
        return { problem: `${quoted(p)} is a link to outside the repository; BuildKit cannot send it` }
      full = real
      st = statSync(real)
    }
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code
    if (code !== 'ENOENT' && code !== 'ENOTDIR')
      return { problem: `${quoted(p)} cannot be read: ${(e as Error).message}` }
    st = undefined
  }
  if (!st) return { problem: `${quoted(p)} does not exist in the workspace (${workspace})` }
  if (st.isFile()) return { p, full, mode: modeOf(st), st }
  if (st.isDirectory()) return { id: `${modeOf(st)} folder` }
  if (st.isSymbolicLink()) return { p, full, mode: '120000', st }
  const special = SPECIAL.find(([is]) => (st[is] as () => boolean).call(st))?.[1] ?? 'not a file'
  return { problem: `${quoted(p)} is ${special}, which a build cannot read` }
}

/**
 * Whether git's recorded stat data says the file is as git last saw it. Times compare to the
 * microsecond (a double holds a file time in ms to about 0.3 µs); an entry written at or after the
 * index itself is racily clean and read again, as git does.
 */
function cached(entry: IndexStat | undefined, st: Stats | undefined, idx: GitIndex): boolean {
  if (!st || !idx.usable || !entry?.stat || entry.tag !== 'H' || !entry.mode.startsWith('100')) return false
  const s = entry.stat
  const same = (a: number, b: number): boolean => Math.abs(a - b) < 0.001
  const wrap = (ms: number): number => ms % (2 ** 32 * 1000)
  const ms = (seconds: number, nanoseconds: number): number => seconds * 1000 + nanoseconds / 1e6
  const mtime = ms(s.mtimeS, s.mtimeNs)
  return (
    idx.written !== undefined &&
    mtime < wrap(idx.written) - 0.001 &&
    same(mtime, wrap(st.mtimeMs)) &&
    same(ms(s.ctimeS, s.ctimeNs), wrap(st.ctimeMs)) &&
    s.size === st.size % 2 ** 32 &&
    s.ino === st.ino % 2 ** 32
  )
}

/** Reads and hashes each file (a link: its target path), 16 at a time, into `out`. */
async function hashAll(
  toHash: ToHash[],
  algorithm: 'sha1' | 'sha256',
  out: Record<string, ContentEntry>,
  counter: { hashed: number }
): Promise<void> {
  await mapLimit(toHash, 16, async f => {
    try {
      const bytes = f.mode === '120000' ? Buffer.from(await readlink(f.full)) : await readFile(f.full)
      counter.hashed++
      out[f.p] = { id: `${f.mode} ${blobId(bytes, algorithm)}` }
    } catch (e) {
      out[f.p] = { problem: `${quoted(f.p)} cannot be read: ${(e as Error).message}` }
    }
  })
}

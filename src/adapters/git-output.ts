// What git prints, read: name-status diffs, trees, the index (with flags and stat data) and
// attributes, all in git's -z form. Pure; the one git runner (git.ts) runs the commands.
import type { ChangedFile, FileStatus } from '../core/types.js'

/** An index entry as `ls-files -s -v --debug` shows it. */
export interface IndexStat extends IndexEntry {
  /** `H` cached; lower case assume-unchanged; `S` skip-worktree. */
  tag: string
  /** The stat data git recorded (32-bit as git stores them), when --debug gave it. */
  stat?: RecordedStat
}

/**
 * Times as whole seconds and nanoseconds: small integers, which V8 keeps unboxed (a millisecond double
 * would be one more heap object for each of a big index's thousands of entries).
 */
export interface RecordedStat {
  ctimeS: number
  ctimeNs: number
  mtimeS: number
  mtimeNs: number
  ino: number
  size: number
}

/** One file of the index: its mode and object id. */
export interface IndexEntry {
  mode: string
  oid: string
}

const STATUS: Record<string, FileStatus> = {
  A: 'added',
  M: 'modified',
  D: 'removed',
  R: 'renamed',
  C: 'copied',
  T: 'changed',
  U: 'modified'
}

/** Parses `git diff --name-status -z` output: `M\0path\0`, `R100\0old\0new\0`, … */
export function parseNameStatusZ(out: string): ChangedFile[] {
  const parts = out.split('\0')
  const files: ChangedFile[] = []
  let i = 0
  while (i < parts.length) {
    const code = parts[i++]
    if (code === '') continue // the trailing NUL
    const letter = code[0]
    const status = STATUS[letter] ?? 'changed'
    if (letter === 'R' || letter === 'C') {
      const previousPath = parts[i++]
      const path = parts[i++]
      if (path === undefined) throw new Error(`git diff output ends inside a ${code} entry`)
      files.push({ path, status, previousPath })
    } else {
      const path = parts[i++]
      if (path === undefined) throw new Error(`git diff output ends inside a ${code} entry`)
      files.push({ path, status })
    }
  }
  return files
}

/** Parses `git ls-tree -r --name-only -z` output. */
export function parseLsTreeZ(out: string): string[] {
  return out.split('\0').filter(p => p !== '')
}

/** Parses `git ls-files -s -z`: `<mode> <oid> <stage>\t<path>\0`; conflicted paths (stage ≠ 0) are left out. */
export function parseLsFilesStageZ(out: string): Map<string, IndexEntry> {
  const index = new Map<string, IndexEntry>()
  const conflicted = new Set<string>()
  for (const rec of out.split('\0')) {
    if (rec === '') continue
    const tab = rec.indexOf('\t')
    const m = /^(\d{6}) ([0-9a-f]{40}|[0-9a-f]{64}) (\d)$/.exec(rec.slice(0, tab))
    if (tab < 0 || !m) throw new Error(`unexpected git ls-files line: ${JSON.stringify(rec.slice(0, 80))}`)
    const p = rec.slice(tab + 1)
    if (m[3] !== '0') conflicted.add(p)
    else index.set(p, { mode: m[1], oid: m[2] })
  }
  for (const p of conflicted) index.delete(p)
  return index
}

/**
 * Parses `git ls-files -s -v --debug -z` from `from` on; conflicted paths (stage ≠ 0) are left out. Each
 * entry is `<tag> <mode> <oid> <stage>\t<path>\0`, its stat data after it in lines (`  ctime: <s>:<ns>\n`,
 * `  mtime: …`, `  dev: …\tino: …`, `  uid: …\tgid: …`, `  size: …\tflags: …`). Read from the bytes by
 * scanning: this runs on every file of the repository each plan, and its 200 bytes an entry are not
 * decoded into one large string first; only paths and ids become strings.
 */
export function parseLsFilesDebug(out: Buffer, from = 0): Map<string, IndexStat> {
  const index = new Map<string, IndexStat>()
  const conflicted = new Set<string>()
  let last: IndexStat | undefined
  for (let start = from; start < out.length;) {
    let end = out.indexOf(0, start)
    if (end < 0) end = out.length
    let at = start
    if (last && out[at] === SPACE) {
      const stat = new StatReader(out, at)
      const ctimeS = stat.skip('  ctime: ')
      const ctimeNs = stat.skip(':')
      const mtimeS = stat.skip('\n  mtime: ')
      const mtimeNs = stat.skip(':')
      stat.skip('\n  dev: ')
      const ino = stat.skip('\tino: ')
      stat.skip('\n  uid: ')
      stat.skip('\tgid: ')
      const size = stat.skip('\n  size: ')
      stat.skip('\tflags: ', true)
      at = stat.end('\n')
      last.stat = { ctimeS, ctimeNs, mtimeS, mtimeNs, ino, size }
    }
    last = undefined
    if (at < end) {
      // `<tag> <mode> <oid> <stage>\t`: positions checked, not a regular expression per entry.
      const tab = out.indexOf(TAB, at)
      const oidLength = tab < 0 || tab > end ? 0 : tab - 2 - (at + 9)
      if (
        out[at + 1] !== SPACE ||
        out[at + 8] !== SPACE ||
        out[tab - 2] !== SPACE ||
        (oidLength !== 40 && oidLength !== 64)
      )
        throw new Error(
          `unexpected git ls-files line: ${JSON.stringify(out.toString('utf8', at, Math.min(end, at + 80)))}`
        )
      const p = out.toString('utf8', tab + 1, end)
      const tag = String.fromCharCode(out[at])
      const oid = out.toString('latin1', at + 9, tab - 2)
      last = { tag, mode: modeAt(out, at + 2), oid }
      // A conflicted entry's stat data follows it too: read, then dropped with it.
      if (out[tab - 1] !== ZERO) conflicted.add(p)
      else index.set(p, last)
    }
    start = end + 1
  }
  for (const p of conflicted) index.delete(p)
  return index
}

const [SPACE, TAB, ZERO] = [32, 9, 48]

/** The six digits of a mode at `at`, as one shared string per mode (a handful in any index). */
function modeAt(out: Buffer, at: number): string {
  let key = 0
  for (let i = at; i < at + 6; i++) {
    const digit = out[i] - ZERO
    if (digit < 0 || digit > 9) return out.toString('latin1', at, at + 6)
    key = key * 10 + digit
  }
  let mode = INDEX_MODES.get(key)
  if (mode === undefined) INDEX_MODES.set(key, (mode = out.toString('latin1', at, at + 6)))
  return mode
}

const INDEX_MODES = new Map<number, string>()

/** Reads the labelled numbers of one entry's stat data, in order; throws where the bytes are not that. */
class StatReader {
  constructor(
    private readonly bytes: Buffer,
    private at: number
  ) {}

  private fail(): never {
    const text = this.bytes.toString('utf8', this.at, Math.min(this.bytes.length, this.at + 80))
    throw new Error(`unexpected git ls-files stat data: ${JSON.stringify(text)}`)
  }

  private label(label: string): void {
    for (let i = 0; i < label.length; i++) if (this.bytes[this.at + i] !== label.charCodeAt(i)) this.fail()
    this.at += label.length
  }

  /** After `label`, its digits (hex too with `hex`) to the next label; their decimal value, summed as read. */
  skip(label: string, hex = false): number {
    this.label(label)
    const from = this.at
    let value = 0
    for (; this.at < this.bytes.length; this.at++) {
      const c = this.bytes[this.at]
      if (c >= 48 && c <= 57) value = value * 10 + c - 48
      else if (!(hex && c >= 97 && c <= 102)) break
    }
    if (this.at === from) this.fail()
    return value
  }

  /** Where the entry's stat data ends, after `label`. */
  end(label: string): number {
    this.label(label)
    return this.at
  }
}

/** Parses `git check-attr -z`: `<path>\0<attr>\0<value>\0`; the paths with a value set. */
export function parseCheckAttr(out: string): Set<string> {
  const parts = out.split('\0')
  const set = new Set<string>()
  for (let i = 0; i + 2 < parts.length; i += 3)
    if (parts[i + 2] !== 'unspecified' && parts[i + 2] !== 'unset') set.add(parts[i])
  return set
}

/** Parses `git config -z --get-regexp`: `<name>\n<value>\0` records; names lower-cased. */
export function parseConfigZ(out: string): Record<string, string> {
  const values: Record<string, string> = {}
  for (const rec of out.split('\0')) {
    const nl = rec.indexOf('\n')
    if (nl > 0) values[rec.slice(0, nl).toLowerCase()] = rec.slice(nl + 1)
  }
  return values
}

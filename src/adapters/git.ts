// The one git runner: every git command Strata runs goes through createGit(). The fallback source of
// changed files (SPEC 3), the index and tracked files (content ids, `paths` checks), and what the CLI
// asks of a local clone (top folder, branches, commits, origin). Fixed argv arrays, never a shell,
// never a prompt; -z output, so that any byte a file name may hold (space, tab, newline) survives.
import { execFile } from 'node:child_process'
import type { ChangedFile, FileStatus } from '../core/types.js'

export interface Git {
  /** Files that differ between the trees of `base` and `head` (renames detected). */
  diff(base: string, head: string): Promise<ChangedFile[]>
  /** The workspace has this commit (a shallow clone may not). */
  hasCommit(rev: string): Promise<boolean>
  /** The best common ancestor, or undefined when there is none in the workspace. */
  mergeBase(a: string, b: string): Promise<string | undefined>
  /** Every file of `head`, as added (the repository's first push). */
  allFiles(head: string): Promise<ChangedFile[]>
  /** When the commit `rev` was made (its committer time), or undefined when the workspace lacks it. */
  commitTime(rev: string): Promise<Date | undefined>
  /** The work tree's top folder, or undefined outside a work tree. */
  topLevel(): Promise<string | undefined>
  /** The commit `rev` names (any revision git reads, peeled to a commit), or undefined when none. */
  revParse(rev: string): Promise<string | undefined>
  /** The short name a symbolic ref points to (`HEAD` → its branch), or undefined (detached, missing). */
  symbolicRef(name: string): Promise<string | undefined>
  /** A remote's URL, or undefined when there is no such remote. */
  remoteUrl(remote: string): Promise<string | undefined>
  /** The index (`git ls-files -s`), conflicted paths left out; undefined outside a work tree. */
  index(): Promise<Map<string, IndexEntry> | undefined>
  /** Tracked files whose working copy differs from the index (submodules ignored). */
  modified(): Promise<string[]>
  /** The files git tracks (`git ls-files --cached`), in git's order; undefined outside a work tree. */
  tracked(): Promise<string[] | undefined>
  /** The index with each entry's flags and recorded stat data (`ls-files -s -v --debug`); undefined outside a work tree. */
  indexStat(): Promise<Map<string, IndexStat> | undefined>
  /** Config values whose names match `pattern` (`^core\.eol$`), names lower-cased; {} when none. */
  config(pattern: string): Promise<Record<string, string>>
  /** Absolute paths of files in the git folder (`rev-parse --git-path`: `index`, `info/attributes`). */
  gitPaths(names: string[]): Promise<string[]>
  /** Those of `paths` that carry any value (set, not unset) for one of `attrs` (`check-attr`). */
  attributed(paths: readonly string[], attrs: string[]): Promise<Set<string>>
}

/** An index entry as `ls-files -s -v --debug` shows it. */
export interface IndexStat extends IndexEntry {
  /** `H` cached; lower case assume-unchanged; `S` skip-worktree. */
  tag: string
  /** The stat data git recorded (32-bit as git stores them; times in ms), when --debug gave it. */
  stat?: { ctime: number; mtime: number; ino: number; size: number }
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
 * Parses `git ls-files -s -v --debug -z`; conflicted paths (stage ≠ 0) are left out. Each entry is
 * `<tag> <mode> <oid> <stage>\t<path>\0`, its stat data after it in lines (`  ctime: <s>:<ns>\n`,
 * `  mtime: …`, `  dev: …\tino: …`, `  uid: …\tgid: …`, `  size: …\tflags: …`). Read by scanning,
 * not a regular expression per entry: this runs on every file of the repository each plan.
 */
export function parseLsFilesDebug(out: string): Map<string, IndexStat> {
  const index = new Map<string, IndexStat>()
  const conflicted = new Set<string>()
  let last: IndexStat | undefined
  for (let start = 0; start < out.length;) {
    let end = out.indexOf('\0', start)
    if (end < 0) end = out.length
    let at = start
    if (last && out.startsWith('  ctime: ', at)) {
      const stat = new StatReader(out, at)
      const ctime = stat.time('  ctime: ')
      const mtime = stat.time('\n  mtime: ')
      stat.skip('\n  dev: ')
      const ino = stat.skip('\tino: ')
      stat.skip('\n  uid: ')
      stat.skip('\tgid: ')
      const size = stat.skip('\n  size: ')
      stat.skip('\tflags: ', true)
      at = stat.end('\n')
      last.stat = { ctime, mtime, ino, size }
    }
    last = undefined
    if (at < end) {
      // `<tag> <mode> <oid> <stage>\t`: positions checked, not a regular expression per entry.
      const tab = out.indexOf('\t', at)
      const oid = tab < 0 || tab > end ? '' : out.slice(at + 9, tab - 2)
      if (
        out[at + 1] !== ' ' ||
        out[at + 8] !== ' ' ||
        out[tab - 2] !== ' ' ||
        (oid.length !== 40 && oid.length !== 64)
      )
        throw new Error(
          `unexpected git ls-files line: ${JSON.stringify(out.slice(at, Math.min(end, at + 80)))}`
        )
      const p = out.slice(tab + 1, end)
      if (out[tab - 1] !== '0') conflicted.add(p)
      else index.set(p, (last = { tag: out[at], mode: out.slice(at + 2, at + 8), oid }))
    }
    start = end + 1
  }
  for (const p of conflicted) index.delete(p)
  return index
}

/** Reads the labelled numbers of one entry's stat data, in order; throws where the text is not that. */
class StatReader {
  constructor(
    private readonly text: string,
    private at: number
  ) {}

  private fail(): never {
    throw new Error(
      `unexpected git ls-files stat data: ${JSON.stringify(this.text.slice(this.at, this.at + 80))}`
    )
  }

  /** After `label`, its digits (hex too with `hex`) to the next label; their decimal value, summed as read. */
  skip(label: string, hex = false): number {
    if (!this.text.startsWith(label, this.at)) this.fail()
    const from = (this.at += label.length)
    let value = 0
    for (; this.at < this.text.length; this.at++) {
      const c = this.text.charCodeAt(this.at)
      if (c >= 48 && c <= 57) value = value * 10 + c - 48
      else if (!(hex && c >= 97 && c <= 102)) break
    }
    if (this.at === from) this.fail()
    return value
  }

  /** `<seconds>:<nanoseconds>` in ms. */
  time(label: string): number {
    return this.skip(label) * 1000 + this.skip(':') / 1e6
  }

  /** Where the entry's stat data ends, after `label`. */
  end(label: string): number {
    return this.text.startsWith(label, this.at) ? this.at + label.length : this.fail()
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

export class GitError extends Error {
  constructor(
    message: string,
    readonly exitCode: number | undefined,
    readonly stderr: string
  ) {
    super(message)
    this.name = 'GitError'
  }

  /** The folder is not inside a git work tree (a CLI run in an unpacked tarball). */
  get notARepository(): boolean {
    return /not a git repository/i.test(this.stderr)
  }
}

// Revisions come from event payloads and inputs: refuse anything git could read as an option.
function rev(r: string): string {
  if (!r || r.startsWith('-') || /[\0\s]/.test(r))
    throw new GitError(`not a git revision: ${JSON.stringify(r)}`, undefined, '')
  return r
}

// A revision the user typed (`HEAD@{1 day ago}`) may hold spaces: only an option or a NUL is refused.
function typedRev(r: string): string {
  if (!r || r.startsWith('-') || r.includes('\0'))
    throw new GitError(`not a git revision: ${JSON.stringify(r)}`, undefined, '')
  return r
}

/** One line of git output without its newline, or undefined when empty. */
const line = (out: string): string | undefined => out.replace(/\r?\n$/, '') || undefined

/** Runs one git command in `cwd` and resolves with its stdout; a failure is a GitError with git's words. */
function runGit(cwd: string, args: readonly string[], input?: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = execFile(
      'git',
      // Per-command settings that change what diff prints; nothing global is written.
      ['-c', 'core.quotePath=false', '-c', 'diff.renames=true', '-c', 'diff.renameLimit=10000', ...args],
      {
        cwd,
        encoding: 'utf8',
        maxBuffer: 512 * 1024 * 1024,
        env: { ...process.env, GIT_TERMINAL_PROMPT: '0', GIT_OPTIONAL_LOCKS: '0' }
      },
      (err, stdout, stderr) => {
        if (err) {
          const code = typeof err.code === 'number' ? err.code : undefined
          reject(new GitError(`git ${args.join(' ')} failed: ${stderr.trim() || err.message}`, code, stderr))
        } else resolve(stdout)
      }
    )
    if (input !== undefined) child.stdin?.end(input)
  })
}

/** undefined when `cwd` is not a git work tree; any other failure is thrown. */
async function inWorkTree<T>(work: Promise<T>): Promise<T | undefined> {
  try {
    return await work
  } catch (e) {
    if (e instanceof GitError && e.notARepository) return undefined
    throw e
  }
}

export function createGit(cwd: string): Git {
  const run = (args: string[], input?: string): Promise<string> => runGit(cwd, args, input)
  return { ...changeQueries(run), ...cloneQueries(run), ...indexQueries(run) }
}

type Run = (args: string[], input?: string) => Promise<string>

/** What the changed files are read from (SPEC 3). */
function changeQueries(run: Run): Pick<Git, 'diff' | 'hasCommit' | 'mergeBase' | 'allFiles' | 'commitTime'> {
  return {
    async diff(base, head) {
      const out = await run([
        'diff',
        '--name-status',
        '-z',
        '-M',
        '--no-ext-diff',
        '--no-relative',
        rev(base),
        rev(head),
        '--'
      ])
      return parseNameStatusZ(out)
    },
    async hasCommit(r) {
      try {
        await run(['cat-file', '-e', `${rev(r)}^{commit}`])
        return true
      } catch {
        return false
      }
    },
    async mergeBase(a, b) {
      try {
        return (await run(['merge-base', rev(a), rev(b)])).trim() || undefined
      } catch {
        return undefined
      }
    },
    async allFiles(head) {
      const out = await run(['ls-tree', '-r', '--name-only', '-z', '--full-tree', rev(head)])
      return parseLsTreeZ(out).map(path => ({ path, status: 'added' as const }))
    },
    async commitTime(r) {
      const out = await run(['show', '-s', '--format=%ct', `${rev(r)}^{commit}`, '--']).catch(() => '')
      const seconds = line(out)
      return seconds && /^\d+$/.test(seconds) ? new Date(Number(seconds) * 1000) : undefined
    }
  }
}

/** What the CLI asks of a local clone. */
function cloneQueries(run: Run): Pick<Git, 'topLevel' | 'revParse' | 'symbolicRef' | 'remoteUrl'> {
  return {
    async topLevel() {
      return line(await run(['rev-parse', '--show-toplevel']).catch(() => ''))
    },
    async revParse(r) {
      // --verify: one revision or nothing; `^{commit}` after it: never read as an option.
      const arg = `${typedRev(r)}^{commit}`
      return line(await run(['rev-parse', '--verify', '--quiet', arg]).catch(() => ''))
    },
    async symbolicRef(name) {
      return line(await run(['symbolic-ref', '-q', '--short', rev(name)]).catch(() => ''))
    },
    async remoteUrl(remote) {
      return line(await run(['remote', 'get-url', rev(remote)]).catch(() => ''))
    }
  }
}

/** The index and the work tree (content ids, `paths` checks). */
function indexQueries(
  run: Run
): Pick<Git, 'index' | 'modified' | 'tracked' | 'indexStat' | 'config' | 'gitPaths' | 'attributed'> {
  return {
    async indexStat() {
      const out = await inWorkTree(run(['ls-files', '-s', '-v', '--debug', '-z']))
      return out === undefined ? undefined : parseLsFilesDebug(out)
    },
    async config(pattern) {
      // Exit code 1: no such setting.
      const out = await run(['config', '-z', '--get-regexp', pattern]).catch((e: unknown) => {
        if (e instanceof GitError && e.exitCode === 1) return ''
        throw e
      })
      const values: Record<string, string> = {}
      for (const rec of out.split('\0')) {
        const nl = rec.indexOf('\n')
        if (nl > 0) values[rec.slice(0, nl).toLowerCase()] = rec.slice(nl + 1)
      }
      return values
    },
    async gitPaths(names) {
      const args = names.flatMap(n => ['--git-path', n])
      return (await run(['rev-parse', '--path-format=absolute', ...args])).trim().split('\n')
    },
    async attributed(paths, attrs) {
      if (paths.length === 0) return new Set()
      const out = await run(['check-attr', '-z', '--stdin', ...attrs], paths.join('\0') + '\0')
      return parseCheckAttr(out)
    },
    async index() {
      const out = await inWorkTree(run(['ls-files', '-s', '-z']))
      return out === undefined ? undefined : parseLsFilesStageZ(out)
    },
    async modified() {
      const out = await run([
        'diff',
        '--name-only',
        '-z',
        '--no-renames',
        '--no-ext-diff',
        '--ignore-submodules'
      ])
      return out.split('\0').filter(p => p !== '')
    },
    async tracked() {
      const out = await inWorkTree(run(['ls-files', '-z', '--cached']))
      return out?.split('\0').filter(Boolean)
    }
  }
}

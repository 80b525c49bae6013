// The one git runner: every git command Strata runs goes through createGit(). The fallback source of
// changed files (SPEC 3), the index and tracked files (content ids, `paths` checks), and what the CLI
// asks of a local clone (top folder, branches, commits, origin). Fixed argv arrays, never a prompt;
// -z output, so that any byte a file name may hold (space, tab, newline) survives. One shell, for
// speed: the index read's three commands run from one fixed `sh` script (indexRead()).
import { execFile } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import type { ChangedFile } from '../core/types.js'
import {
  parseCheckAttr,
  parseConfigZ,
  parseLsFilesDebug,
  parseLsFilesStageZ,
  parseLsTreeZ,
  parseNameStatusZ
} from './git-output.js'
import type { IndexEntry, IndexStat } from './git-output.js'

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
  /**
   * The index with each entry's flags and recorded stat data (`ls-files -s -v --debug`), with the
   * settings and paths content ids need, from one process; undefined outside a work tree.
   */
  indexRead(): Promise<IndexRead | undefined>
  /** Those of `paths` that carry any value (set, not unset) for one of `attrs` (`check-attr`). */
  attributed(paths: readonly string[], attrs: string[]): Promise<Set<string>>
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

/** What content ids need of git's index, asked at once (Git.indexRead). */
export interface IndexRead {
  /** core.autocrlf, core.eol, core.filemode and core.attributesfile where set, names lower-cased. */
  config: Record<string, string>
  /** Absolute paths of the index file and of info/attributes. */
  indexFile: string
  infoAttributes: string
  entries: Map<string, IndexStat>
}

// Per-command settings that change what git prints; nothing global is written.
const GIT_OPTIONS = ['-c', 'core.quotePath=false', '-c', 'diff.renames=true', '-c', 'diff.renameLimit=10000']
const INDEX_READ = {
  config: ['config', '-z', '--get-regexp', '^core\\.(autocrlf|eol|filemode|attributesfile)$'],
  paths: ['rev-parse', '--path-format=absolute', '--git-path', 'index', '--git-path', 'info/attributes'],
  index: ['ls-files', '-s', '-v', '--debug', '-z']
}

/**
 * The three commands of INDEX_READ in one `sh`: every fork of this large process stalls its main
 * thread for milliseconds, one sh costs one. Fixed text: its only argument is the nonce that ends the
 * first two outputs (`\0<nonce> <exit code>\0`); the index follows.
 */
const INDEX_SCRIPT = (() => {
  // Every word is a constant above; none holds a quote.
  const words = (args: string[]): string => [...GIT_OPTIONS, ...args].map(a => `'${a}'`).join(' ')
  const ended = `printf '\\0%s %d\\0' "$1" "$?"`
  return [
    `git ${words(INDEX_READ.config)}; ${ended}`,
    `git ${words(INDEX_READ.paths)}; ${ended}`,
    `exec git ${words(INDEX_READ.index)}`
  ].join('\n')
})()

/** Runs one git command in `cwd` and resolves with its stdout; a failure is a GitError with git's words. */
function runGit(cwd: string, args: readonly string[], input?: string): Promise<string> {
  return runGitBytes(cwd, args, input).then(out => out.toString('utf8'))
}

/** runGit(), its stdout as bytes. */
function runGitBytes(cwd: string, args: readonly string[], input?: string): Promise<Buffer> {
  return run(cwd, 'git', [...GIT_OPTIONS, ...args], `git ${args.join(' ')}`, input).then(r => r.stdout)
}

/**
 * Runs `file` in `cwd` with git's environment (no prompt, no optional locks). A failure is a GitError
 * naming `what`; a program that cannot be started (no such file) rejects with the system's error.
 */
function run(
  cwd: string,
  file: string,
  argv: readonly string[],
  what: string,
  input?: string
): Promise<{ stdout: Buffer; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = execFile(
      file,
      argv,
      {
        cwd,
        encoding: 'buffer',
        maxBuffer: 512 * 1024 * 1024,
        env: { ...process.env, GIT_TERMINAL_PROMPT: '0', GIT_OPTIONAL_LOCKS: '0' }
      },
      (err, stdout, stderrBytes) => {
        const stderr = stderrBytes.toString('utf8')
        if (err && err.code === 'ENOENT') reject(err)
        else if (err) {
          const code = typeof err.code === 'number' ? err.code : undefined
          reject(new GitError(`${what} failed: ${stderr.trim() || err.message}`, code, stderr))
        } else resolve({ stdout, stderr })
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
  const git = (args: string[], input?: string): Promise<string> => runGit(cwd, args, input)
  return {
    ...changeQueries(git),
    ...cloneQueries(git),
    ...indexQueries(git),
    indexRead: () => indexRead(cwd)
  }
}

/** Git.indexRead(): one `sh`; where there is none to start, the three commands one by one. */
async function indexRead(cwd: string): Promise<IndexRead | undefined> {
  const nonce = randomBytes(8).toString('hex')
  let out: { stdout: Buffer; stderr: string }
  try {
    out = await run(cwd, 'sh', ['-c', INDEX_SCRIPT, 'sh', nonce], 'git ls-files -s -v --debug -z')
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return indexReadApart(cwd)
    if (e instanceof GitError && e.notARepository) return undefined
    throw e
  }
  const { stdout, stderr } = out
  let at = 0
  const [config, paths] = [0, 1].map(() => {
    const mark = stdout.indexOf(`\0${nonce} `, at)
    const end = mark < 0 ? -1 : stdout.indexOf(0, mark + 1)
    if (end < 0)
      throw new GitError('git ls-files -s -v --debug -z: its output ended early', undefined, stderr)
    const part = {
      text: stdout.toString('utf8', at, mark),
      code: Number(stdout.toString('latin1', mark + nonce.length + 2, end))
    }
    at = end + 1
    return part
  })
  if (config.code > 1) throw new GitError(`git config failed: ${stderr.trim()}`, config.code, stderr)
  if (paths.code !== 0) throw new GitError(`git rev-parse failed: ${stderr.trim()}`, paths.code, stderr)
  return indexReadOf(config.text, paths.text, stdout, at)
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

/** The three commands of an index read, each its own process. */
async function indexReadApart(cwd: string): Promise<IndexRead | undefined> {
  const git = (args: string[]): Promise<string> => runGit(cwd, args)
  const index = await inWorkTree(runGitBytes(cwd, INDEX_READ.index))
  if (index === undefined) return undefined
  // Exit code 1: no such setting.
  const config = await git(INDEX_READ.config).catch((e: unknown) => {
    if (e instanceof GitError && e.exitCode === 1) return ''
    throw e
  })
  return indexReadOf(config, await git(INDEX_READ.paths), index)
}

function indexReadOf(config: string, paths: string, index: Buffer, from = 0): IndexRead {
  const [indexFile, infoAttributes] = paths.trim().split('\n')
  return { config: parseConfigZ(config), indexFile, infoAttributes, entries: parseLsFilesDebug(index, from) }
}

/** The index and the work tree (content ids, `paths` checks). */
function indexQueries(run: Run): Pick<Git, 'index' | 'modified' | 'tracked' | 'attributed'> {
  return {
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

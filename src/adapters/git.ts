// git in the workspace: the fallback source of changed files (SPEC 3), and what the CLI asks of a
// local clone (top folder, branches, commits, origin). Fixed argv arrays, never a shell; -z output,
// so that any byte a file name may hold (space, tab, newline, non-ASCII) survives.
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
  /** The work tree's top folder, or undefined outside a work tree. */
  topLevel(): Promise<string | undefined>
  /** The commit `rev` names (any revision git reads, peeled to a commit), or undefined when none. */
  revParse(rev: string): Promise<string | undefined>
  /** The short name a symbolic ref points to (`HEAD` → its branch), or undefined (detached, missing). */
  symbolicRef(name: string): Promise<string | undefined>
  /** A remote's URL, or undefined when there is no such remote. */
  remoteUrl(remote: string): Promise<string | undefined>
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

export class GitError extends Error {
  constructor(
    message: string,
    readonly exitCode: number | undefined,
    readonly stderr: string
  ) {
    super(message)
    this.name = 'GitError'
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

export function createGit(cwd: string): Git {
  function run(args: string[]): Promise<string> {
    return new Promise((resolve, reject) => {
      execFile(
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
            reject(
              new GitError(`git ${args.join(' ')} failed: ${stderr.trim() || err.message}`, code, stderr)
            )
          } else resolve(stdout)
        }
      )
    })
  }

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

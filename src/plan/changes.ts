// Which files changed (SPEC 3): the GitHub API first; git in the workspace when the API list is cut
// off or the API fails; else "unknown", with a note that says why and how to fix it.
import type { Git } from '../adapters/git.js'
import type { FileList, GitHubClient } from '../adapters/github.js'
import { isTruncated } from '../core/changes.js'
import type { ChangedFile, ChangeSet, DiffRange, EventContext, Logger } from '../core/types.js'

export interface ChangeDeps {
  github?: GitHubClient
  git?: Git
  log: Logger
}

const FIX = 'set `fetch-depth: 0` on actions/checkout so that both commits are in the workspace'

type Ranged = Extract<DiffRange, { kind: 'pull' | 'compare' | 'forced' | 'new-branch' }>

const short = (sha: string) => (/^[0-9a-f]{40}$/i.test(sha) ? sha.slice(0, 7) : sha)

function errorText(e: unknown): string {
  const err = e as { status?: number; message?: string }
  const text = (err?.message ?? String(e)).split('\n')[0]
  return err?.status ? `HTTP ${err.status}: ${text}` : text
}

/** Files of both lists, each once (a forced push: the files on either side of the merge base). */
function union(a: ChangedFile[], b: ChangedFile[]): ChangedFile[] {
  const seen = new Set<string>()
  const out: ChangedFile[] = []
  for (const f of [...a, ...b]) {
    const key = `${f.previousPath ?? ''}\0${f.path}`
    if (seen.has(key)) continue
    seen.add(key)
    out.push(f)
  }
  return out
}

interface ApiAnswer {
  files: ChangedFile[]
  /** Why the list cannot be used (cut off), or undefined when it is whole. */
  cutOff?: string
  base?: string
}

async function fromApi(ctx: EventContext, range: Ranged, github: GitHubClient): Promise<ApiAnswer> {
  const { owner, repo } = ctx
  const compareCut = (l: FileList, base: string, head: string) =>
    l.complete
      ? undefined
      : `GitHub's compare lists at most 300 files and ${short(base)}...${short(head)} has ${l.files.length}`
  switch (range.kind) {
    case 'pull': {
      const l = await github.pullFiles(owner, repo, range.number)
      const n = l.files.length
      let cutOff: string | undefined
      if (!l.complete) {
        cutOff = `GitHub lists at most 3000 files of a pull request and #${range.number} has ${n}`
      } else if (isTruncated('pull', n, range.expectedCount)) {
        cutOff = `the API listed ${n} files of pull request #${range.number} but the event says ${range.expectedCount} changed`
      }
      return { files: l.files, cutOff, base: range.base }
    }
    case 'compare': {
      const l = await github.compareFiles(owner, repo, range.base, range.head)
      return { files: l.files, cutOff: compareCut(l, range.base, range.head), base: range.base }
    }
    case 'forced': {
      const [ab, ba] = await Promise.all([
        github.compareFiles(owner, repo, range.base, range.head),
        github.compareFiles(owner, repo, range.head, range.base)
      ])
      const cutOff = compareCut(ab, range.base, range.head) ?? compareCut(ba, range.head, range.base)
      return { files: union(ab.files, ba.files), cutOff, base: range.base }
    }
    case 'new-branch': {
      const l = await github.compareFiles(owner, repo, range.defaultBranch, range.head)
      return { files: l.files, cutOff: compareCut(l, range.defaultBranch, range.head), base: l.mergeBase }
    }
  }
}

/** git's answer, or why git cannot answer (a commit missing from a shallow clone). */
async function fromGit(
  range: Ranged,
  git: Git
): Promise<{ files: ChangedFile[]; base?: string } | { missing: string }> {
  const missing = async (...revs: string[]) => {
    for (const r of revs) if (!(await git.hasCommit(r))) return `commit ${short(r)} is not in the workspace`
    return undefined
  }
  if (range.kind === 'new-branch') {
    const head = await missing(range.head)
    if (head) return { missing: head }
    const d = range.defaultBranch
    let ref: string | undefined
    for (const r of [`refs/remotes/origin/${d}`, `refs/heads/${d}`]) {
      if (await git.hasCommit(r)) {
        ref = r
        break
      }
    }
    if (!ref) return { missing: `the default branch ${d} is not in the workspace` }
    const mb = await git.mergeBase(ref, range.head)
    if (!mb) return { missing: `no common ancestor of ${d} and ${short(range.head)} in the workspace` }
    return { files: await git.diff(mb, range.head), base: mb }
  }
  const gone = await missing(range.base, range.head)
  if (gone) return { missing: gone }
  const mb = await git.mergeBase(range.base, range.head)
  if (range.kind === 'forced') {
    // The files that differ on either side of the merge base; unrelated histories: the two trees.
    if (!mb) return { files: await git.diff(range.base, range.head), base: range.base }
    const [ab, ba] = await Promise.all([git.diff(mb, range.head), git.diff(mb, range.base)])
    return { files: union(ab, ba), base: range.base }
  }
  // Three dots, like GitHub: what head changed since it left base.
  if (!mb)
    return { missing: `no common ancestor of ${short(range.base)} and ${short(range.head)} in the workspace` }
  return { files: await git.diff(mb, range.head), base: range.base }
}

export async function detectChanges(
  ctx: EventContext,
  range: DiffRange,
  deps: ChangeDeps
): Promise<ChangeSet> {
  switch (range.kind) {
    case 'none':
      return { source: 'none', files: [], note: range.why }
    case 'deleted':
      return { source: 'none', files: [], note: 'the branch was deleted: nothing to build' }
    case 'first-push':
      return firstPush(range.head, deps)
  }
  const base = range.kind === 'new-branch' ? undefined : range.base
  const api = await apiChanges(ctx, range, deps)
  if ('source' in api) return api
  let why = api.why
  if (deps.git) {
    let g: Awaited<ReturnType<typeof fromGit>>
    try {
      g = await fromGit(range, deps.git)
    } catch (e) {
      g = { missing: `git failed (${errorText(e)})` }
    }
    if ('files' in g) {
      if (deps.github) deps.log.info(`${why}: using git diff in the workspace instead`)
      const set: ChangeSet = { source: 'git', files: g.files, note: why, head: range.head }
      if (g.base) set.base = g.base
      return set
    }
    why = `${why}, and ${g.missing}`
  } else why = `${why}, and no git workspace is available`
  return unknownChanges(why, base, range.head, deps.log)
}

/** The repository's first push: every file of head is new. */
async function firstPush(head: string, deps: ChangeDeps): Promise<ChangeSet> {
  if (deps.git && (await deps.git.hasCommit(head)))
    return { source: 'git', files: await deps.git.allFiles(head), head, note: 'first push' }
  const why = `this is the repository's first push and commit ${short(head)} is not in the workspace`
  return unknownChanges(why, undefined, head, deps.log)
}

/** The changes from the GitHub API, or why it could not give them all. */
async function apiChanges(
  ctx: EventContext,
  range: Ranged,
  deps: ChangeDeps
): Promise<ChangeSet | { why: string }> {
  if (!deps.github) return { why: 'the GitHub API is not used' }
  if (!ctx.owner || !ctx.repo) return { why: 'the repository is not known (GITHUB_REPOSITORY is not set)' }
  try {
    const a = await fromApi(ctx, range, deps.github)
    if (a.cutOff) return { why: a.cutOff }
    const set: ChangeSet = { source: 'api', files: a.files, head: range.head }
    if (a.base) set.base = a.base
    return set
  } catch (e) {
    return { why: `the GitHub API failed after its retries (${errorText(e)})` }
  }
}

/** Changes unknown: every layer builds, and the log says why and what fixes it. */
function unknownChanges(why: string, base: string | undefined, head: string, log: Logger): ChangeSet {
  const note = `changed files unknown: ${why}. Every layer builds. To fix it, ${FIX}.`
  log.warning(note)
  const set: ChangeSet = { source: 'unknown', files: [], note, head }
  if (base) set.base = base
  return set
}

// Event name + payload (+ the runner's GITHUB_* values) → what the run is about and which commits
// to compare (SPEC 3). Pure: the caller reads the payload file and the environment.
import { checkPayload } from './event-check.js'
import type { DiffRange, EventContext, PullRequestInfo, RunnerEnv } from './types.js'

export type { RunnerEnv } from './types.js'

// Webhook payloads are untyped JSON from the runner; every field is checked before it is used.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type Payload = any

const PULL_EVENTS = new Set(['pull_request', 'pull_request_target'])
// Events on which a stable tag may move (SPEC 5), when they run on the default branch.
const STABLE_EVENTS = new Set(['push', 'workflow_dispatch', 'schedule'])

function isZero(sha: unknown): boolean {
  return typeof sha !== 'string' || sha === '' || /^0+$/.test(sha) // 40 zeros, or 64 in a SHA-256 repository
}

function str(v: unknown): string | undefined {
  return typeof v === 'string' && v !== '' ? v : undefined
}

function ownerRepo(payload: Payload, env: RunnerEnv): { owner: string; repo: string } {
  const full = str(payload?.repository?.full_name) ?? str(env.GITHUB_REPOSITORY)
  if (full && full.includes('/')) {
    const at = full.indexOf('/')
    return { owner: full.slice(0, at), repo: full.slice(at + 1) }
  }
  // Empty when unknown (a local clone without GITHUB_REPOSITORY): changes then come from git.
  return { owner: '', repo: '' }
}

function pullRequest(payload: Payload): PullRequestInfo | undefined {
  const pr = payload?.pull_request
  if (!pr || typeof pr !== 'object') return undefined
  const headRepo = str(pr.head?.repo?.full_name)
  const baseRepo = str(pr.base?.repo?.full_name) ?? str(payload.repository?.full_name)
  const info: PullRequestInfo = {
    number: Number(pr.number !== undefined ? pr.number : payload.number),
    headSha: String(pr.head?.sha ?? ''),
    headRef: String(pr.head?.ref ?? ''),
    baseSha: String(pr.base?.sha ?? ''),
    baseRef: String(pr.base?.ref ?? ''),
    // A deleted fork has `head.repo: null`: still a fork.
    fork: headRepo === undefined || headRepo !== baseRepo
  }
  if (typeof pr.changed_files === 'number') info.changedFiles = pr.changed_files
  return info
}

/** The full ref the run is on. */
function eventRef(eventName: string, payload: Payload, env: RunnerEnv, pr?: PullRequestInfo): string {
  if (pr) {
    const fallback =
      eventName === 'pull_request_target' ? `refs/heads/${pr.baseRef}` : `refs/pull/${pr.number}/merge`
    return str(env.GITHUB_REF) ?? fallback
  }
  if (eventName === 'merge_group') return str(payload?.merge_group?.head_ref) ?? str(env.GITHUB_REF) ?? ''
  // push and workflow_dispatch carry `ref`; schedule and most others only have GITHUB_REF.
  return str(payload?.ref) ?? str(env.GITHUB_REF) ?? ''
}

function eventSha(eventName: string, payload: Payload, env: RunnerEnv, pr?: PullRequestInfo): string {
  // On pull requests the image is of the PR head, never of GITHUB_SHA (the merge commit).
  if (pr) return pr.headSha
  if (eventName === 'merge_group') return str(payload?.merge_group?.head_sha) ?? str(env.GITHUB_SHA) ?? ''
  if (eventName === 'push') {
    // A deleted branch has `after` zeros: name the last commit it had.
    if (!isZero(payload?.after)) return payload.after
    if (!isZero(payload?.before)) return payload.before
  }
  return str(env.GITHUB_SHA) ?? str(payload?.after) ?? ''
}

function refName(ref: string, prefix: string): string | undefined {
  return ref.startsWith(prefix) ? ref.slice(prefix.length) : undefined
}

/** What the run is about. `now` is the run's start time, for {date} and {timestamp}. */
export function readEvent(eventName: string, payload: Payload, env: RunnerEnv, now: Date): EventContext {
  checkPayload(eventName, payload, env)
  const pr = PULL_EVENTS.has(eventName) ? pullRequest(payload) : undefined
  const ref = eventRef(eventName, payload, env, pr)
  const branch = pr ? pr.headRef || str(env.GITHUB_HEAD_REF) : refName(ref, 'refs/heads/')
  const tag = pr ? undefined : refName(ref, 'refs/tags/')
  const defaultBranch =
    str(payload?.repository?.default_branch) ??
    str(env.GITHUB_DEFAULT_BRANCH) ??
    (eventName === 'schedule' ? branch : undefined) ??
    'main'
  const ctx: EventContext = {
    eventName,
    ...ownerRepo(payload, env),
    ref,
    sha: eventSha(eventName, payload, env, pr),
    defaultBranch,
    isDefaultBranch: !pr && STABLE_EVENTS.has(eventName) && branch !== undefined && branch === defaultBranch,
    time: now
  }
  if (branch !== undefined) ctx.branch = branch
  if (tag !== undefined) ctx.tag = tag
  if (pr) ctx.pr = pr
  return ctx
}

/**
 * Which commits to compare (SPEC 3).
 *
 * New branch vs first push: a push payload's commits carry no parent ids, so the payload cannot
 * show that a commit has no parent. The rule: `before` is zeros (or `created`) and the pushed branch
 * IS the default branch → the repository's first push (a default branch is only created once, with
 * the repository); any other new branch → compare with the default branch.
 */
export function diffRange(eventName: string, payload: Payload, ctx: EventContext): DiffRange {
  if (PULL_EVENTS.has(eventName)) {
    const pr = ctx.pr
    if (!pr || !pr.baseSha || !pr.headSha)
      return { kind: 'none', why: `the ${eventName} payload has no pull_request base and head commits` }
    const range: DiffRange = { kind: 'pull', number: pr.number, base: pr.baseSha, head: pr.headSha }
    if (pr.changedFiles !== undefined) range.expectedCount = pr.changedFiles
    return range
  }
  if (eventName === 'merge_group') {
    const mg = payload?.merge_group
    if (isZero(mg?.base_sha) || isZero(mg?.head_sha))
      return { kind: 'none', why: 'the merge_group payload has no base_sha and head_sha' }
    return { kind: 'compare', base: mg.base_sha, head: mg.head_sha }
  }
  if (eventName === 'push') {
    if (payload?.deleted === true || (isZero(payload?.after) && !isZero(payload?.before)))
      return { kind: 'deleted' }
    if (ctx.tag !== undefined) return { kind: 'none', why: `push of tag ${ctx.tag} has no diff` }
    const head = String(payload?.after ?? ctx.sha)
    if (isZero(payload?.before) || payload?.created === true) {
      if (ctx.branch === ctx.defaultBranch) return { kind: 'first-push', head }
      return { kind: 'new-branch', defaultBranch: ctx.defaultBranch, head }
    }
    if (payload?.forced === true) return { kind: 'forced', base: payload.before, head }
    return { kind: 'compare', base: payload.before, head }
  }
  if (eventName === 'workflow_dispatch' || eventName === 'schedule')
    return { kind: 'none', why: `${eventName} has no diff` }
  return { kind: 'none', why: `event ${eventName} has no diff` }
}

function short(sha: string): string {
  return sha.slice(0, 7)
}

/** One line for the plan log: `pull request #42: abc1234…def5678`. */
export function describeRange(range: DiffRange): string {
  switch (range.kind) {
    case 'pull':
      return `pull request #${range.number}: ${short(range.base)}…${short(range.head)}`
    case 'compare':
      return `${short(range.base)}…${short(range.head)}`
    case 'forced':
      return `forced push: ${short(range.base)}…${short(range.head)}, both ways`
    case 'new-branch':
      return `new branch: ${range.defaultBranch}…${short(range.head)}`
    case 'first-push':
      return `first push: every file of ${short(range.head)}`
    case 'deleted':
      return 'branch deleted: nothing to build'
    case 'none':
      return `no diff: ${range.why}; only force, always and missing stable tags decide`
  }
}

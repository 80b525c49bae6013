// The event payload fields Strata reads, checked before any is used (issue 13 item 6): a wrongly
// typed field must not be read as "branch deleted", "first push" or `pr-nan`, and a non-hex sha
// must not reach a tag. The error names the field, what it held and what it should be. Pure.
import type { RunnerEnv } from './types.js'

export class EventPayloadError extends Error {
  constructor(eventName: string, field: string, got: unknown, expected: string) {
    super(
      `the ${eventName || 'event'} payload is not valid: ${field} is ${shown(got)}, expected ${expected} ` +
        '(check the event file: GITHUB_EVENT_PATH, or the CLI’s --event-file)'
    )
    this.name = 'EventPayloadError'
  }
}

const SHA = /^(?:[0-9a-f]{40}|[0-9a-f]{64})$/
const SHA_TEXT = 'a commit sha (40 or 64 lower-case hex digits)'
const PULL_EVENTS = new Set(['pull_request', 'pull_request_target'])

type Obj = Record<string, unknown>

function isObject(v: unknown): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v)
}

/** What a bad value was, short: `123 (a number)`, `"abc" (a string)`, `null`, `missing`. */
function shown(v: unknown): string {
  if (v === undefined) return 'missing'
  if (v === null) return 'null'
  if (Array.isArray(v)) return 'a list'
  if (typeof v === 'object') return 'an object'
  const text = JSON.stringify(v)
  const cut = text.length > 60 ? `${text.slice(0, 60)}…` : text
  return `${cut} (a ${typeof v})`
}

/**
 * `owner/name` (they go into API paths): letters, digits, `.`, `_` and `-` on each side of one `/`,
 * neither side `.` or `..`.
 */
function fullName(v: unknown): boolean {
  if (typeof v !== 'string' || !/^[A-Za-z0-9._-]+\/[A-Za-z0-9._-]+$/.test(v)) return false
  return v.split('/').every(part => part !== '.' && part !== '..')
}

/** Throws where a field is not as expected; `optional` accepts a missing field. */
interface Check {
  fail(field: string, got: unknown, expected: string): never
  required(obj: Obj, key: string, at: string, ok: (v: unknown) => boolean, expected: string): void
  optional(obj: Obj, key: string, at: string, ok: (v: unknown) => boolean, expected: string): void
}

const text = (v: unknown): boolean => typeof v === 'string' && v !== ''
const sha = (v: unknown): boolean => typeof v === 'string' && SHA.test(v)
const bool = (v: unknown): boolean => typeof v === 'boolean'
const ref = (v: unknown): boolean => typeof v === 'string' && v.startsWith('refs/') && !/[\s\p{Cc}]/u.test(v)

/** Checks the payload (and the runner's GITHUB_SHA) for `eventName`; throws EventPayloadError. */
export function checkPayload(eventName: string, payload: unknown, env: RunnerEnv = {}): void {
  const c: Check = {
    fail: (field, got, expected) => {
      throw new EventPayloadError(eventName, field, got, expected)
    },
    required: (obj, key, at, ok, expected) => {
      if (!ok(obj[key])) c.fail(`"${at}"`, obj[key], expected)
    },
    optional: (obj, key, at, ok, expected) => {
      if (obj[key] !== undefined && !ok(obj[key])) c.fail(`"${at}"`, obj[key], expected)
    }
  }
  if (!isObject(payload)) c.fail('the payload', payload, 'a JSON object')
  const p = payload as Obj
  checkRunner(env, c)
  if (p.repository !== undefined && p.repository !== null) {
    if (!isObject(p.repository)) c.fail('"repository"', p.repository, 'an object')
    const r = p.repository as Obj
    c.optional(r, 'full_name', 'repository.full_name', fullName, 'owner/name')
    c.optional(r, 'default_branch', 'repository.default_branch', text, 'a branch name')
  }
  if (eventName === 'push') {
    c.required(p, 'ref', 'ref', ref, 'a full ref such as refs/heads/main')
    c.required(p, 'before', 'before', sha, SHA_TEXT)
    c.required(p, 'after', 'after', sha, SHA_TEXT)
    for (const key of ['created', 'deleted', 'forced']) c.optional(p, key, key, bool, 'true or false')
  } else if (PULL_EVENTS.has(eventName)) checkPullRequest(p, c)
  else if (eventName === 'merge_group') {
    if (!isObject(p.merge_group)) c.fail('"merge_group"', p.merge_group, 'an object')
    const mg = p.merge_group as Obj
    c.required(mg, 'head_sha', 'merge_group.head_sha', sha, SHA_TEXT)
    c.required(mg, 'base_sha', 'merge_group.base_sha', sha, SHA_TEXT)
    c.optional(mg, 'head_ref', 'merge_group.head_ref', ref, 'a full ref')
  } else if (eventName === 'workflow_dispatch') {
    c.optional(p, 'ref', 'ref', ref, 'a full ref such as refs/heads/main')
  } else {
    // Other events' `ref` may be short (create, delete); only its type is known.
    c.optional(p, 'ref', 'ref', v => typeof v === 'string', 'a string')
  }
}

/** The runner's GITHUB_SHA and GITHUB_REPOSITORY, when set. */
function checkRunner(env: RunnerEnv, c: Check): void {
  if (env.GITHUB_SHA !== undefined && env.GITHUB_SHA !== '' && !SHA.test(env.GITHUB_SHA))
    c.fail('GITHUB_SHA', env.GITHUB_SHA, SHA_TEXT)
  if (env.GITHUB_REPOSITORY !== undefined && env.GITHUB_REPOSITORY !== '' && !fullName(env.GITHUB_REPOSITORY))
    c.fail('GITHUB_REPOSITORY', env.GITHUB_REPOSITORY, 'owner/name')
}

/** A pull request event's `pull_request`: absent, the event has no diff (decided as such); else whole. */
function checkPullRequest(p: Obj, c: Check): void {
  if (p.pull_request === undefined) return
  if (!isObject(p.pull_request)) c.fail('"pull_request"', p.pull_request, 'an object')
  const pr = p.pull_request as Obj
  const number = pr.number !== undefined ? pr.number : p.number
  if (!(typeof number === 'number' && Number.isInteger(number) && number > 0))
    c.fail('"pull_request.number"', number, 'a pull request number (a whole number, 1 or more)')
  c.optional(
    pr,
    'changed_files',
    'pull_request.changed_files',
    v => Number.isInteger(v) && (v as number) >= 0,
    'a count'
  )
  for (const side of ['head', 'base']) {
    if (!isObject(pr[side])) c.fail(`"pull_request.${side}"`, pr[side], 'an object with sha and ref')
    const s = pr[side] as Obj
    c.required(s, 'sha', `pull_request.${side}.sha`, sha, SHA_TEXT)
    c.required(s, 'ref', `pull_request.${side}.ref`, text, 'a branch name')
    // A deleted fork has `head.repo: null`.
    if (s.repo !== undefined && s.repo !== null && !isObject(s.repo))
      c.fail(`"pull_request.${side}.repo"`, s.repo, 'an object or null')
    if (isObject(s.repo))
      c.optional(s.repo, 'full_name', `pull_request.${side}.repo.full_name`, fullName, 'owner/name')
  }
}

/**
 * A pull request event must carry its pull request (a step that builds or pushes acts on it): without
 * one, or with an empty one, it cannot be told from a push and would push as if not from a fork.
 */
export function requirePullRequest(eventName: string, payload: unknown): void {
  if (!PULL_EVENTS.has(eventName)) return
  const pr = isObject(payload) ? payload.pull_request : undefined
  if (!isObject(pr) || Object.keys(pr).length === 0)
    throw new EventPayloadError(
      eventName,
      '"pull_request"',
      pr,
      'the pull request object that GitHub sends with every pull request event'
    )
}

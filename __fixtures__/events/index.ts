// Event payload fixtures shaped like GitHub's webhook payloads, each with the runner env it came with
// (env.json), as docker/metadata-action keeps them. Tests that need real commits (a git repo made in
// the test) replace the shas with `overrides`.
import { readFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import type { RunnerEnv } from '../../src/core/event.js'

const here = dirname(fileURLToPath(import.meta.url))

export const EVENT_FIXTURES = [
  'push',
  'push-forced',
  'push-new-branch',
  'push-first',
  'push-deleted',
  'push-tag-semver',
  'push-tag-prerelease',
  'push-tag-other',
  'push-other-branch',
  'pull_request',
  'pull_request-fork',
  'pull_request_target',
  'merge_group',
  'workflow_dispatch',
  'schedule'
] as const
export type EventFixture = (typeof EVENT_FIXTURES)[number]

/**
 * `base`: the older commit of the diff (push `before`, PR base, merge_group base_sha).
 * `head`: the newer one (push `after`, PR head, merge_group head_sha, GITHUB_SHA of dispatch/schedule).
 * `before`/`after` are aliases of base/head; `merge` is a PR's merge commit (GITHUB_SHA on pull_request).
 */
export interface EventOverrides {
  base?: string
  head?: string
  before?: string
  after?: string
  merge?: string
  /** repository.default_branch (and the branch that a default-branch fixture pushes to). */
  defaultBranch?: string
}

export interface LoadedEvent {
  eventName: string
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  payload: any
  env: RunnerEnv
}

export function loadEvent(name: EventFixture, overrides: EventOverrides = {}): LoadedEvent {
  const payload = JSON.parse(readFileSync(join(here, `${name}.json`), 'utf8'))
  const envs = JSON.parse(readFileSync(join(here, 'env.json'), 'utf8')) as Record<string, RunnerEnv>
  const env = { ...envs[name] }
  const eventName = env.GITHUB_EVENT_NAME ?? name
  const base = overrides.base ?? overrides.before
  const head = overrides.head ?? overrides.after

  if (eventName === 'push') {
    if (base) payload.before = base
    if (head && !payload.deleted) {
      payload.after = head
      if (payload.head_commit) payload.head_commit.id = head
      const last = payload.commits?.[payload.commits.length - 1]
      if (last) last.id = head
      env.GITHUB_SHA = head
    }
  } else if (payload.pull_request) {
    if (base) payload.pull_request.base.sha = base
    if (head) payload.pull_request.head.sha = head
    if (overrides.merge) {
      payload.pull_request.merge_commit_sha = overrides.merge
      if (eventName === 'pull_request') env.GITHUB_SHA = overrides.merge
    }
    // pull_request_target runs on the base branch: GITHUB_SHA is its last commit.
    if (base && eventName === 'pull_request_target') env.GITHUB_SHA = base
  } else if (payload.merge_group) {
    if (base) payload.merge_group.base_sha = base
    if (head) {
      payload.merge_group.head_sha = head
      payload.merge_group.head_commit.id = head
      env.GITHUB_SHA = head
    }
  } else if (head) {
    env.GITHUB_SHA = head
  }

  const def = overrides.defaultBranch
  if (def) {
    if (payload.repository) payload.repository.default_branch = def
    if (payload.repository?.master_branch) payload.repository.master_branch = def
    if (payload.pull_request) {
      payload.pull_request.base.ref = def
      payload.pull_request.base.repo.default_branch = def
      payload.pull_request.head.repo.default_branch = def
      env.GITHUB_BASE_REF = def
    }
    // Fixtures that run on `main` run on the new default branch instead.
    const onMain = (ref: string | undefined) => (ref === 'refs/heads/main' ? `refs/heads/${def}` : ref)
    if (typeof payload.ref === 'string') payload.ref = onMain(payload.ref)
    env.GITHUB_REF = onMain(env.GITHUB_REF)
  }
  return { eventName, payload, env }
}

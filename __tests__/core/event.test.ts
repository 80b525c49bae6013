import { describeRange, diffRange, readEvent } from '../../src/core/event.js'
import type { DiffRange, EventContext } from '../../src/core/types.js'
import { EVENT_FIXTURES, loadEvent } from '../../__fixtures__/events/index.js'
import type { EventFixture } from '../../__fixtures__/events/index.js'

const NOW = new Date('2024-05-01T03:04:05Z')
const MAIN_BASE = 'c88a3fdd46dca2eaed50f97ef7ccbbaa833addd4'
const QUEUE = 'gh-readonly-queue/main/pr-42-d3ebb8c2cb169bf557f452eb386d2b6de3e56c15'

function read(name: EventFixture): { ctx: EventContext; range: DiffRange } {
  const { eventName, payload, env } = loadEvent(name)
  const ctx = readEvent(eventName, payload, env, NOW)
  return { ctx, range: diffRange(eventName, payload, ctx) }
}

type Expected = Partial<Omit<EventContext, 'pr' | 'time'>>

// [fixture, expected context fields, expected range]
const cases: [EventFixture, Expected, DiffRange][] = [
  [
    'push',
    {
      ref: 'refs/heads/main',
      sha: 'd3ebb8c2cb169bf557f452eb386d2b6de3e56c15',
      branch: 'main',
      isDefaultBranch: true
    },
    {
      kind: 'compare',
      base: '01d8c4e4f33eaac2815c03ef7cbd7b77606143d3',
      head: 'd3ebb8c2cb169bf557f452eb386d2b6de3e56c15'
    }
  ],
  [
    'push-forced',
    { branch: 'feature/rebase-me', sha: '28e3fe70340839e351c37c99bfb0ddb66c59183f', isDefaultBranch: false },
    {
      kind: 'forced',
      base: '858a5a52c03f3173c43386ff5f5a2ff43c160412',
      head: '28e3fe70340839e351c37c99bfb0ddb66c59183f'
    }
  ],
  [
    'push-new-branch',
    { branch: 'fix/cache-key', isDefaultBranch: false },
    { kind: 'new-branch', defaultBranch: 'main', head: '7bb8b4baad5f6de663ef7cc423a0170495094020' }
  ],
  [
    'push-first',
    { branch: 'main', isDefaultBranch: true, sha: 'f409913d79fe712c930c3bfedf9e0f2a6add3c1a' },
    { kind: 'first-push', head: 'f409913d79fe712c930c3bfedf9e0f2a6add3c1a' }
  ],
  [
    'push-deleted',
    // after is zeros: the context names the branch's last commit
    { branch: 'old-feature', sha: '8c58317d65fe81e87f12075fb61f180fe1581f65', isDefaultBranch: false },
    { kind: 'deleted' }
  ],
  [
    'push-tag-semver',
    { ref: 'refs/tags/v1.2.3', tag: 'v1.2.3', branch: undefined, isDefaultBranch: false },
    { kind: 'none', why: 'push of tag v1.2.3 has no diff' }
  ],
  [
    'push-tag-prerelease',
    { tag: 'v2.0.0-rc.1', sha: '59f97d5c9888d3c9a28c1c099accb1feb575600c', isDefaultBranch: false },
    { kind: 'none', why: 'push of tag v2.0.0-rc.1 has no diff' }
  ],
  [
    'push-tag-other',
    { tag: 'release/2024.01-Final', branch: undefined, isDefaultBranch: false },
    { kind: 'none', why: 'push of tag release/2024.01-Final has no diff' }
  ],
  [
    'push-other-branch',
    { branch: 'feature/Login-Form', isDefaultBranch: false },
    {
      kind: 'compare',
      base: 'b56b779a3018fdd9a8448ec71881f71fcf7c55a9',
      head: '37e061a86ba301dcd01ba5cc7c373d90667b6feb'
    }
  ],
  [
    'pull_request',
    {
      ref: 'refs/pull/42/merge',
      sha: 'f6010f8792b5f4799a1e406c3f9f7e1a8ee140d5',
      branch: 'feature/tooling-sshd',
      tag: undefined,
      isDefaultBranch: false
    },
    {
      kind: 'pull',
      number: 42,
      base: MAIN_BASE,
      head: 'f6010f8792b5f4799a1e406c3f9f7e1a8ee140d5',
      expectedCount: 5
    }
  ],
  [
    'pull_request-fork',
    { sha: '9fc43450306eb3fcad46b24ae912dce2adabe17c', branch: 'patch-1', isDefaultBranch: false },
    {
      kind: 'pull',
      number: 43,
      base: MAIN_BASE,
      head: '9fc43450306eb3fcad46b24ae912dce2adabe17c',
      expectedCount: 2
    }
  ],
  [
    'pull_request_target',
    // runs on the base branch, but is about the PR head
    {
      ref: 'refs/heads/main',
      sha: '631f351f37a165faf1797e56b7c4b52ffa07f662',
      branch: 'add-arm64',
      isDefaultBranch: false
    },
    {
      kind: 'pull',
      number: 44,
      base: MAIN_BASE,
      head: '631f351f37a165faf1797e56b7c4b52ffa07f662',
      expectedCount: 3
    }
  ],
  [
    'merge_group',
    {
      ref: `refs/heads/${QUEUE}`,
      sha: 'a867508b11d9e3699640ca70aef00338fba8db7b',
      branch: QUEUE,
      isDefaultBranch: false
    },
    {
      kind: 'compare',
      base: 'd3ebb8c2cb169bf557f452eb386d2b6de3e56c15',
      head: 'a867508b11d9e3699640ca70aef00338fba8db7b'
    }
  ],
  [
    'workflow_dispatch',
    {
      ref: 'refs/heads/main',
      sha: 'd3ebb8c2cb169bf557f452eb386d2b6de3e56c15',
      branch: 'main',
      isDefaultBranch: true
    },
    { kind: 'none', why: 'workflow_dispatch has no diff' }
  ],
  [
    'schedule',
    // no repository in the payload: owner/repo from GITHUB_REPOSITORY, default branch = the schedule's branch
    {
      ref: 'refs/heads/main',
      sha: 'd3ebb8c2cb169bf557f452eb386d2b6de3e56c15',
      branch: 'main',
      isDefaultBranch: true
    },
    { kind: 'none', why: 'schedule has no diff' }
  ]
]

test('every fixture has a case', () => {
  expect(cases.map(c => c[0]).sort()).toEqual([...EVENT_FIXTURES].sort())
})

test.each(cases)('%s: context and diff range', (name, expected, range) => {
  const got = read(name)
  expect(got.ctx).toMatchObject({
    owner: 'acme',
    repo: 'sindri',
    defaultBranch: 'main',
    eventName: loadEvent(name).eventName,
    time: NOW
  })
  for (const [key, value] of Object.entries(expected))
    expect([key, got.ctx[key as keyof EventContext]]).toEqual([key, value])
  expect(got.range).toEqual(range)
})

test.each<[EventFixture, number, string, boolean, number]>([
  ['pull_request', 42, 'feature/tooling-sshd', false, 5],
  ['pull_request-fork', 43, 'patch-1', true, 2],
  ['pull_request_target', 44, 'add-arm64', true, 3]
])('%s: pull request #%d from %s, fork %s', (name, number, headRef, fork, changedFiles) => {
  const { ctx } = read(name)
  expect(ctx.pr).toEqual({
    number,
    headSha: loadEvent(name).payload.pull_request.head.sha,
    headRef,
    baseSha: MAIN_BASE,
    baseRef: 'main',
    fork,
    changedFiles
  })
})

test('on a pull request the sha is the PR head, not the merge commit (GITHUB_SHA)', () => {
  const { eventName, payload, env } = loadEvent('pull_request', {
    base: '1111111111111111111111111111111111111111',
    head: '2222222222222222222222222222222222222222',
    merge: '3333333333333333333333333333333333333333'
  })
  expect(env.GITHUB_SHA).toBe('3333333333333333333333333333333333333333')
  const ctx = readEvent(eventName, payload, env, NOW)
  expect(ctx.sha).toBe('2222222222222222222222222222222222222222')
  expect(diffRange(eventName, payload, ctx)).toMatchObject({
    base: '1111111111111111111111111111111111111111',
    head: '2222222222222222222222222222222222222222'
  })
})

test('a pull request whose fork was deleted (head.repo null) is a fork', () => {
  const { eventName, payload, env } = loadEvent('pull_request')
  payload.pull_request.head.repo = null
  expect(readEvent(eventName, payload, env, NOW).pr?.fork).toBe(true)
})

test('overrides replace the shas of every kind of fixture', () => {
  const a = 'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa'
  const b = 'bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb'
  const range = (name: EventFixture) => {
    const { eventName, payload, env } = loadEvent(name, { before: a, after: b })
    const ctx = readEvent(eventName, payload, env, NOW)
    return [ctx.sha, diffRange(eventName, payload, ctx)]
  }
  expect(range('push')).toEqual([b, { kind: 'compare', base: a, head: b }])
  expect(range('push-forced')).toEqual([b, { kind: 'forced', base: a, head: b }])
  expect(range('merge_group')).toEqual([b, { kind: 'compare', base: a, head: b }])
  expect(range('pull_request_target')).toEqual([
    b,
    { kind: 'pull', number: 44, base: a, head: b, expectedCount: 3 }
  ])
  expect(range('workflow_dispatch')).toEqual([b, { kind: 'none', why: 'workflow_dispatch has no diff' }])
})

test.each<[EventFixture, string, DiffRange['kind'], boolean]>([
  ['push-first', 'master', 'first-push', true],
  ['push-new-branch', 'develop', 'new-branch', false],
  ['push', 'trunk', 'compare', true]
])('%s with default branch %s → %s', (name, defaultBranch, kind, isDefault) => {
  const { eventName, payload, env } = loadEvent(name, { defaultBranch })
  const ctx = readEvent(eventName, payload, env, NOW)
  expect([ctx.defaultBranch, ctx.isDefaultBranch, diffRange(eventName, payload, ctx).kind]).toEqual([
    defaultBranch,
    isDefault,
    kind
  ])
})

test('a new branch is compared with the default branch the payload names', () => {
  const { eventName, payload, env } = loadEvent('push-new-branch', { defaultBranch: 'develop' })
  const ctx = readEvent(eventName, payload, env, NOW)
  expect(diffRange(eventName, payload, ctx)).toEqual({
    kind: 'new-branch',
    defaultBranch: 'develop',
    head: '7bb8b4baad5f6de663ef7cc423a0170495094020'
  })
})

test('schedule: GITHUB_DEFAULT_BRANCH, when given, names the default branch', () => {
  const { eventName, payload, env } = loadEvent('schedule')
  const ctx = readEvent(eventName, payload, { ...env, GITHUB_DEFAULT_BRANCH: 'trunk' }, NOW)
  expect([ctx.defaultBranch, ctx.isDefaultBranch]).toEqual(['trunk', false])
})

test('workflow_dispatch on another branch is not the default branch', () => {
  const { eventName, payload, env } = loadEvent('workflow_dispatch')
  payload.ref = 'refs/heads/release/2.x'
  const ctx = readEvent(eventName, payload, { ...env, GITHUB_REF: 'refs/heads/release/2.x' }, NOW)
  expect([ctx.branch, ctx.isDefaultBranch]).toEqual(['release/2.x', false])
})

test('owner and repo come from GITHUB_REPOSITORY without a payload repository, else are empty', () => {
  const env = { GITHUB_REPOSITORY: 'Acme/Other', GITHUB_REF: 'refs/heads/main', GITHUB_SHA: 'f'.repeat(40) }
  expect(readEvent('repository_dispatch', {}, env, NOW)).toMatchObject({ owner: 'Acme', repo: 'Other' })
  expect(readEvent('repository_dispatch', {}, {}, NOW)).toMatchObject({ owner: '', repo: '', sha: '' })
})

test.each<[string, object]>([
  ['release', { action: 'published', release: { tag_name: 'v1.0.0' } }],
  ['issue_comment', { action: 'created' }],
  ['repository_dispatch', { action: 'deploy' }]
])('%s has no diff, with a reason', (eventName, payload) => {
  const env = { GITHUB_REPOSITORY: 'acme/sindri', GITHUB_REF: 'refs/heads/main', GITHUB_SHA: 'e'.repeat(40) }
  const ctx = readEvent(eventName, payload, env, NOW)
  expect(diffRange(eventName, payload, ctx)).toEqual({ kind: 'none', why: `event ${eventName} has no diff` })
})

test('a pull_request payload without base and head commits has no diff', () => {
  const ctx = readEvent('pull_request', {}, { GITHUB_REF: 'refs/pull/1/merge' }, NOW)
  expect(diffRange('pull_request', {}, ctx)).toEqual({
    kind: 'none',
    why: 'the pull_request payload has no pull_request base and head commits'
  })
})

test.each<{ range: DiffRange; text: string }>([
  {
    range: { kind: 'pull', number: 42, base: MAIN_BASE, head: 'f6010f8792b5f4799a1e406c3f9f7e1a8ee140d5' },
    text: 'pull request #42: c88a3fd…f6010f8'
  },
  { range: { kind: 'compare', base: 'a'.repeat(40), head: 'b'.repeat(40) }, text: 'aaaaaaa…bbbbbbb' },
  {
    range: { kind: 'forced', base: 'a'.repeat(40), head: 'b'.repeat(40) },
    text: 'forced push: aaaaaaa…bbbbbbb, both ways'
  },
  {
    range: { kind: 'new-branch', defaultBranch: 'main', head: 'b'.repeat(40) },
    text: 'new branch: main…bbbbbbb'
  },
  { range: { kind: 'first-push', head: 'b'.repeat(40) }, text: 'first push: every file of bbbbbbb' },
  { range: { kind: 'deleted' }, text: 'branch deleted: nothing to build' },
  {
    range: { kind: 'none', why: 'schedule has no diff' },
    text: 'no diff: schedule has no diff; only force, always and missing stable tags decide'
  }
])('describeRange → $text', ({ range, text }) => {
  expect(describeRange(range)).toBe(text)
})

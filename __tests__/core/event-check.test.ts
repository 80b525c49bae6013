// Hostile and careless event payloads (issue 13 item 6): every mutation of a real-shaped fixture is
// either read as before or refused with an error that names the wrong field — never "branch deleted",
// "first push", `pr-nan` or a non-hex sha in a tag.
import { describe, expect, test } from '@jest/globals'
import { EVENT_FIXTURES, loadEvent } from '../../__fixtures__/events/index.js'
import type { EventFixture } from '../../__fixtures__/events/index.js'
import { EventPayloadError } from '../../src/core/event-check.js'
import { diffRange, readEvent } from '../../src/core/event.js'

const NOW = new Date('2024-05-01T03:04:05Z')

/** The fixture with `path` (dotted) set to `value`; `undefined` deletes it. */
function mutated(
  name: EventFixture,
  path: string,
  value: unknown
): { eventName: string; payload: unknown; env: object } {
  const { eventName, payload, env } = loadEvent(name)
  const keys = path.split('.')
  let obj = payload as Record<string, unknown>
  for (const k of keys.slice(0, -1)) obj = obj[k] as Record<string, unknown>
  if (value === undefined) delete obj[keys.at(-1)!]
  else obj[keys.at(-1)!] = value
  return { eventName, payload, env }
}

const NOT_SHAS: [string, unknown][] = [
  ['a number', 123],
  ['an empty string', ''],
  ['short hex', 'abc1234'],
  ['upper-case hex', 'D3EBB8C2CB169BF557F452EB386D2B6DE3E56C15'],
  ['a tag-like name', 'v1.2.3-and-more-text-to-make-forty-chars!'],
  ['a hostile tag', '::error::xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx'],
  ['a list', ['d3ebb8c2cb169bf557f452eb386d2b6de3e56c15']],
  ['an object', { sha: 'd3ebb8c2cb169bf557f452eb386d2b6de3e56c15' }],
  ['true', true],
  ['null', null],
  ['41 hex digits', 'a'.repeat(41)],
  ['hex with a newline', `${'a'.repeat(39)}\n`]
]

// [fixture, field (dotted), what the error names]
const SHA_FIELDS: [EventFixture, string, string][] = [
  ['push', 'before', '"before"'],
  ['push', 'after', '"after"'],
  ['push-forced', 'after', '"after"'],
  ['push-tag-semver', 'after', '"after"'],
  ['pull_request', 'pull_request.head.sha', '"pull_request.head.sha"'],
  ['pull_request', 'pull_request.base.sha', '"pull_request.base.sha"'],
  ['pull_request_target', 'pull_request.head.sha', '"pull_request.head.sha"'],
  ['pull_request-fork', 'pull_request.base.sha', '"pull_request.base.sha"'],
  ['merge_group', 'merge_group.head_sha', '"merge_group.head_sha"'],
  ['merge_group', 'merge_group.base_sha', '"merge_group.base_sha"']
]

describe('a field that should be a commit sha', () => {
  test.each(
    SHA_FIELDS.flatMap(([f, field, named]) =>
      NOT_SHAS.map(([what, v]) => [f, field, what, v, named] as const)
    )
  )('%s: %s as %s is refused, naming %s', (fixture, field, _what, value, named) => {
    const { eventName, payload, env } = mutated(fixture, field, value)
    const read = (): unknown => readEvent(eventName, payload, env, NOW)
    expect(read).toThrow(EventPayloadError)
    expect(read).toThrow(`the ${eventName} payload is not valid: ${named} is `)
    expect(read).toThrow(/expected a commit sha \(40 or 64 lower-case hex digits\)/)
  })
})

// [fixture, field, value, the message's start after "is "]
const OTHER_FIELDS: [EventFixture, string, unknown, string][] = [
  ['push', 'ref', undefined, '"ref" is missing, expected a full ref'],
  ['push', 'ref', 123, '"ref" is 123 (a number), expected a full ref'],
  ['push', 'ref', 'main', '"ref" is "main" (a string), expected a full ref'],
  ['push', 'ref', 'refs/heads/a\nb', '"ref" is "refs/heads/a\\nb" (a string), expected a full ref'],
  ['push', 'before', undefined, '"before" is missing, expected a commit sha'],
  ['push', 'after', undefined, '"after" is missing, expected a commit sha'],
  ['push', 'deleted', 'false', '"deleted" is "false" (a string), expected true or false'],
  ['push', 'deleted', 1, '"deleted" is 1 (a number), expected true or false'],
  ['push', 'created', 'yes', '"created" is "yes" (a string), expected true or false'],
  ['push', 'forced', null, '"forced" is null, expected true or false'],
  ['push', 'repository', 'acme/sindri', '"repository" is "acme/sindri" (a string), expected an object'],
  ['push', 'repository.full_name', 42, '"repository.full_name" is 42 (a number), expected owner/name'],
  [
    'push',
    'repository.full_name',
    'no-slash',
    '"repository.full_name" is "no-slash" (a string), expected owner/name'
  ],
  [
    'push',
    'repository.default_branch',
    '',
    '"repository.default_branch" is "" (a string), expected a branch name'
  ],
  [
    'push',
    'repository.default_branch',
    ['main'],
    '"repository.default_branch" is a list, expected a branch name'
  ],
  [
    'pull_request',
    'pull_request.number',
    undefined,
    '"pull_request.number" is missing, expected a pull request number'
  ],
  [
    'pull_request',
    'pull_request.number',
    '42',
    '"pull_request.number" is "42" (a string), expected a pull request number'
  ],
  [
    'pull_request',
    'pull_request.number',
    0,
    '"pull_request.number" is 0 (a number), expected a pull request number'
  ],
  [
    'pull_request',
    'pull_request.number',
    -3,
    '"pull_request.number" is -3 (a number), expected a pull request number'
  ],
  [
    'pull_request',
    'pull_request.number',
    1.5,
    '"pull_request.number" is 1.5 (a number), expected a pull request number'
  ],
  [
    'pull_request',
    'pull_request.number',
    null,
    '"pull_request.number" is null, expected a pull request number'
  ],
  ['pull_request', 'pull_request', 'x', '"pull_request" is "x" (a string), expected an object'],
  ['pull_request', 'pull_request', null, '"pull_request" is null, expected an object'],
  [
    'pull_request',
    'pull_request.head',
    undefined,
    '"pull_request.head" is missing, expected an object with sha and ref'
  ],
  [
    'pull_request',
    'pull_request.base',
    [],
    '"pull_request.base" is a list, expected an object with sha and ref'
  ],
  [
    'pull_request',
    'pull_request.head.ref',
    '',
    '"pull_request.head.ref" is "" (a string), expected a branch name'
  ],
  [
    'pull_request',
    'pull_request.head.ref',
    7,
    '"pull_request.head.ref" is 7 (a number), expected a branch name'
  ],
  [
    'pull_request',
    'pull_request.base.ref',
    undefined,
    '"pull_request.base.ref" is missing, expected a branch name'
  ],
  [
    'pull_request',
    'pull_request.head.repo',
    'fork',
    '"pull_request.head.repo" is "fork" (a string), expected an object or null'
  ],
  [
    'pull_request',
    'pull_request.changed_files',
    '3',
    '"pull_request.changed_files" is "3" (a string), expected a count'
  ],
  [
    'pull_request',
    'pull_request.changed_files',
    -1,
    '"pull_request.changed_files" is -1 (a number), expected a count'
  ],
  [
    'pull_request_target',
    'pull_request.number',
    'abc',
    '"pull_request.number" is "abc" (a string), expected a pull request number'
  ],
  ['merge_group', 'merge_group', undefined, '"merge_group" is missing, expected an object'],
  ['merge_group', 'merge_group', 5, '"merge_group" is 5 (a number), expected an object'],
  [
    'merge_group',
    'merge_group.head_ref',
    'main',
    '"merge_group.head_ref" is "main" (a string), expected a full ref'
  ],
  ['workflow_dispatch', 'ref', 'main', '"ref" is "main" (a string), expected a full ref'],
  ['workflow_dispatch', 'ref', false, '"ref" is false (a boolean), expected a full ref']
]

describe('a wrongly typed or missing field', () => {
  test.each(OTHER_FIELDS)('%s: %s = %j is refused', (fixture, field, value, message) => {
    const { eventName, payload, env } = mutated(fixture, field, value)
    // A pull request's number may also be the payload's own `number`: take both away.
    if (field === 'pull_request.number') delete (payload as { number?: number }).number
    expect(() => readEvent(eventName, payload, env, NOW)).toThrow(
      `the ${eventName} payload is not valid: ${message}`
    )
  })
})

const NOT_OBJECTS: unknown[] = [null, [], 'push', 123, true, [{ ref: 'refs/heads/main' }]]

describe('a payload that is not an object', () => {
  test.each(
    ['push', 'pull_request', 'merge_group', 'workflow_dispatch', 'schedule', 'release'].flatMap(e =>
      NOT_OBJECTS.map(p => [e, p] as const)
    )
  )('%s with %j is refused, not a TypeError', (eventName, payload) => {
    expect(() => readEvent(eventName, payload, {}, NOW)).toThrow(
      `the ${eventName} payload is not valid: the payload is `
    )
  })
})

test.each([
  ['{}', {}],
  ['before as a number', { ref: 'refs/heads/main', before: 123, after: 'a'.repeat(40) }],
  ['after as a number', { ref: 'refs/heads/main', before: 'a'.repeat(40), after: 5 }],
  ['no ref', { before: 'a'.repeat(40), after: 'b'.repeat(40) }]
])('a push payload %s is never read as a first push or a deleted branch', (_what, payload) => {
  expect(() => readEvent('push', payload, { GITHUB_REF: 'refs/heads/main' }, NOW)).toThrow(EventPayloadError)
})

test.each(['abc', 'HEAD', '::error::x', 'g'.repeat(40), 'A'.repeat(40)])('GITHUB_SHA %j is refused', sha => {
  const { eventName, payload, env } = loadEvent('schedule')
  expect(() => readEvent(eventName, payload, { ...env, GITHUB_SHA: sha }, NOW)).toThrow(
    `the schedule payload is not valid: GITHUB_SHA is ${JSON.stringify(sha)} (a string), expected a commit sha`
  )
})

test.each([...EVENT_FIXTURES])('fixture %s is valid as it is', name => {
  const { eventName, payload, env } = loadEvent(name)
  const ctx = readEvent(eventName, payload, env, NOW)
  expect(ctx.sha).toMatch(/^[0-9a-f]{40}$/)
  expect(() => diffRange(eventName, payload, ctx)).not.toThrow()
})

test('a deleted fork (head.repo null) and a 64-digit sha are still read', () => {
  const { eventName, payload, env } = mutated('pull_request', 'pull_request.head.repo', null)
  ;(payload as { pull_request: { head: { sha: string } } }).pull_request.head.sha = 'c'.repeat(64)
  const ctx = readEvent(eventName, payload, env, NOW)
  expect([ctx.pr?.fork, ctx.sha]).toEqual([true, 'c'.repeat(64)])
})

test.each([
  '../x',
  'acme/..',
  'acme/.',
  'a b/c',
  'acme/sindri/extra',
  'acme',
  'acme/sin dri',
  '::error::x/y',
  'acme/x%2F..'
])('repository %j is refused in the payload and in GITHUB_REPOSITORY', full => {
  const { eventName, payload, env } = mutated('push', 'repository.full_name', full)
  expect(() => readEvent(eventName, payload, env, NOW)).toThrow(
    `the push payload is not valid: "repository.full_name" is ${JSON.stringify(full)} (a string), expected owner/name`
  )
  const schedule = loadEvent('schedule')
  expect(() =>
    readEvent('schedule', schedule.payload, { ...schedule.env, GITHUB_REPOSITORY: full }, NOW)
  ).toThrow(
    `the schedule payload is not valid: GITHUB_REPOSITORY is ${JSON.stringify(full)} (a string), expected owner/name`
  )
})

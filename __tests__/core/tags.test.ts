import { layerTags, parseSemverTag, renderTemplate, sanitizeTag, tagVars } from '../../src/core/tags.js'
import { readEvent } from '../../src/core/event.js'
import type { EventContext, LayerTags } from '../../src/core/types.js'
import { EVENT_FIXTURES, loadEvent } from '../../__fixtures__/events/index.js'
import type { EventFixture } from '../../__fixtures__/events/index.js'
import { from, layer } from '../../__fixtures__/layers.js'

const NOW = new Date('2024-05-01T03:04:05Z')

function ctxOf(name: EventFixture, patch?: (payload: Record<string, unknown>) => void): EventContext {
  const { eventName, payload, env } = loadEvent(name)
  patch?.(payload)
  return readEvent(eventName, payload, env, NOW)
}

const APP = layer('app', { from: from('tooling'), always: true })
const TOOLING = layer('tooling', { from: from('base') })
const QUEUE = 'gh-readonly-queue-main-pr-42-d3ebb8c2cb169bf557f452eb386d2b6de3e56c15'

// [fixture, leaf app {versioned, moving}, layer with children `tooling` {versioned, moving}]
const cases: [EventFixture, Omit<LayerTags, 'stable'>, Omit<LayerTags, 'stable'>][] = [
  [
    'push',
    { versioned: ['main-d3ebb8c'], moving: ['latest'] },
    { versioned: ['tooling-d3ebb8c'], moving: ['tooling-stable'] }
  ],
  [
    'push-forced',
    { versioned: ['feature-rebase-me-28e3fe7'], moving: ['feature-rebase-me'] },
    { versioned: ['tooling-28e3fe7'], moving: [] }
  ],
  [
    'push-new-branch',
    { versioned: ['fix-cache-key-7bb8b4b'], moving: ['fix-cache-key'] },
    { versioned: ['tooling-7bb8b4b'], moving: [] }
  ],
  [
    'push-first',
    { versioned: ['main-f409913'], moving: ['latest'] },
    { versioned: ['tooling-f409913'], moving: ['tooling-stable'] }
  ],
  [
    'push-deleted',
    { versioned: ['old-feature-8c58317'], moving: ['old-feature'] },
    { versioned: ['tooling-8c58317'], moving: [] }
  ],
  [
    'push-tag-semver',
    { versioned: ['1.2.3'], moving: ['1.2', '1', 'latest'] },
    { versioned: ['tooling-748b3f6'], moving: [] }
  ],
  [
    'push-tag-prerelease',
    { versioned: ['2.0.0-rc.1'], moving: [] },
    { versioned: ['tooling-59f97d5'], moving: [] }
  ],
  [
    'push-tag-other',
    { versioned: ['release-2024.01-final'], moving: [] },
    { versioned: ['tooling-965bf12'], moving: [] }
  ],
  [
    'push-other-branch',
    { versioned: ['feature-login-form-37e061a'], moving: ['feature-login-form'] },
    { versioned: ['tooling-37e061a'], moving: [] }
  ],
  [
    'pull_request',
    { versioned: ['pr-42-f6010f8'], moving: ['pr-42'] },
    { versioned: ['tooling-pr-42-f6010f8'], moving: [] }
  ],
  [
    'pull_request-fork',
    { versioned: ['pr-43-9fc4345'], moving: ['pr-43'] },
    { versioned: ['tooling-pr-43-9fc4345'], moving: [] }
  ],
  [
    'pull_request_target',
    { versioned: ['pr-44-631f351'], moving: ['pr-44'] },
    { versioned: ['tooling-pr-44-631f351'], moving: [] }
  ],
  [
    'merge_group',
    { versioned: [`${QUEUE}-a867508`], moving: [] },
    { versioned: ['tooling-a867508'], moving: [] }
  ],
  [
    'workflow_dispatch',
    { versioned: ['main-d3ebb8c'], moving: ['latest'] },
    { versioned: ['tooling-d3ebb8c'], moving: ['tooling-stable'] }
  ],
  [
    'schedule',
    { versioned: ['nightly-20240501', 'main-d3ebb8c'], moving: ['latest'] },
    { versioned: ['tooling-d3ebb8c'], moving: ['tooling-stable'] }
  ]
]

test('every fixture has a case', () => {
  expect(cases.map(c => c[0]).sort()).toEqual([...EVENT_FIXTURES].sort())
})

test.each(cases)('%s: default tags of a leaf and of a layer with children', (name, leaf, parent) => {
  const ctx = ctxOf(name)
  expect(layerTags(APP, ctx, { isLeaf: true })).toEqual({ ...leaf, stable: 'latest' })
  expect(layerTags(TOOLING, ctx, { isLeaf: false })).toEqual({ ...parent, stable: 'tooling-stable' })
})

test.each<EventFixture>(['pull_request', 'pull_request-fork', 'pull_request_target'])(
  '%s: no stable tag moves, even when `tags` names it',
  name => {
    const ctx = ctxOf(name)
    const leaf = layerTags(layer('app', { tags: ['latest', 'pr-{pr}'] }), ctx, { isLeaf: true })
    const parent = layerTags(layer('base', { tags: ['{layer}-stable', '{layer}-{sha7}'] }), ctx, {
      isLeaf: false
    })
    expect([leaf.moving, parent.moving]).toEqual([[`pr-${ctx.pr?.number}`], []])
  }
)

test('on a pull request {sha} is the head commit and {branch} the head branch', () => {
  const ctx = ctxOf('pull_request')
  const tags = layerTags(layer('app', { tags: ['{branch}-{sha}'] }), ctx, { isLeaf: true })
  expect(tags.versioned).toEqual(['feature-tooling-sshd-f6010f8792b5f4799a1e406c3f9f7e1a8ee140d5'])
  expect(tags.versioned[0]).not.toContain(loadEvent('pull_request').env.GITHUB_SHA)
})

test.each<[string, string]>([
  ['Feature/Login Form', 'feature-login-form'],
  ['a__b..c-d', 'a__b..c-d'],
  ['..hidden', 'hidden'],
  ['-.-x', 'x'],
  ['a//b  c', 'a-b-c'],
  ['Überstraße/ß', 'berstra-e-'],
  ['v1.2.3+build.5', 'v1.2.3-build.5'],
  ['renovate/@types/node-20.x', 'renovate-types-node-20.x'],
  ['x'.repeat(128), 'x'.repeat(128)]
])('sanitizeTag(%j) = %j', (input, out) => {
  expect(sanitizeTag(input)).toBe(out)
})

test('a tag over 128 characters keeps 120, then - and 7 hex; two long branches never collide', () => {
  const common = 'feature/' + 'very-long-branch-name-'.repeat(6)
  const one = sanitizeTag(common + 'one')
  const two = sanitizeTag(common + 'two')
  expect(one).toMatch(/^[a-z0-9_.-]{120}-[0-9a-f]{7}$/)
  expect(two).toMatch(/^[a-z0-9_.-]{120}-[0-9a-f]{7}$/)
  expect(one.slice(0, 120)).toBe(two.slice(0, 120))
  expect(one).not.toBe(two)
  expect(sanitizeTag(common + 'one')).toBe(one) // stable across runs
  expect(sanitizeTag('x'.repeat(129))).toHaveLength(128)

  // through the default tags too: the leaf's {branch}-{sha7} and {branch} stay within 128
  const tagsOf = (branch: string) =>
    layerTags(
      APP,
      ctxOf('push-other-branch', p => (p.ref = `refs/heads/${branch}`)),
      { isLeaf: true }
    )
  const a = tagsOf(common + 'one')
  const b = tagsOf(common + 'two')
  for (const t of [...a.versioned, ...a.moving, ...b.versioned, ...b.moving])
    expect(t.length).toBeLessThanOrEqual(128)
  expect(a.versioned).not.toEqual(b.versioned)
  expect(a.moving).not.toEqual(b.moving)
})

test.each<[string, ReturnType<typeof parseSemverTag>]>([
  ['v1.2.3', { version: '1.2.3', major: '1', minor: '2', patch: '3', prerelease: false }],
  ['1.2.3', { version: '1.2.3', major: '1', minor: '2', patch: '3', prerelease: false }],
  ['v10.20.30-rc.1', { version: '10.20.30-rc.1', major: '10', minor: '20', patch: '30', prerelease: true }],
  ['v1.2.3+build.5', { version: '1.2.3', major: '1', minor: '2', patch: '3', prerelease: false }],
  ['v1.2', undefined],
  ['v01.2.3', undefined],
  ['release-1.2.3', undefined]
])('parseSemverTag(%j)', (tag, parsed) => {
  expect(parseSemverTag(tag)).toEqual(parsed)
})

test.each<[string, string[], string[]]>([
  ['v1.2.3+build.5', ['1.2.3'], ['1.2', '1', 'latest']],
  ['v0.9.0', ['0.9.0'], ['0.9', '0', 'latest']],
  ['v3.0.0-beta.2', ['3.0.0-beta.2'], []],
  ['2024.01.15', ['2024.01.15'], []]
])('leaf tags of tag %s', (tag, versioned, moving) => {
  const ctx = ctxOf('push-tag-semver', p => (p.ref = `refs/tags/${tag}`))
  expect(layerTags(APP, ctx, { isLeaf: true })).toEqual({ versioned, moving, stable: 'latest' })
})

test('template variables of a run', () => {
  expect(tagVars(TOOLING, ctxOf('push-tag-semver'))).toEqual({
    layer: 'tooling',
    sha: '748b3f6a9508ca98044c59417965a109c9dc30a2',
    sha7: '748b3f6',
    date: '20240501',
    timestamp: '20240501-030405',
    version: '1.2.3',
    major: '1',
    minor: '2',
    patch: '3'
  })
  // a pre-release has {version} only, so a template such as {major}.{minor} never moves on it
  expect(tagVars(TOOLING, ctxOf('push-tag-prerelease'))).toMatchObject({ version: '2.0.0-rc.1' })
  expect(tagVars(TOOLING, ctxOf('push-tag-prerelease')).major).toBeUndefined()
  expect(tagVars(TOOLING, ctxOf('pull_request'))).toMatchObject({ pr: '42', branch: 'feature-tooling-sshd' })
})

test.each<[string, string | undefined]>([
  ['{layer}-{sha7}', 'tooling-d3ebb8c'],
  ['{branch}-{date}', 'main-20240501'],
  ['build-{timestamp}', 'build-20240501-030405'],
  ['plain', 'plain'],
  ['pr-{pr}', undefined],
  ['{version}', undefined]
])('renderTemplate(%j) on a push to main', (template, out) => {
  expect(renderTemplate(template, tagVars(TOOLING, ctxOf('push')))).toBe(out)
})

test('renderTemplate names an unknown variable and the known ones', () => {
  expect(() => renderTemplate('{layer}-{commit}', {})).toThrow(
    'tag template "{layer}-{commit}" has unknown variable {commit} (use {layer}, {sha}, {sha7}, {branch}, {pr}, {version}, {major}, {minor}, {patch}, {date}, {timestamp}, {inputs})'
  )
})

test('`tags` templates replace the defaults: versioned if they hold {sha} {sha7} {version} {date} {timestamp}', () => {
  const custom = layer('tooling', {
    tags: [
      '{layer}-{timestamp}',
      '{layer}-{branch}',
      'edge',
      'pr-{pr}',
      '{layer}-{version}',
      'Nightly/{date}'
    ]
  })
  expect(layerTags(custom, ctxOf('push'), { isLeaf: false })).toEqual({
    versioned: ['tooling-20240501-030405', 'nightly-20240501'],
    moving: ['tooling-main', 'edge', 'tooling-stable'],
    stable: 'tooling-stable'
  })
  expect(layerTags(custom, ctxOf('push-other-branch'), { isLeaf: false })).toEqual({
    versioned: ['tooling-20240501-030405', 'nightly-20240501'],
    moving: ['tooling-feature-login-form', 'edge'],
    stable: 'tooling-stable'
  })
  expect(layerTags(custom, ctxOf('push-tag-semver'), { isLeaf: false })).toEqual({
    versioned: ['tooling-20240501-030405', 'tooling-1.2.3', 'nightly-20240501'],
    moving: ['edge'],
    stable: 'tooling-stable'
  })
})

test('stable-tag replaces {layer}-stable and latest, and moves on the default branch only', () => {
  const app = layer('app', { stableTag: 'App-Current' })
  const base = layer('base', { stableTag: '{layer}-golden' })
  expect(layerTags(app, ctxOf('push'), { isLeaf: true })).toEqual({
    versioned: ['main-d3ebb8c'],
    moving: ['app-current'],
    stable: 'app-current'
  })
  expect(layerTags(base, ctxOf('schedule'), { isLeaf: false })).toEqual({
    versioned: ['base-d3ebb8c'],
    moving: ['base-golden'],
    stable: 'base-golden'
  })
  expect(layerTags(base, ctxOf('push-other-branch'), { isLeaf: false }).moving).toEqual([])
  expect(layerTags(base, ctxOf('pull_request'), { isLeaf: false })).toEqual({
    versioned: ['base-pr-42-f6010f8'],
    moving: [],
    stable: 'base-golden'
  })
})

test('a stable-tag with a variable the event lacks names the layer and the fix', () => {
  expect(() => layerTags(layer('base', { stableTag: 'pr-{pr}' }), ctxOf('push'), { isLeaf: false })).toThrow(
    'layer "base": stable-tag "pr-{pr}" uses a variable that has no value on push (use {layer} or {branch})'
  )
})

test('workflow_dispatch and schedule on another branch get that branch’s push tags, no stable tag', () => {
  const onDev = (p: Record<string, unknown>) => (p.ref = 'refs/heads/dev')
  const dispatch = ctxOf('workflow_dispatch', onDev)
  expect(layerTags(APP, dispatch, { isLeaf: true })).toEqual({
    versioned: ['dev-d3ebb8c'],
    moving: ['dev'],
    stable: 'latest'
  })
  expect(layerTags(TOOLING, dispatch, { isLeaf: false }).moving).toEqual([])

  const { eventName, payload, env } = loadEvent('schedule')
  const nightly = readEvent(
    eventName,
    payload,
    { ...env, GITHUB_REF: 'refs/heads/dev', GITHUB_DEFAULT_BRANCH: 'main' },
    NOW
  )
  expect(layerTags(APP, nightly, { isLeaf: true })).toEqual({
    versioned: ['nightly-20240501', 'dev-d3ebb8c'],
    moving: ['dev'],
    stable: 'latest'
  })
})

test('a ref that is neither a branch nor a tag gives the leaf sha-{sha7}', () => {
  const ctx = readEvent(
    'repository_dispatch',
    {},
    {
      GITHUB_REPOSITORY: 'acme/sindri',
      GITHUB_REF: '',
      GITHUB_SHA: 'abcdef0123456789abcdef0123456789abcdef01'
    },
    NOW
  )
  expect(layerTags(APP, ctx, { isLeaf: true })).toEqual({
    versioned: ['sha-abcdef0'],
    moving: [],
    stable: 'latest'
  })
})

test.each([
  ['release-{sha}', 'release--sha-'],
  ['build{oops}', 'build-oops-']
])('[%#] a pushed tag %s is a name, never a template', (tag, expected) => {
  const ctx = ctxOf('push-tag-other', p => void (p.ref = `refs/tags/${tag}`))
  expect(layerTags(APP, ctx, { isLeaf: true }).versioned).toEqual([expected])
})

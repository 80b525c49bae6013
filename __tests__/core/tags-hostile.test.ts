// Hostile and careless branch names, tags and templates (issue 13 items 7 and 8, SPEC 5): never a
// silently missing tag, never a tag over a layer's stable, versioned or cache tag, never an error
// that blames the config for a branch name.
import { describe, expect, test } from '@jest/globals'
import { loadEvent } from '../../__fixtures__/events/index.js'
import type { EventFixture } from '../../__fixtures__/events/index.js'
import { config, from, IMAGE, layer } from '../../__fixtures__/layers.js'
import { readEvent } from '../../src/core/event.js'
import { decide } from '../../src/core/plan.js'
import { branchTag, layerTags, parseSemverTag, TagTemplateError } from '../../src/core/tags.js'
import type { EventContext, LayerConfig, StrataConfig } from '../../src/core/types.js'

const NOW = new Date('2024-05-01T03:04:05Z')
// A docker tag: https://github.com/distribution/reference (tag grammar)
const DOCKER_TAG = /^[\w][\w.-]{0,127}$/

function ctxOf(name: EventFixture, patch: (payload: Record<string, unknown>) => void): EventContext {
  const { eventName, payload, env } = loadEvent(name)
  patch(payload)
  return readEvent(eventName, payload, env, NOW)
}
const onBranch = (b: string): EventContext => ctxOf('push-other-branch', p => (p.ref = `refs/heads/${b}`))
const SHA7 = onBranch('x').sha.slice(0, 7)

const THREE = config([
  layer('base'),
  layer('tooling', { from: from('base') }),
  layer('app', { from: from('tooling') })
])

function plan(cfg: StrataConfig, ctx: EventContext): ReturnType<typeof decide> {
  return decide({ config: cfg, ctx, changes: { source: 'none', files: [] }, force: [], stableExists: {} })
}

const BRANCHES = [
  '日本',
  '🚀',
  '日本/🚀',
  '---',
  '...',
  '.hidden',
  '-',
  '_',
  'a',
  'cache-app',
  'cache-base',
  'cache-tooling',
  'CACHE-Base',
  'cache-',
  'cache',
  'base',
  'tooling',
  'app',
  'Base',
  'TOOLING',
  'base-stable',
  'tooling-stable',
  'base-pr-1',
  `tooling-pr-42-${'a'.repeat(7)}`,
  `base-${'b'.repeat(7)}`,
  'base/feature',
  'base-image-update',
  'latest',
  'Latest',
  'feature/::error::x',
  '::add-mask::main',
  '%0A::warning::x',
  'a'.repeat(300),
  `${'日本'.repeat(100)}x`,
  'release/1.2',
  '1.2',
  '../../etc',
  'ünïcödé',
  'emoji-🚀-x',
  'pr-42',
  'nightly-20240501',
  'sha-abc1234'
]

describe('a push of a hostile branch name', () => {
  test.each(BRANCHES)('%j: every layer gets valid tags of its own', branch => {
    const p = plan(THREE, onBranch(branch))
    const refs = Object.values(p.layers).flatMap(d => [...d.tags, d.stable!])
    for (const [name, d] of Object.entries(p.layers)) {
      expect(d.tags.length).toBeGreaterThan(0)
      for (const ref of d.tags) {
        expect(ref.startsWith(`${IMAGE}:`)).toBe(true)
        expect(ref.slice(IMAGE.length + 1)).toMatch(DOCKER_TAG)
        // No tag of one layer is another layer's tag or stable tag, nor a registry cache.
        expect(refs.filter(r => r === ref)).toHaveLength(1)
        expect(ref).not.toMatch(/:cache-/)
      }
      expect(d.tags).not.toContain(`${IMAGE}:${name}-stable`)
    }
    // The leaf's tags say the branch (or the commit when the branch has no letter or digit).
    expect(p.layers.app.tags).toHaveLength(2)
  })

  test.each<[string, string[]]>([
    ['日本', [`${SHA7}-${SHA7}`, SHA7]],
    ['🚀', [`${SHA7}-${SHA7}`, SHA7]],
    ['---', [`${SHA7}-${SHA7}`, SHA7]],
    ['cache-app', [`branch-cache-app-${SHA7}`, 'branch-cache-app']],
    ['CACHE-Base', [`branch-cache-base-${SHA7}`, 'branch-cache-base']],
    ['base', [`branch-base-${SHA7}`, 'branch-base']],
    ['Base', [`branch-base-${SHA7}`, 'branch-base']],
    ['base-stable', [`branch-base-stable-${SHA7}`, 'branch-base-stable']],
    ['latest', [`branch-latest-${SHA7}`, 'branch-latest']],
    ['cache', [`branch-cache-${SHA7}`, 'branch-cache']],
    ['caches', [`caches-${SHA7}`, 'caches']],
    ['tooling-pr-7', [`branch-tooling-pr-7-${SHA7}`, 'branch-tooling-pr-7']],
    ['base/feature', [`branch-base-feature-${SHA7}`, 'branch-base-feature']],
    ['app', [`app-${SHA7}`, 'app']],
    ['feature/login', [`feature-login-${SHA7}`, 'feature-login']],
    ['baseline', [`baseline-${SHA7}`, 'baseline']]
  ])('%j → leaf tags %j', (branch, tags) => {
    expect(plan(THREE, onBranch(branch)).layers.app.tags).toEqual(tags.map(t => `${IMAGE}:${t}`))
  })

  test.each(['base', 'tooling', 'cache-app', '日本'])(
    'the build and the plan agree on %j (the same branch tag)',
    b => {
      const ctx = onBranch(b)
      const parents = new Set(['base', 'tooling'])
      const app = THREE.layers[2]
      const tags = layerTags(app, ctx, { isLeaf: true, parents })
      expect([...tags.versioned, ...tags.moving].map(t => `${IMAGE}:${t}`)).toEqual(
        plan(THREE, ctx).layers.app.tags
      )
    }
  )

  test('branchTag keeps an ordinary name and is never empty', () => {
    expect(branchTag('Feature/Login', 'abc1234')).toBe('feature-login')
    expect(branchTag('日本', 'abc1234')).toBe('abc1234')
    expect(branchTag('cache-x', 'abc1234')).toBe('branch-cache-x')
  })
})

// [what, layer over, event, the error]
const BAD_TEMPLATES: [string, Partial<LayerConfig>, string][] = [
  ['a tag of only punctuation', { tags: ['---'] }, 'tag template "---" gives an empty tag on push'],
  ['a tag of dots', { tags: ['{sha7}', '...'] }, 'tag template "..." gives an empty tag on push'],
  ['a tag of other scripts', { tags: ['日本'] }, 'tag template "日本" gives an empty tag on push'],
  ['a tag of emoji', { tags: ['🚀🚀'] }, 'tag template "🚀🚀" gives an empty tag on push'],
  ['a stable tag of punctuation', { stableTag: '-.-' }, 'stable-tag "-.-" gives an empty tag on push'],
  ['a stable tag of other scripts', { stableTag: '日本' }, 'stable-tag "日本" gives an empty tag on push'],
  ['tags with no value on a push', { tags: ['pr-{pr}'] }, 'none of its tags (pr-{pr}) has a value on push'],
  [
    'tags of a release only',
    { tags: ['{version}', '{major}'] },
    'none of its tags ({version}, {major}) has a value on push'
  ]
]

test.each(BAD_TEMPLATES)('%s is an error, never a missing tag', (_what, over, message) => {
  const ctx = onBranch('feature/x')
  const app = layer('app', over)
  expect(() => layerTags(app, ctx, { isLeaf: true })).toThrow(TagTemplateError)
  expect(() => layerTags(app, ctx, { isLeaf: true })).toThrow(`layer "app": ${message}`)
})

// Tags and stable tags from the config that would overwrite a registry cache.
const CACHE_CLASH: [string, Partial<LayerConfig>, string][] = [
  [
    'stable-tag cache-base',
    { stableTag: 'cache-base' },
    `${IMAGE}:cache-base, the registry cache of layer "base"`
  ],
  [
    'stable-tag cache-{layer}',
    { stableTag: 'cache-{layer}' },
    `${IMAGE}:cache-app, the registry cache of layer "app"`
  ],
  [
    'a tag cache-tooling',
    { tags: ['cache-tooling', '{sha7}'] },
    `${IMAGE}:cache-tooling, the registry cache of layer "tooling"`
  ],
  [
    'a tag cache-{layer}',
    { tags: ['cache-{layer}'] },
    `${IMAGE}:cache-app, the registry cache of layer "app"`
  ]
]

test.each(CACHE_CLASH)('%s is refused: it would overwrite the registry cache', (_what, over, message) => {
  const cfg = config([
    layer('base'),
    layer('tooling', { from: from('base') }),
    layer('main', { from: from('tooling') }),
    layer('app', { from: from('main'), ...over })
  ])
  const ctx = ctxOf('push', () => undefined)
  expect(() => plan(cfg, ctx)).toThrow(`layer "app" would push ${message}`)
})

// SPEC 5: {version} drops build metadata, as docker/metadata-action does.
test.each<[string, string[], string[]]>([
  ['v1.2.3+build.5', ['1.2.3'], ['1.2', '1', 'latest']],
  ['1.2.3+build', ['1.2.3'], ['1.2', '1', 'latest']],
  ['v1.2.3+20240501.sha.abc', ['1.2.3'], ['1.2', '1', 'latest']],
  ['V2.0.0+x', ['2.0.0'], ['2.0', '2', 'latest']],
  ['v1.2.3-rc.1+build.5', ['1.2.3-rc.1'], []],
  ['v0.0.1-alpha+001', ['0.0.1-alpha'], []],
  ['v10.20.30', ['10.20.30'], ['10.20', '10', 'latest']]
])('tag %s → versioned %j, moving %j', (tag, versioned, moving) => {
  const ctx = ctxOf('push-tag-semver', p => (p.ref = `refs/tags/${tag}`))
  expect(layerTags(layer('app'), ctx, { isLeaf: true })).toEqual({ versioned, moving, stable: 'latest' })
  expect(parseSemverTag(tag)?.version).toBe(versioned[0])
})

// A pushed git tag that is not semver is the leaf's tag (SPEC 5): never empty, never Strata's own.
const onTag = (t: string): EventContext => ctxOf('push-tag-other', p => (p.ref = `refs/tags/${t}`))
const TAG_SHA7 = onTag('x').sha.slice(0, 7)

test.each<[string, string]>([
  ['日本', TAG_SHA7],
  ['🚀', TAG_SHA7],
  ['---', TAG_SHA7],
  ['cache-app', 'tag-cache-app'],
  ['cache-base', 'tag-cache-base'],
  ['latest', 'tag-latest'],
  ['base', 'tag-base'],
  ['tooling-stable', 'tag-tooling-stable'],
  ['Release-2024', 'release-2024'],
  ['v1.2', 'v1.2'],
  ['app', 'app'],
  ['{sha}', 'sha-'],
  ['::error::x', 'error-x']
])('git tag %j → leaf tag %j', (gitTag, tag) => {
  const p = plan(THREE, onTag(gitTag))
  expect(p.layers.app.tags).toEqual([`${IMAGE}:${tag}`])
  expect(p.layers.base.tags).toEqual([`${IMAGE}:base-${TAG_SHA7}`])
})

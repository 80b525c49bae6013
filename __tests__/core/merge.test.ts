// One runner per platform, the pure half: the digests and runners inputs, the platform matrix, and
// what a merge puts in the registry (or every reason it puts nothing).
import { buildPlatforms, parseDigests, parseRunners, planMerge, platformSplit } from '../../src/core/merge.js'
import { tagsOfLayer } from '../../src/core/plan.js'
import { parentLayers } from '../../src/core/tags.js'
import type { PlatformDigest } from '../../src/core/merge.js'
import type { LayerDecision, Plan } from '../../src/core/types.js'
import { config, eventContext, from, IMAGE, layer } from '../../__fixtures__/layers.js'

const A = `sha256:${'a'.repeat(64)}`
const B = `sha256:${'b'.repeat(64)}`
const C = `sha256:${'c'.repeat(64)}`

describe('parseDigests', () => {
  test.each<[string, string, PlatformDigest[]]>([
    ['empty', '', []],
    [
      'platform=digest lines',
      `linux/amd64=${A}\nlinux/arm64=${B}\n`,
      [
        { platform: 'linux/amd64', digest: A },
        { platform: 'linux/arm64', digest: B }
      ]
    ],
    [
      'blank and comment lines',
      `# from the platform jobs\n\n  linux/arm/v7=${A}  \n`,
      [{ platform: 'linux/arm/v7', digest: A }]
    ],
    ['a layer prefix', `base:linux/arm64=${B}`, [{ layer: 'base', platform: 'linux/arm64', digest: B }]],
    ['JSON platform → digest', `{"linux/amd64":"${A}"}`, [{ platform: 'linux/amd64', digest: A }]],
    [
      "JSON of a platform step's digests output",
      `{"base":{"linux/arm64":"${B}"},"app":{"linux/arm64":"${C}"}}`,
      [
        { layer: 'base', platform: 'linux/arm64', digest: B },
        { layer: 'app', platform: 'linux/arm64', digest: C }
      ]
    ]
  ])('[%#] %s', (_, text, want) => {
    expect(parseDigests(text)).toEqual(want)
  })

  test.each([
    [`linux/amd64 ${A}`, `input "digests" is "linux/amd64 ${A}": each line must be <platform>=<digest>`],
    [`amd64=${A}`, `input "digests" is "amd64=${A}": "amd64" is not a platform: use os/arch`],
    [
      'linux/amd64=sha256:ABC',
      'input "digests" is "linux/amd64=sha256:ABC": the digest must be sha256: and 64 lower-case hex'
    ],
    [`ba.se:linux/amd64=${A}`, `input "digests" is "ba.se:linux/amd64=${A}": "ba.se" is not a layer name`],
    ['{"linux/amd64":', 'input "digests" is "{\\"linux/amd64\\":": it is not JSON'],
    ['{"base":3}', 'input "digests" is "base": each value must be a digest or a map of platform to digest'],
    [
      `{"base":{"linux/arm64":"sha256:x"}}`,
      'input "digests" is "base:linux/arm64=sha256:x": the digest must be'
    ]
  ])('[%#] rejects %j naming the value and the fix', (text, message) => {
    expect(() => parseDigests(text)).toThrow(message)
  })
})

describe('parseRunners', () => {
  test.each([
    ['', {}],
    [
      'linux/amd64: ubuntu-latest\nlinux/arm64: ubuntu-24.04-arm\n',
      { 'linux/amd64': 'ubuntu-latest', 'linux/arm64': 'ubuntu-24.04-arm' }
    ],
    ['# arm only\nlinux/arm64=ubuntu-24.04-arm', { 'linux/arm64': 'ubuntu-24.04-arm' }]
  ])('[%#] %j → %j', (text, want) => {
    expect(parseRunners(text)).toEqual(want)
  })

  test.each([
    [
      'arm64: ubuntu-24.04-arm',
      'input "runners" is "arm64: ubuntu-24.04-arm": each line must be <platform>: <runner label>'
    ],
    [
      'linux/arm64: ${{ x }}',
      'input "runners" is "linux/arm64: ${{ x }}": each line must be <platform>: <runner label>'
    ],
    ['linux/arm64: a;b', 'input "runners" is "linux/arm64: a;b": "a;b" is not a runner label']
  ])('[%#] rejects %j', (text, message) => {
    expect(() => parseRunners(text)).toThrow(message)
  })
})

const decision = (build: boolean, tags: string[], over: Partial<LayerDecision> = {}): LayerDecision => ({
  build,
  reasons: build ? ['forced'] : [],
  matches: [],
  tags,
  selected: true,
  ...over
})
const planOf = (layers: Record<string, LayerDecision>): Plan => ({
  layers,
  changes: { source: 'none', count: 0 },
  event: 'push'
})

const TWO = ['linux/amd64', 'linux/arm64']
/** base (amd64 + arm64) → app (amd64 + arm64), pushed to main at SHA 3f2a9c1. */
const cfg = config([layer('base', { platforms: TWO }), layer('app', { from: from('base'), platforms: TWO })])
const baseTags = [`${IMAGE}:base-3f2a9c1`, `${IMAGE}:base-stable`]
const appTags = [`${IMAGE}:main-3f2a9c1`, `${IMAGE}:latest`]
const both = (sel: { base?: boolean; app?: boolean } = {}): Plan =>
  planOf({
    base: decision(true, baseTags, { selected: sel.base ?? true }),
    app: decision(true, appTags, { selected: sel.app ?? true })
  })

describe('buildPlatforms and platformSplit', () => {
  const amd64Only = config([layer('base'), layer('app', { from: from('base') })])
  test.each([
    ['two layers, two platforms', cfg, both(), undefined, TWO],
    ['the platforms input overrides', cfg, both(), ['linux/arm64'], ['linux/arm64']],
    ['one platform', amd64Only, both(), undefined, ['linux/amd64']],
    [
      'nothing built',
      cfg,
      planOf({ base: decision(false, baseTags), app: decision(false, appTags) }),
      undefined,
      []
    ],
    ['a layer not selected', cfg, both({ base: false, app: false }), undefined, []]
  ])('[%#] %s', (_, c, plan, override, want) => {
    expect(buildPlatforms(c, plan, override)).toEqual(want)
  })

  const runners = { 'linux/amd64': 'ubuntu-latest', 'linux/arm64': 'ubuntu-24.04-arm' }
  test.each([
    [
      'every platform has a runner',
      TWO,
      runners,
      true,
      {
        split: true,
        matrix: {
          include: [
            { platform: 'linux/amd64', runner: 'ubuntu-latest', slug: 'linux-amd64' },
            { platform: 'linux/arm64', runner: 'ubuntu-24.04-arm', slug: 'linux-arm64' }
          ]
        }
      }
    ],
    ['no runners', TWO, {}, true, { split: false, why: 'no runners given' }],
    ['one platform', ['linux/arm64'], runners, true, { split: false, why: 'one platform (linux/arm64)' }],
    [
      'no push',
      TWO,
      runners,
      false,
      { split: false, why: 'this run does not push, so platform images cannot reach a merge job' }
    ],
    [
      'a platform without a runner',
      ['linux/amd64', 'linux/arm/v7'],
      runners,
      true,
      { split: false, why: 'no runner for linux/arm/v7 in the runners input' }
    ]
  ])('[%#] %s', (_, platforms, r, push, want) => {
    expect(platformSplit(platforms, r, push)).toEqual(want)
  })
})

// A followed plan carries only `tags`: the merge splits them as decide() does, from the config.
describe('tagsOfLayer', () => {
  test.each([
    [
      'parent on main',
      'base',
      eventContext(),
      false,
      baseTags,
      { versioned: [baseTags[0]], moving: [baseTags[1]] }
    ],
    ['leaf on main', 'app', eventContext(), true, appTags, { versioned: [appTags[0]], moving: [appTags[1]] }],
    [
      'leaf on a pull request',
      'app',
      eventContext({
        eventName: 'pull_request',
        isDefaultBranch: false,
        branch: 'feature',
        ref: 'refs/pull/42/merge',
        pr: { number: 42, headSha: 'x', headRef: 'feature', baseSha: 'y', baseRef: 'main', fork: false }
      }),
      true,
      [`${IMAGE}:pr-42-3f2a9c1`, `${IMAGE}:pr-42`],
      { versioned: [`${IMAGE}:pr-42-3f2a9c1`], moving: [`${IMAGE}:pr-42`] }
    ],
    [
      'only moving tags: the build pushes them all',
      'base',
      eventContext(),
      false,
      [`${IMAGE}:base-stable`],
      { versioned: [`${IMAGE}:base-stable`], moving: [] }
    ]
  ])('[%#] %s', (_, name, ctx, isLeaf, tags, want) => {
    const l = cfg.layers.find(x => x.name === name)!
    const parents = parentLayers(cfg.layers)
    expect(!parents.has(name)).toBe(isLeaf)
    expect(tagsOfLayer(l, { tags }, ctx, parents)).toEqual(want)
  })

  test("the plan's own split is taken as it is", () => {
    const l = cfg.layers.find(x => x.name === 'base')!
    const own = { tags: baseTags, versioned: [baseTags[1]], moving: [baseTags[0]] }
    expect(tagsOfLayer(l, own, eventContext(), parentLayers(cfg.layers))).toEqual({
      versioned: [baseTags[1]],
      moving: [baseTags[0]]
    })
  })
})

describe('planMerge', () => {
  const ctx = eventContext()
  const d = (platform: string, digest: string, layerName?: string): PlatformDigest => ({
    ...(layerName && { layer: layerName }),
    platform,
    digest
  })

  test.each([
    [
      'one layer, digests without a layer name, in the layer’s platform order',
      both({ app: false }),
      [d('linux/arm64', B), d('linux/amd64', A)],
      [
        {
          layer: 'base',
          manifests: [
            { platform: 'linux/amd64', digest: A },
            { platform: 'linux/arm64', digest: B }
          ],
          versioned: [baseTags[0]],
          moving: [baseTags[1]]
        }
      ]
    ],
    [
      'two layers, each digest named',
      both(),
      [
        d('linux/amd64', A, 'base'),
        d('linux/arm64', B, 'base'),
        d('linux/amd64', C, 'app'),
        d('linux/arm64', A, 'app')
      ],
      [
        {
          layer: 'base',
          manifests: [
            { platform: 'linux/amd64', digest: A },
            { platform: 'linux/arm64', digest: B }
          ],
          versioned: [baseTags[0]],
          moving: [baseTags[1]]
        },
        {
          layer: 'app',
          manifests: [
            { platform: 'linux/amd64', digest: C },
            { platform: 'linux/arm64', digest: A }
          ],
          versioned: [appTags[0]],
          moving: [appTags[1]]
        }
      ]
    ],
    [
      'the same digest twice is one',
      both({ base: false }),
      [d('linux/amd64', A), d('linux/amd64', A), d('linux/arm64', B)],
      [
        {
          layer: 'app',
          manifests: [
            { platform: 'linux/amd64', digest: A },
            { platform: 'linux/arm64', digest: B }
          ],
          versioned: [appTags[0]],
          moving: [appTags[1]]
        }
      ]
    ]
  ])('[%#] %s', (_, plan, digests, steps) => {
    expect(planMerge({ config: cfg, plan, ctx, digests })).toEqual({ steps })
  })

  test('the platforms input decides which platforms must be there', () => {
    const got = planMerge({
      config: cfg,
      plan: both({ app: false }),
      ctx,
      digests: [d('linux/arm64', B)],
      platforms: ['linux/arm64']
    })
    expect(got).toEqual({
      steps: [
        {
          layer: 'base',
          manifests: [{ platform: 'linux/arm64', digest: B }],
          versioned: [baseTags[0]],
          moving: [baseTags[1]]
        }
      ]
    })
  })

  test("the plan's own versioned/moving split wins over the rule", () => {
    const plan = planOf({
      base: decision(true, baseTags, { versioned: [baseTags[0], baseTags[1]], moving: [] }),
      app: decision(true, appTags, { selected: false })
    })
    const got = planMerge({ config: cfg, plan, ctx, digests: [d('linux/amd64', A), d('linux/arm64', B)] })
    expect('steps' in got && got.steps[0].versioned).toEqual(baseTags)
  })

  test.each([
    [
      'a platform job failed: its digest is missing',
      both({ app: false }),
      [d('linux/amd64', A)],
      ['base: no digest for linux/arm64: its platform job failed or did not run']
    ],
    [
      'no digest at all',
      both({ app: false }),
      [],
      ['base: no digest for linux/amd64, linux/arm64: its platform job failed or did not run']
    ],
    [
      'a platform the layer is not built for',
      both({ app: false }),
      [d('linux/amd64', A), d('linux/arm64', B), d('linux/s390x', C)],
      ['base: a digest for linux/s390x, which the layer is not built for (linux/amd64, linux/arm64)']
    ],
    [
      'two digests for one platform',
      both({ app: false }),
      [d('linux/amd64', A), d('linux/amd64', C), d('linux/arm64', B)],
      [`base: two digests for linux/amd64: ${A} and ${C}`]
    ],
    [
      'unnamed digests while two layers are merged',
      both(),
      [d('linux/amd64', A), d('linux/arm64', B)],
      [
        'digests without a layer name, but this step merges base, app: write each line as <layer>:<platform>=<digest>, or merge one layer per step',
        'base: no digest for linux/amd64, linux/arm64: its platform job failed or did not run',
        'app: no digest for linux/amd64, linux/arm64: its platform job failed or did not run'
      ]
    ],
    [
      'a digest of a layer this step does not merge',
      both({ app: false }),
      [d('linux/amd64', A), d('linux/arm64', B), d('linux/amd64', C, 'app')],
      ['a digest for layer "app", which this step does not merge (it merges base)']
    ],
    [
      'the plan builds nothing selected',
      planOf({ base: decision(false, baseTags), app: decision(true, appTags, { selected: false }) }),
      [d('linux/amd64', A)],
      ['the plan builds none of the layers this step selects (`layers`): there is nothing to merge']
    ]
  ])('[%#] %s: nothing is merged', (_, plan, digests, errors) => {
    expect(planMerge({ config: cfg, plan, ctx, digests })).toEqual({ errors })
  })
})

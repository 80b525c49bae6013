import { cacheFlags, ghaAvailability, parseVersion } from '../../src/core/cache-flags.js'
import type { CacheContext, CacheFeatures } from '../../src/core/cache-flags.js'
import type { CacheKind, LayerConfig } from '../../src/core/types.js'
import { layer as baseLayer } from '../../__fixtures__/layers.js'

// Only the cache kinds matter here; `listed`: written in the config (mode=max exports as listed).
const layer = (name: string, cache: CacheKind[], listed = true): LayerConfig => ({
  ...baseLayer(name, { dockerfile: 'Dockerfile', cache }),
  ...(listed && { cacheListed: true })
})

const GHA: CacheFeatures = { ghaAvailable: true, canExportCache: true }
const NO_GHA: CacheFeatures = {
  ghaAvailable: false,
  ghaWhy: 'ACTIONS_RUNTIME_TOKEN is not set',
  canExportCache: true
}
const CLASSIC: CacheFeatures = { ghaAvailable: true, canExportCache: false, builder: 'default' }
const MAIN_PUSH: CacheContext = { branch: 'main', defaultBranch: 'main', pushToDefault: true, push: true }
const PR: CacheContext = { branch: 'feat-x', defaultBranch: 'main', pushToDefault: false, push: true }
const NO_PUSH: CacheContext = { branch: 'main', defaultBranch: 'main', pushToDefault: true, push: false }
const IMG = 'ghcr.io/acme/sindri'

test.each<[number, CacheKind[], CacheContext, CacheFeatures, string[], string[]]>([
  [
    1,
    ['gha', 'registry'],
    PR,
    GHA,
    ['type=gha,scope=app-feat-x', 'type=gha,scope=app-main', `type=registry,ref=${IMG}:cache-app`],
    ['type=inline,ignore-error=true', 'type=gha,scope=app-feat-x,mode=max,ignore-error=true']
  ],
  [
    2,
    ['gha', 'registry'],
    MAIN_PUSH,
    GHA,
    ['type=gha,scope=app-main', `type=registry,ref=${IMG}:cache-app`],
    [
      'type=inline,ignore-error=true',
      'type=gha,scope=app-main,mode=max,ignore-error=true',
      `type=registry,ref=${IMG}:cache-app,mode=max,ignore-error=true`
    ]
  ],
  [
    3,
    ['gha', 'registry'],
    MAIN_PUSH,
    NO_GHA,
    [`type=registry,ref=${IMG}:cache-app`],
    ['type=inline,ignore-error=true', `type=registry,ref=${IMG}:cache-app,mode=max,ignore-error=true`]
  ],
  [
    4,
    ['gha', 'registry'],
    NO_PUSH,
    GHA,
    ['type=gha,scope=app-main', `type=registry,ref=${IMG}:cache-app`],
    ['type=gha,scope=app-main,mode=max,ignore-error=true']
  ],
  [
    5,
    ['gha', 'registry'],
    { ...PR, inlineRef: `${IMG}:app-stable` },
    CLASSIC,
    [
      'type=gha,scope=app-feat-x',
      'type=gha,scope=app-main',
      `type=registry,ref=${IMG}:cache-app`,
      `type=registry,ref=${IMG}:app-stable`
    ],
    ['type=inline,ignore-error=true']
  ],
  [
    6,
    ['local'],
    { ...PR, localDir: '/tmp/c/app' },
    GHA,
    ['type=local,src=/tmp/c/app'],
    ['type=inline,ignore-error=true', 'type=local,dest=/tmp/c/app-new,mode=max,ignore-error=true']
  ],
  [
    7,
    ['inline'],
    { ...MAIN_PUSH, inlineRef: `${IMG}:latest` },
    GHA,
    [`type=registry,ref=${IMG}:latest`],
    ['type=inline,ignore-error=true']
  ],
  [8, [], MAIN_PUSH, GHA, [], []],
  [
    9,
    ['registry'],
    { ...PR, branch: undefined },
    GHA,
    [`type=registry,ref=${IMG}:cache-app`],
    ['type=inline,ignore-error=true']
  ],
  [
    10,
    ['gha'],
    { ...MAIN_PUSH, branch: undefined },
    GHA,
    ['type=gha,scope=app-main'],
    ['type=inline,ignore-error=true', 'type=gha,scope=app-main,mode=max,ignore-error=true']
  ]
])('[%d] cache %j in %j with %j → from, to', (_id, kinds, ctx, features, from, to) => {
  const flags = cacheFlags(layer('app', kinds), ctx, features)
  expect(flags.from).toEqual(from)
  expect(flags.to).toEqual(to)
})

// SPEC 6: a mode=max export must hold what the pushed image does not (kinds not listed in the config).
const STABLE = `${IMG}:app-stable`
test.each<[number, CacheContext, number, string[], string[], string]>([
  [
    1,
    { ...MAIN_PUSH, stableRef: STABLE, inlineRef: STABLE },
    1,
    [`type=registry,ref=${STABLE}`, 'type=gha,scope=app-main', `type=registry,ref=${IMG}:cache-app`],
    ['type=inline,ignore-error=true'],
    'inline (single-stage Dockerfile: the pushed image holds its cache inline, no mode=max export)'
  ],
  [
    2,
    { ...MAIN_PUSH, stableRef: STABLE, inlineRef: STABLE },
    3,
    [`type=registry,ref=${STABLE}`, 'type=gha,scope=app-main', `type=registry,ref=${IMG}:cache-app`],
    [
      'type=inline,ignore-error=true',
      'type=gha,scope=app-main,mode=max,ignore-error=true',
      `type=registry,ref=${IMG}:cache-app,mode=max,ignore-error=true`
    ],
    'inline, gha mode=max, registry mode=max (multi-stage Dockerfile (3 FROM): mode=max keeps the intermediate stages)'
  ],
  [
    3,
    { ...NO_PUSH, stableRef: STABLE, inlineRef: STABLE },
    1,
    [`type=registry,ref=${STABLE}`, 'type=gha,scope=app-main', `type=registry,ref=${IMG}:cache-app`],
    ['type=gha,scope=app-main,mode=max,ignore-error=true'],
    'gha mode=max (not pushed: no image carries the cache)'
  ]
])('[%d] default cache kinds in %j, %d FROM → from, to, why', (_id, ctx, stages, from, to, why) => {
  const flags = cacheFlags(layer('app', ['gha', 'registry'], false), { ...ctx, stages }, GHA)
  expect(flags.from).toEqual(from)
  expect(flags.to).toEqual(to)
  expect(flags.why).toBe(why)
})

test('every cache-to carries ignore-error=true', () => {
  const all: CacheKind[] = ['gha', 'registry', 'local', 'inline']
  const flags = cacheFlags(layer('base', all), { ...MAIN_PUSH, localDir: '/c' }, GHA)
  expect(flags.to).toHaveLength(4)
  for (const spec of flags.to) expect(spec).toMatch(/,ignore-error=true$/)
})

test('gha left out says why in one notice, and that the registry still serves', () => {
  const flags = cacheFlags(layer('app', ['gha', 'registry']), MAIN_PUSH, NO_GHA)
  expect(flags.notices).toEqual([
    'gha cache left out: ACTIONS_RUNTIME_TOKEN is not set; the registry cache still serves'
  ])
  expect(flags.warnings).toEqual([])
  expect(cacheFlags(layer('app', ['gha']), MAIN_PUSH, NO_GHA).notices).toEqual([
    'gha cache left out: ACTIONS_RUNTIME_TOKEN is not set'
  ])
})

test('a builder that cannot export cache gets one warning and inline instead', () => {
  const flags = cacheFlags(layer('app', ['gha', 'registry']), MAIN_PUSH, CLASSIC)
  expect(flags.to).toEqual(['type=inline,ignore-error=true'])
  expect(flags.warnings).toHaveLength(1)
  expect(flags.warnings[0]).toContain('cannot export cache')
  expect(flags.warnings[0]).toContain('containerd image store')
  // Asking for inline only is not worth a warning.
  expect(cacheFlags(layer('app', ['inline']), MAIN_PUSH, CLASSIC).warnings).toEqual([])
})

test('local without a directory is a programming error, said plainly', () => {
  expect(() => cacheFlags(layer('app', ['local']), MAIN_PUSH, GHA)).toThrow(
    'layer "app" lists the local cache'
  )
})

const TOKEN = { ACTIONS_RUNTIME_TOKEN: 't' }
test.each<[number, Record<string, string | undefined>, string | undefined, boolean, string | undefined]>([
  [1, {}, 'v0.20.0', false, 'ACTIONS_RUNTIME_TOKEN is not set'],
  [2, { ...TOKEN, ACTIONS_CACHE_URL: 'http://c/' }, 'v0.13.1', true, undefined],
  [3, { ...TOKEN }, 'v0.13.1', false, 'ACTIONS_CACHE_URL is not set'],
  [
    4,
    { ...TOKEN, ACTIONS_RESULTS_URL: 'http://r/', ACTIONS_CACHE_SERVICE_V2: 'true' },
    'v0.20.0',
    true,
    undefined
  ],
  [
    5,
    { ...TOKEN, ACTIONS_RESULTS_URL: 'http://r/', ACTIONS_CACHE_SERVICE_V2: 'yes' },
    'v0.21.2',
    true,
    undefined
  ],
  [
    6,
    { ...TOKEN, ACTIONS_RESULTS_URL: 'http://r/', ACTIONS_CACHE_SERVICE_V2: '1' },
    'v0.19.4',
    false,
    'BuildKit 0.20 or newer; the builder runs BuildKit v0.19.4'
  ],
  [
    7,
    { ...TOKEN, ACTIONS_RESULTS_URL: 'http://r/', ACTIONS_CACHE_SERVICE_V2: 'True' },
    'v0.0.0+unknown',
    false,
    'BuildKit 0.20 or newer; the builder runs BuildKit v0.0.0+unknown'
  ],
  [
    8,
    { ...TOKEN, ACTIONS_RESULTS_URL: 'http://r/', ACTIONS_CACHE_SERVICE_V2: 'true' },
    undefined,
    false,
    'the BuildKit version is unknown'
  ],
  [9, { ...TOKEN, ACTIONS_CACHE_SERVICE_V2: 'true' }, 'v0.20.0', false, 'ACTIONS_RESULTS_URL is not set'],
  [
    10,
    { ...TOKEN, ACTIONS_CACHE_URL: 'http://c/', ACTIONS_CACHE_SERVICE_V2: 'false' },
    'v0.13.1',
    true,
    undefined
  ],
  [
    11,
    { ...TOKEN, ACTIONS_RESULTS_URL: 'http://r/', ACTIONS_CACHE_SERVICE_V2: 'true' },
    'v1.0.0',
    true,
    undefined
  ]
])('[%d] ghaAvailability(%j, %s) → %s', (_id, env, version, available, why) => {
  const got = ghaAvailability(env, version)
  expect(got.available).toBe(available)
  expect(got.why === undefined).toBe(why === undefined)
  expect(got.why ?? '').toContain(why ?? '')
})

test.each([
  ['v0.13.1', [0, 13, 1]],
  ['0.20.0-rc1', [0, 20, 0]],
  ['v0.0.0+unknown', undefined],
  ['', undefined]
])('parseVersion(%s) → %o', (v, want) => {
  expect(parseVersion(v)).toEqual(want)
})

// Hostile and careless configs (issue 13 items 2, 5 and 9): every name that reaches docker's command
// line and every path is checked, with file:line:column; nothing can be read as an option or leave
// the repository.
import { describe, expect, test } from '@jest/globals'
import { ConfigError, parseConfig, parseConfigWithPositions } from '../../src/core/config/index.js'

const FILE = '.github/strata.yml'

/** A config whose layer `app` sets `key: value` on line 5 (value column = 7 + key length). */
function withKey(key: string, value: string): string {
  return ['version: 1', 'image: ghcr.io/acme/app', 'layers:', '  app:', `    ${key}: ${value}`].join('\n')
}

function configError(text: string): ConfigError {
  try {
    parseConfig(text, FILE)
  } catch (e) {
    if (e instanceof ConfigError) return e
    throw e
  }
  throw new Error('parseConfig did not fail')
}

const q = (s: string): string => JSON.stringify(s)

const BAD_IMAGES = [
  '--help',
  '-x',
  '--push=true',
  '-',
  'ghcr.io/acme/app:latest',
  `ghcr.io/acme/app@sha256:${'a'.repeat(64)}`,
  'ghcr.io/acme/app/',
  'ghcr.io//app',
  'a b',
  'ghcr.io/acme/ap p',
  'ghcr.io/acme/app\n--push',
  '::error::x',
  'ghcr.io/acme/-app',
  'ghcr.io/acme/app-',
  'ghcr.io/acme/a..b',
  '../x',
  'ghcr.io/acme/app;rm -rf /',
  '$(id)',
  '`id`',
  'ghcr.io/acme/日本',
  'ghcr.io/acme/app?x=1',
  'host name/x',
  'ghcr.io/acme/app\t'
]

describe('image', () => {
  test.each(BAD_IMAGES)('%j is a config error at the value', image => {
    const err = configError(['version: 1', `image: ${q(image)}`, 'layers: { app: }'].join('\n'))
    expect([err.line, err.column]).toEqual([2, 8])
    expect(err.what).toMatch(/^the config key "image" is not a repository: /)
    expect(err.fix).toBe(
      'write the repository without tag or digest, e.g. ghcr.io/acme/app; tags come from `tags`'
    )
  })

  test.each(BAD_IMAGES)('%j in a layer is a config error at the value', image => {
    const err = configError(withKey('image', q(image)))
    expect([err.line, err.column]).toEqual([5, 12])
    expect(err.what).toMatch(/^layer "app" key "image" is not a repository: /)
  })

  test.each([
    ['ghcr.io/acme/app', 'ghcr.io/acme/app'],
    ['localhost:5000/team/app', 'localhost:5000/team/app'],
    ['app', 'app'],
    ['acme/app', 'acme/app'],
    ['registry.local:5000/a/b/c', 'registry.local:5000/a/b/c'],
    ['GHCR.io/Acme/App', 'ghcr.io/acme/app']
  ])('%j is %j', (image, expected) => {
    expect(parseConfig(['version: 1', `image: ${image}`, 'layers: { app: }'].join('\n'), FILE).image).toBe(
      expected
    )
  })

  test('upper-case images are lower-cased with one notice naming each', () => {
    const { config, notices } = parseConfigWithPositions(
      [
        'version: 1',
        'image: GHCR.io/Acme/App',
        'layers:',
        '  base: { image: Registry.local:5000/Team/Base }',
        '  app: { from: base }'
      ].join('\n'),
      FILE
    )
    expect(config.layers.map(l => l.image)).toEqual(['registry.local:5000/team/base', 'ghcr.io/acme/app'])
    expect(notices).toEqual([
      `${FILE}: image "GHCR.io/Acme/App" (2:8), "Registry.local:5000/Team/Base" (4:18) lower-cased: Docker repository names are lower case (write them so to silence this)`
    ])
    expect(parseConfigWithPositions(withKey('always', 'true'), FILE).notices).toEqual([])
  })
})

const BAD_PATHS = [
  '..',
  '../x',
  '../../etc/passwd',
  'a/../../x',
  './../x',
  'docker/../..',
  'docker/../../..',
  '--help',
  '-',
  '-f',
  '--file=x',
  '/etc/passwd',
  '/',
  'a\u0000b',
  'a\nb',
  'a\rb',
  'a\u2028b',
  'x/../../../../../../../../etc'
]

describe.each(['dockerfile', 'context'])('%s', key => {
  test.each(BAD_PATHS)('%j is a config error at the value', p => {
    const err = configError(withKey(key, q(p)))
    expect([err.line, err.column]).toEqual([5, 7 + key.length])
    expect(err.what).toMatch(new RegExp(`^layer "app" key "${key}" `))
  })

  test.each([
    '.',
    './-x',
    'a/../b',
    'docker/..',
    'docker/Dockerfile',
    'a/./b',
    '.hidden',
    '-/..'.replace('-', 'x')
  ])('%j is accepted', p => {
    expect(parseConfig(withKey(key, q(p)), FILE).layers[0]).toMatchObject({ [key]: p })
  })

  test.each(BAD_PATHS.slice(0, 6))('%j in defaults is a config error too', p => {
    const err = configError(
      ['version: 1', 'image: r/x', 'defaults:', `  ${key}: ${q(p)}`, 'layers: { app: }'].join('\n')
    )
    expect([err.line, err.column]).toEqual([4, 5 + key.length])
  })
})

// [key, value (YAML), message start]
const BAD_NAMES: [string, string, string][] = [
  ['target', '--help', 'layer "app" key "target": "--help" is not a build stage name'],
  ['target', '-x', 'layer "app" key "target": "-x" is not a build stage name'],
  ['target', '"a b"', 'layer "app" key "target": "a b" is not a build stage name'],
  ['target', '"x;y"', 'layer "app" key "target": "x;y" is not a build stage name'],
  ['target', '"::error::x"', 'layer "app" key "target": "::error::x" is not a build stage name'],
  ['labels', '{ --x: 1 }', 'layer "app" labels: "--x" is not a label key'],
  ['labels', '{ -a: 1 }', 'layer "app" labels: "-a" is not a label key'],
  ['labels', '{ "a b": 1 }', 'layer "app" labels: "a b" is not a label key'],
  ['labels', '{ "$x": 1 }', 'layer "app" labels: "$x" is not a label key'],
  [
    'secrets',
    '[--help]',
    'layer "app": secret "--help=…" is not an environment variable name or a buildx secret spec'
  ],
  [
    'secrets',
    '[-x]',
    'layer "app": secret "-x=…" is not an environment variable name or a buildx secret spec'
  ],
  [
    'secrets',
    '["id=x"]',
    'layer "app": secret "id=…" is not an environment variable name or a buildx secret spec'
  ],
  ['secrets', '["id=x,foo=bar"]', 'layer "app": secret "id=…" is not an environment variable name'],
  ['secrets', '["x y"]', 'layer "app": secret "x y=…" is not an environment variable name'],
  ['build-args', '{ --x: 1 }', 'layer "app" has bad build-args name "--x"'],
  ['build-args', '{ -X: 1 }', 'layer "app" has bad build-args name "-X"'],
  ['build-args', '{ "A B": 1 }', 'layer "app" has bad build-args name "A B"'],
  ['platforms', '[--platform]', 'layer "app" has bad platform "--platform"'],
  ['platforms', '[-linux/amd64]', 'layer "app" has bad platform "-linux/amd64"'],
  ['platforms', '["linux/amd64,linux/arm64"]', 'layer "app" has bad platform "linux/amd64,linux/arm64"'],
  ['platforms', '["linux/amd64 --push"]', 'layer "app" has bad platform "linux/amd64 --push"']
]

test.each(BAD_NAMES)('%s: %s is refused before it reaches docker', (key, value, what) => {
  const err = configError(withKey(key, value))
  expect(err.line).toBe(5)
  expect(err.what.startsWith(what)).toBe(true)
})

test.each([
  ['target', 'runtime'],
  ['target', 'Build_2.x'],
  ['labels', '{ org.opencontainers.image.vendor: acme, team: core }'],
  ['secrets', '[NPM_TOKEN, "id=npmrc,src=.npmrc", "id=tok,env=GH_TOKEN"]']
])('%s: %s is accepted', (key, value) => {
  expect(() => parseConfig(withKey(key, value), FILE)).not.toThrow()
})

const NEVER_MATCHING = [
  '../**',
  '../x',
  'a/../../b',
  '!../x',
  './../x',
  'a/./b',
  '**/../x',
  'docker/..',
  '..'
]

test.each(NEVER_MATCHING)('paths pattern %j can never match: a config error at the item', p => {
  const err = configError(withKey('paths', `[docker/**, ${q(p)}]`))
  expect([err.line, err.column]).toEqual([5, 24])
  expect(err.what).toBe(
    `layer "app" has path pattern ${q(p)} that can never match: ${err.what.split('can never match: ')[1]}`
  )
  expect(err.what).toMatch(/segment, and changed file/)
})

test.each(['./docker/**', 'docker/**', '!docs/**', '**/*.sh', 'a/.b/c', '.github/**'])(
  'paths pattern %j is fine',
  p => {
    expect(parseConfig(withKey('paths', `[${q(p)}]`), FILE).layers[0].paths).toEqual([p])
  }
)

test.each([
  ['a huge key', `${'k'.repeat(100_000)}: 1`],
  ['a huge layer name', `layers:\n  ${'x'.repeat(100_000)}-: {}`],
  ['a huge image', `version: 1\nimage: ${'a/'.repeat(50_000)}\nlayers: { a: }`],
  ['a whole foreign file as one scalar', 'x'.repeat(200_000)],
  ['a huge YAML syntax error', `layers: [${'"a", '.repeat(20_000)}`]
])('%s: the error quotes at most 300 characters of it', (_what, text) => {
  const err = configError(text)
  expect(err.what.length).toBeLessThanOrEqual(301)
  expect(err.message.length).toBeLessThan(700)
})

// [what, layer lines (layers start on line 4), line:column, message]
const TAG_CLASHES: [string, string[], [number, number], string][] = [
  [
    'a stable-tag over a registry cache',
    ['  base:', '  app:', '    from: base', '    stable-tag: cache-base'],
    [7, 17],
    'layer "app" stable tag r/x:cache-base is also the registry cache of layer "base"'
  ],
  [
    'a stable-tag over its own cache',
    ['  app:', "    stable-tag: 'cache-{layer}'"],
    [5, 17],
    'layer "app" stable tag r/x:cache-app is also the registry cache of layer "app"'
  ],
  [
    'two layers with one stable-tag',
    ['  base:', '    stable-tag: current', '  app:', '    from: base', '    stable-tag: current'],
    [8, 17],
    'layer "app" stable tag r/x:current is also the stable tag of layer "base"'
  ],
  [
    'a stable-tag over a parent’s default',
    ['  base:', '  app:', '    from: base', '    stable-tag: base-stable'],
    [7, 17],
    'layer "app" stable tag r/x:base-stable is also the stable tag of layer "base"'
  ],
  [
    'a parent’s stable-tag over the leaf’s latest',
    ['  base:', '    stable-tag: latest', '  app:', '    from: base'],
    [5, 17],
    'layer "base" stable tag r/x:latest is also the stable tag of layer "app"'
  ],
  [
    'a literal tag over a cache',
    ['  base:', '  app:', '    from: base', "    tags: ['{sha7}', cache-base]"],
    [7, 22],
    'layer "app" tag r/x:cache-base is also the registry cache of layer "base"'
  ],
  [
    'a literal tag over another layer’s tag',
    ['  base:', '    tags: [edge]', '  app:', '    from: base', '    tags: [edge]'],
    [8, 12],
    'layer "app" tag r/x:edge is also a tag of layer "base"'
  ],
  [
    'a sanitized clash',
    ['  base:', '    stable-tag: Current', '  app:', '    from: base', "    stable-tag: 'CURRENT'"],
    [8, 17],
    'layer "app" stable tag r/x:current is also the stable tag of layer "base"'
  ]
]

test.each(TAG_CLASHES)('%s: a config error at the tag', (_what, lines, [line, column], what) => {
  const err = configError(['version: 1', 'image: r/x', 'layers:', ...lines].join('\n'))
  expect([err.line, err.column, err.what]).toEqual([line, column, what])
  expect(err.fix).toBe(
    'give one of the layers its own `image`, or `tags` and a `stable-tag` that use {layer}'
  )
})

test('tags set in defaults clash between layers: the error points into defaults', () => {
  const err = configError(
    [
      'version: 1',
      'image: r/x',
      'defaults:',
      '  tags: [edge]',
      'layers:',
      '  base:',
      '  app: { from: base }'
    ].join('\n')
  )
  expect([err.line, err.column, err.what]).toEqual([
    4,
    10,
    'layer "app" tag r/x:edge is also a tag of layer "base"'
  ])
})

test.each([
  [
    'a stable-tag of its own per layer',
    [
      '  base:',
      "    stable-tag: '{layer}-current'",
      '  app:',
      '    from: base',
      "    stable-tag: '{layer}-current'"
    ]
  ],
  [
    'the same tag in two repositories',
    ['  base:', '    image: r/base', '    tags: [edge]', '  app:', '    from: base', '    tags: [edge]']
  ],
  [
    'a tag that depends on the event',
    ['  base:', "    tags: ['{branch}']", '  app:', '    from: base', "    tags: ['{branch}']"]
  ]
])('%s is fine here (event-dependent clashes are the plan’s)', (_what, lines) => {
  expect(() => parseConfig(['version: 1', 'image: r/x', 'layers:', ...lines].join('\n'), FILE)).not.toThrow()
})

test.each([
  ['retention.default.stable', '  default: { stable: { keep: 3 } }', 'keep', [5, 22]],
  ['retention.default.stable', '  default: { stable: { max-age-days: 30 } }', 'max-age-days', [5, 22]],
  ['retention.layers.app.stable', '  layers: { app: { stable: { keep: 1 } } }', 'keep', [5, 28]]
])('%s with %s can never apply: a config error', (ctx, line, key, [l, c]) => {
  const err = configError(['version: 1', 'image: r/x', 'layers: { app: }', 'retention:', line].join('\n'))
  expect([err.line, err.column, err.what]).toEqual([
    l,
    c,
    `${ctx} sets ${key}, which can never apply: stable tags are always kept`
  ])
})

test.each([
  '  default: { stable: { keep-forever: true } }',
  '  default: { stable: {} }',
  '  default: { versioned: { keep: 3 } }'
])('retention %s is fine', line => {
  expect(() =>
    parseConfig(['version: 1', 'image: r/x', 'layers: { app: }', 'retention:', line].join('\n'), FILE)
  ).not.toThrow()
})

test.each([
  ['stable-tag: "---"', '    stable-tag: "---"', 'stable tag "---"', 17],
  ['stable-tag: 日本', '    stable-tag: 日本', 'stable tag "日本"', 17],
  ['tags: [..., "{sha7}"]', '    tags: ["...", "{sha7}"]', 'tag "..."', 12],
  ['tags: ["🚀"]', '    tags: ["🚀"]', 'tag "🚀"', 12]
])('%s: a tag that sanitizes to nothing is a config error', (_what, line, what, column) => {
  const err = configError(['version: 1', 'image: r/x', 'layers:', '  app:', line].join('\n'))
  expect([err.line, err.column, err.what]).toEqual([
    5,
    column,
    `layer "app" ${what} is empty once sanitized (tags keep only a-z 0-9 _ . -)`
  ])
})

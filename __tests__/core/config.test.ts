import { readFileSync } from 'node:fs'
import {
  ConfigError,
  parseConfig,
  parseConfigWithPositions,
  parentBuildArg
} from '../../src/core/config/index.js'
import type { LayerConfig, StrataConfig } from '../../src/core/types.js'
import { IMAGE, layer as baseLayer, specExample } from '../../__fixtures__/layers.js'

const FILE = '.github/strata.yml'
const yml = (...lines: string[]): string => lines.join('\n') + '\n'

// SPEC section 1, verbatim.
const SPEC_EXAMPLE = `version: 1
image: ghcr.io/acme/sindri         # one repository; tags tell the layers apart
defaults:                          # optional; any layer key below may be set here
  context: .
  platforms: [linux/amd64]
layers:
  base:
    dockerfile: Dockerfile.base
    paths:
      - Dockerfile.base
      - docker/lib/registry-retry.sh
      - docker/scripts/install-packages.sh
  tooling:
    dockerfile: Dockerfile.tooling
    from: base                     # parent; its image ref is passed as --build-arg BASE_IMAGE
    paths:
      - Dockerfile.tooling
      - docker/config/sshd_config
      - docker/scripts/install-*.sh
      - '!docker/scripts/install-packages.sh'
  app:
    dockerfile: Dockerfile
    from: tooling                  # → --build-arg TOOLING_IMAGE=<ref>
    paths: [Dockerfile, 'docker/**']
    always: true                   # built on every run, like the seed's application layer
`

// The parser's default dockerfile is `Dockerfile`, whatever the layer's name.
const layer = (name: string, extra: Partial<LayerConfig> = {}): LayerConfig =>
  baseLayer(name, { dockerfile: 'Dockerfile', ...extra })

/** The ConfigError that parsing `text` throws (the test fails if it throws none, or another error). */
function thrown(text: string): ConfigError {
  let err: unknown
  try {
    parseConfig(text, FILE)
  } catch (e) {
    err = e
  }
  expect(err).toBeInstanceOf(ConfigError)
  return err as ConfigError
}

describe('parseConfig: valid configs', () => {
  test('SPEC section 1 example, verbatim', () => {
    const expected: StrataConfig = specExample()
    expect(parseConfig(SPEC_EXAMPLE, FILE)).toEqual(expected)
    // The fixture is this example as prettier writes it: schema and adapter tests run it too.
    expect(parseConfig(readFileSync('__fixtures__/configs/three-layer.yml', 'utf8'), FILE)).toEqual(expected)
  })

  test('built-in defaults fill every field of a bare layer', () => {
    const c = parseConfig(yml('version: 1', 'image: ghcr.io/acme/app', 'layers:', '  app:'), FILE)
    expect(c.layers).toEqual([layer('app', { image: 'ghcr.io/acme/app' })])
    expect(c.order).toEqual(['app'])
    expect(c.retention).toBeUndefined()
  })

  test.each([
    ['a name', 'from: tool-chain', [{ layer: 'tool-chain', buildArg: 'TOOL_CHAIN_IMAGE' }]],
    [
      'a list of names',
      'from: [base, tool-chain]',
      [
        { layer: 'base', buildArg: 'BASE_IMAGE' },
        { layer: 'tool-chain', buildArg: 'TOOL_CHAIN_IMAGE' }
      ]
    ],
    [
      'a map name → build-arg',
      'from: { base: ROOT, tool-chain: }',
      [
        { layer: 'base', buildArg: 'ROOT' },
        { layer: 'tool-chain', buildArg: 'TOOL_CHAIN_IMAGE' }
      ]
    ]
  ])('from as %s', (_, from, expected) => {
    const c = parseConfig(
      yml('version: 1', 'image: r/x', 'layers:', '  base:', '  tool-chain:', '  app:', `    ${from}`),
      FILE
    )
    expect(c.layers[2].from).toEqual(expected)
  })

  test.each([
    ['base', 'BASE_IMAGE'],
    ['tool-chain', 'TOOL_CHAIN_IMAGE'],
    ['my_Layer-2', 'MY_LAYER_2_IMAGE']
  ])('default build-arg of parent %s is %s', (name, arg) => {
    expect(parentBuildArg(name)).toBe(arg)
  })

  test.each([
    [
      'parents first, ties in config order',
      ['app:[left,right]', 'right:[base]', 'left:[base]', 'base:[]'],
      ['base', 'right', 'left', 'app']
    ],
    [
      'independent stacks keep config order',
      ['a2:[a1]', 'b1:[]', 'a1:[]', 'b2:[b1]'],
      ['b1', 'a1', 'a2', 'b2']
    ],
    ['already sorted', ['base:[]', 'tooling:[base]', 'app:[tooling]'], ['base', 'tooling', 'app']]
  ])('order: %s', (_, spec, expected) => {
    const lines = spec.flatMap(s => {
      const [name, parents] = s.split(':')
      return [`  ${name}:`, `    from: ${parents}`]
    })
    expect(parseConfig(yml('version: 1', 'image: r/x', 'layers:', ...lines), FILE).order).toEqual(expected)
  })

  test('defaults apply under layer values; build-args and labels merge key by key', () => {
    const c = parseConfig(
      yml(
        'version: 1',
        'image: GHCR.io/Acme/Sindri',
        'defaults:',
        '  dockerfile: docker/Dockerfile',
        '  platforms: [linux/amd64, linux/arm64/v8]',
        '  cache: [registry]',
        '  build-args: { A: 1, B: two }',
        '  labels: { team: core }',
        '  provenance: mode=max',
        '  sbom: false',
        "  secrets: ['id=npm,env=NPM_TOKEN']",
        'layers:',
        '  base:',
        '    build-args: { B: three, C: true }',
        '    cache: [local, inline, local]',
        '    target: runtime',
        '  app:',
        '    from: base',
        '    image: Registry.local:5000/Team/App',
        '    labels: { tier: web }',
        "    tags: ['{branch}-{sha7}', 'v{version}', '{date}-{timestamp}']",
        "    stable-tag: '{layer}-current'"
      ),
      FILE
    )
    const common = {
      dockerfile: 'docker/Dockerfile',
      platforms: ['linux/amd64', 'linux/arm64/v8'],
      provenance: 'mode=max',
      sbom: false,
      secrets: ['id=npm,env=NPM_TOKEN']
    }
    expect(c.image).toBe(IMAGE)
    expect(c.layers).toEqual([
      layer('base', {
        ...common,
        buildArgs: { A: '1', B: 'three', C: 'true' },
        cache: ['local', 'inline'],
        cacheListed: true,
        labels: { team: 'core' },
        target: 'runtime'
      }),
      layer('app', {
        ...common,
        from: [{ layer: 'base', buildArg: 'BASE_IMAGE' }],
        image: 'registry.local:5000/team/app',
        buildArgs: { A: '1', B: 'two' },
        cache: ['registry'],
        cacheListed: true,
        labels: { team: 'core', tier: 'web' },
        tags: ['{branch}-{sha7}', 'v{version}', '{date}-{timestamp}'],
        stableTag: '{layer}-current'
      })
    ])
  })

  test('no top-level image when every layer has its own: config image is the leaf’s', () => {
    const c = parseConfig(
      yml('version: 1', 'layers:', '  base: { image: r/base }', '  app: { from: base, image: r/app }'),
      FILE
    )
    expect(c.image).toBe('r/app')
    expect(c.layers.map(l => l.image)).toEqual(['r/base', 'r/app'])
  })

  test('anchors, aliases and merge keys', () => {
    const c = parseConfig(
      yml(
        'version: 1',
        'image: r/x',
        'layers:',
        '  base: &common',
        '    paths: &p [a/**]',
        "    stable-tag: &t '{layer}-ok'",
        '    platforms: [linux/arm64]',
        '  app:',
        '    <<: *common',
        '    paths: [b/**]',
        '    from: base',
        '  other:',
        '    paths: *p',
        '    stable-tag: *t'
      ),
      FILE
    )
    expect(c.layers.map(l => [l.name, l.paths, l.platforms])).toEqual([
      ['base', ['a/**'], ['linux/arm64']],
      ['app', ['b/**'], ['linux/arm64']],
      ['other', ['a/**'], ['linux/amd64']]
    ])
    expect(c.layers.map(l => l.stableTag)).toEqual(['{layer}-ok', '{layer}-ok', '{layer}-ok'])
  })

  test('fixture: a diamond DAG', () => {
    const c = parseConfig(readFileSync('__fixtures__/configs/diamond.yml', 'utf8'), FILE)
    expect(c.order).toEqual(['base', 'node-tools', 'py-tools', 'app'])
    expect(c.layers[0].from).toEqual([
      { layer: 'node-tools', buildArg: 'NODE_IMAGE' },
      { layer: 'py-tools', buildArg: 'PYTHON_IMAGE' }
    ])
    expect(c.layers.map(l => l.platforms)).toEqual(Array(4).fill(['linux/amd64', 'linux/arm64']))
    expect(c.layers[3].stableTag).toBe('base-stable')
  })

  test('fixture: a monorepo with two independent stacks', () => {
    const c = parseConfig(readFileSync('__fixtures__/configs/monorepo.yml', 'utf8'), FILE)
    expect(c.order).toEqual(['api-base', 'api', 'web-base', 'web'])
    expect(c.image).toBe('ghcr.io/acme/web')
    expect(c.layers.map(l => [l.name, l.image, l.context, l.from])).toEqual([
      ['api-base', 'ghcr.io/acme/api', 'services/api', []],
      ['api', 'ghcr.io/acme/api', 'services/api', [{ layer: 'api-base', buildArg: 'API_BASE_IMAGE' }]],
      ['web-base', 'ghcr.io/acme/web', 'services/web', []],
      ['web', 'ghcr.io/acme/web', 'services/web', [{ layer: 'web-base', buildArg: 'BASE' }]]
    ])
    expect(c.layers[3]).toMatchObject({
      buildArgs: { REGISTRY: 'ghcr.io/acme' },
      labels: { 'org.opencontainers.image.vendor': 'Acme' },
      target: 'runtime',
      provenance: 'mode=max',
      sbom: true
    })
  })

  test('retention: the seed policy', () => {
    const c = parseConfig(readFileSync('__fixtures__/configs/retention.yml', 'utf8'), FILE)
    expect(c.retention).toEqual({
      minKeep: 3,
      rules: {
        pr: { maxAgeDays: 7, deleteWhenClosed: true },
        branch: { keep: 10 },
        untagged: { maxAgeDays: 0 }
      },
      layers: { base: { versioned: { keepForever: true } }, tooling: { versioned: { keep: 3 } } }
    })
  })

  test('retention: min-keep defaults to 1, empty rules are allowed', () => {
    const c = parseConfig(
      yml('version: 1', 'image: r/x', 'layers: { app: {} }', 'retention:', '  default:', '    cache: {}'),
      FILE
    )
    expect(c.retention).toEqual({ minKeep: 1, rules: { cache: {} }, layers: {} })
  })

  test('version may be left out', () => {
    expect(parseConfig(yml('image: r/x', 'layers: { app: }'), FILE).version).toBe(1)
  })

  test('positions of layer names and dockerfile keys (from the layer or defaults)', () => {
    const { positions } = parseConfigWithPositions(
      yml(
        'version: 1',
        'image: r/x',
        'defaults:',
        '  dockerfile: D',
        'layers:',
        '  base:',
        '    dockerfile: Dockerfile.base',
        '  app: { from: base }'
      ),
      FILE
    )
    expect(positions.layers).toEqual({
      base: { name: { line: 6, column: 3 }, dockerfile: { line: 7, column: 5 } },
      app: { name: { line: 8, column: 3 }, dockerfile: { line: 4, column: 3 } }
    })
  })
})

const L = ['version: 1', 'image: ghcr.io/acme/sindri', 'layers:'] // layers start on line 4

describe('parseConfig: errors name file:line:column and one fix', () => {
  test.each([
    [
      'YAML syntax error',
      yml(...L, '  base: [a, b', '  app: {}'),
      `${FILE}:5:3: YAML syntax error: Flow sequence in block collection must be sufficiently indented and end with a ] (fix the YAML here: check indentation, quotes and brackets)`
    ],
    [
      'empty file',
      '',
      `${FILE}:1:1: the config is empty (start it with \`version: 1\`, \`image:\` and \`layers:\`)`
    ],
    [
      'a list at the top',
      yml('- a'),
      `${FILE}:1:1: the config must be a map, got a list (start it with \`version: 1\`)`
    ],
    [
      'unknown top-level key, with a suggestion',
      yml('version: 1', 'imgae: r/x', 'layers: { a: }'),
      `${FILE}:2:1: the config has unknown key "imgae" (did you mean "image"?)`
    ],
    [
      'unknown top-level key, no suggestion',
      yml('version: 1', 'image: r/x', 'whatever: 1', 'layers: { a: }'),
      `${FILE}:3:1: the config has unknown key "whatever" (valid keys: version, image, defaults, layers, retention, trusted-signers)`
    ],
    [
      'unknown layer key (SPEC wording)',
      yml(...L, '  base: {}', '  tooling:', '    dockerfle: Dockerfile.tooling'),
      `${FILE}:6:5: layer "tooling" has unknown key "dockerfle" (did you mean "dockerfile"?)`
    ],
    [
      'unknown layer key with _ for -',
      yml(...L, '  base:', '    build_args: { A: b }'),
      `${FILE}:5:5: layer "base" has unknown key "build_args" (did you mean "build-args"?)`
    ],
    [
      'unknown key in defaults',
      yml('version: 1', 'image: r/x', 'defaults:', '  platform: [linux/amd64]', 'layers: { a: }'),
      `${FILE}:4:3: defaults has unknown key "platform" (did you mean "platforms"?)`
    ],
    [
      'unknown key in retention',
      yml(...L, '  a:', 'retention:', '  min_keep: 3'),
      `${FILE}:6:3: retention has unknown key "min_keep" (did you mean "min-keep"?)`
    ],
    [
      'unknown key in a retention rule',
      yml(...L, '  a:', 'retention:', '  default:', '    pr: { max-age: 7 }'),
      `${FILE}:7:11: retention.default.pr has unknown key "max-age" (did you mean "max-age-days"?)`
    ],
    [
      'wrong type: bool',
      yml(...L, '  app:', '    always: yes'),
      `${FILE}:5:13: layer "app" key "always" must be true or false, got "yes" (e.g. always: true)`
    ],
    [
      'wrong type: list expected',
      yml(...L, '  app:', '    paths: docker/**'),
      `${FILE}:5:12: layer "app" key "paths" must be a list of strings, got "docker/**" (e.g. paths: [Dockerfile, 'docker/**'])`
    ],
    [
      'wrong type: string expected',
      yml(...L, '  app:', '    dockerfile: [a, b]'),
      `${FILE}:5:17: layer "app" key "dockerfile" must be a string, got a list (e.g. dockerfile: Dockerfile.base)`
    ],
    [
      'wrong type: list item',
      yml(...L, '  app:', '    platforms: [linux/amd64, 3]'),
      `${FILE}:5:30: layer "app" key "platforms" must be a list of strings, got 3 in it (e.g. platforms: [linux/amd64, linux/arm64])`
    ],
    [
      'wrong type: empty value',
      yml(...L, '  app:', '    context:'),
      `${FILE}:5:13: layer "app" key "context" must be a string, got nothing (e.g. context: .)`
    ],
    [
      'wrong type: layers is a list',
      yml('version: 1', 'image: r/x', 'layers:', '  - base'),
      `${FILE}:4:3: "layers" must be a map of layer names to settings, got a list (write layers: { base: {...}, app: {...} })`
    ],
    [
      'wrong type: a layer is a string',
      yml(...L, '  app: Dockerfile'),
      `${FILE}:4:8: layer "app" must be a map of settings, got "Dockerfile" (e.g. app: { dockerfile: Dockerfile.app })`
    ],
    [
      'wrong type: from',
      yml(...L, '  base:', '  app: { from: 3 }'),
      `${FILE}:5:16: layer "app" key "from" must be a layer name, a list of names, or a map of name to build-arg, got 3 (e.g. from: base, from: [base, tools] or from: { base: BASE_IMAGE })`
    ],
    [
      'wrong type: retention keep',
      yml(...L, '  a:', 'retention:', '  default:', '    branch: { keep: -1 }'),
      `${FILE}:7:21: retention.default.branch key "keep" must be a whole number, 0 or more, got -1 (e.g. keep: 10)`
    ],
    [
      'wrong type: min-keep',
      yml(...L, '  a:', 'retention: { min-keep: three }'),
      `${FILE}:5:24: retention key "min-keep" must be a whole number, 0 or more, got "three" (e.g. min-keep: 3)`
    ],
    [
      'version 2',
      yml('version: 2', 'image: r/x', 'layers: { a: }'),
      `${FILE}:1:10: "version" must be 1, got 2 (write version: 1)`
    ],
    [
      "version '1'",
      yml("version: '1'", 'image: r/x', 'layers: { a: }'),
      `${FILE}:1:10: "version" must be 1, got "1" (write version: 1)`
    ],
    [
      'unknown parent',
      yml(...L, '  base:', '  tooling:', '    from: bsae'),
      `${FILE}:6:11: layer "tooling" has unknown parent "bsae" (did you mean "base"?)`
    ],
    [
      'unknown parent, nothing close',
      yml(...L, '  base:', '  app: { from: [base, runtime] }'),
      `${FILE}:5:23: layer "app" has unknown parent "runtime" (\`from\` names layers under \`layers:\`: base, app)`
    ],
    [
      'cycle of two',
      yml(...L, '  base:', '    from: tooling', '  tooling:', '    from: base'),
      `${FILE}:5:11: layers form a cycle: base → tooling → base (remove one of these \`from\` parents)`
    ],
    [
      'cycle of three, named parent → child',
      yml(...L, '  a: { from: c }', '  b: { from: a }', '  c: { from: b }'),
      `${FILE}:4:14: layers form a cycle: a → b → c → a (remove one of these \`from\` parents)`
    ],
    [
      'a layer that is its own parent',
      yml(...L, '  base:', '  app: { from: [base, app] }'),
      `${FILE}:5:16: layers form a cycle: app → app (remove one of these \`from\` parents)`
    ],
    [
      'parent named twice',
      yml(...L, '  base:', '  app: { from: [base, base] }'),
      `${FILE}:5:23: layer "app" names parent "base" twice (list each parent once)`
    ],
    [
      'bad build-arg in from map',
      yml(...L, '  base:', '  app: { from: { base: 1X } }'),
      `${FILE}:5:24: layer "app" maps parent "base" to "1X", which is not a build-arg name (e.g. from: { base: BASE_IMAGE })`
    ],
    [
      'duplicate layer',
      yml(...L, '  base:', '    dockerfile: A', '  base:', '    dockerfile: B'),
      `${FILE}:6:3: layer "base" is defined twice (first at line 4) (rename one of them or merge their keys)`
    ],
    [
      'duplicate key in a layer',
      yml(...L, '  base:', '    paths: [a]', '    paths: [b]'),
      `${FILE}:6:5: layer "base" has key "paths" twice (first at line 5) (keep one of them)`
    ],
    [
      'layers that outputs cannot tell apart',
      yml(...L, '  my-app:', '  my_app:'),
      `${FILE}:5:3: layer "my_app" clashes with layer "my-app": outputs and tags cannot tell them apart (rename one of them)`
    ],
    [
      'missing image',
      yml('version: 1', 'layers:', '  base: { image: r/base }', '  app: { from: base }'),
      `${FILE}:4:3: layer "app" has no image (add a top-level \`image: ghcr.io/<owner>/<name>\`, or \`image:\` to every layer)`
    ],
    [
      'image with a tag',
      yml('version: 1', 'image: ghcr.io/acme/app:latest', 'layers: { a: }'),
      `${FILE}:2:8: the config key "image" is not a repository: "ghcr.io/acme/app:latest" (write the repository without tag or digest, e.g. ghcr.io/acme/app; tags come from \`tags\`)`
    ],
    [
      'no layers',
      yml('version: 1', 'image: r/x'),
      `${FILE}:1:1: the config has no \`layers\` (add layers: with at least one layer, e.g. layers: { app: {} })`
    ],
    [
      'empty layers',
      yml('version: 1', 'image: r/x', 'layers:'),
      `${FILE}:3:1: \`layers\` is empty (add at least one layer, e.g. app: { dockerfile: Dockerfile })`
    ],
    [
      'empty layers map',
      yml('version: 1', 'image: r/x', 'layers: {}'),
      `${FILE}:3:9: \`layers\` is empty (add at least one layer, e.g. app: { dockerfile: Dockerfile })`
    ],
    [
      'layer name starting with a digit',
      yml(...L, '  1base:'),
      `${FILE}:4:3: layer name "1base" is not valid (start it with a letter and use only letters, digits, - and _)`
    ],
    [
      'layer name with a dot',
      yml(...L, '  base.v2:'),
      `${FILE}:4:3: layer name "base.v2" is not valid (start it with a letter and use only letters, digits, - and _)`
    ],
    [
      'unknown cache kind',
      yml(...L, '  app:', '    cache: [gha, registy]'),
      `${FILE}:5:18: layer "app" has unknown cache kind "registy" (did you mean "registry"?)`
    ],
    [
      'unknown cache kind, nothing close',
      yml(...L, '  app:', '    cache: [s3]'),
      `${FILE}:5:13: layer "app" has unknown cache kind "s3" (use gha, registry, local or inline)`
    ],
    [
      'bad platform',
      yml(...L, '  app:', '    platforms: [linux-amd64]'),
      `${FILE}:5:17: layer "app" has bad platform "linux-amd64" (write os/arch[/variant], e.g. linux/amd64 or linux/arm64/v8)`
    ],
    [
      'empty platforms',
      yml(...L, '  app:', '    platforms: []'),
      `${FILE}:5:16: layer "app" has an empty \`platforms\` list (list at least one, e.g. [linux/amd64])`
    ],
    [
      'tag template with an unknown variable, close to a known one',
      yml(...L, '  app:', "    tags: ['{layer}-{sha8}']"),
      `${FILE}:5:12: layer "app" tag "{layer}-{sha8}" has unknown variable {sha8} (did you mean {sha7}?)`
    ],
    [
      'tag template with an unknown variable',
      yml(...L, '  app:', "    tags: ['{layer}', 'run-{run_number}']"),
      `${FILE}:5:23: layer "app" tag "run-{run_number}" has unknown variable {run_number} (variables: {layer} {sha} {sha7} {branch} {pr} {version} {major} {minor} {patch} {date} {timestamp} {inputs})`
    ],
    [
      'stable-tag template in defaults',
      yml('version: 1', 'image: r/x', 'defaults:', "  stable-tag: '{layer}-{stable}'", 'layers: { a: }'),
      `${FILE}:4:15: defaults stable-tag "{layer}-{stable}" has unknown variable {stable} (variables: {layer} {sha} {sha7} {branch} {pr} {version} {major} {minor} {patch} {date} {timestamp} {inputs})`
    ],
    [
      'tag template with an unmatched brace',
      yml(...L, '  app:', "    stable-tag: '{layer-stable'"),
      `${FILE}:5:17: layer "app" stable-tag "{layer-stable" has an unmatched brace (write variables as {name}: {layer} {sha} {sha7} {branch} {pr} {version} {major} {minor} {patch} {date} {timestamp} {inputs})`
    ],
    [
      'retention: unknown tag kind',
      yml(...L, '  a:', 'retention:', '  default:', '    prs: { keep: 1 }'),
      `${FILE}:7:5: retention.default has unknown tag kind "prs" (did you mean "pr"?)`
    ],
    [
      'retention: unknown layer',
      yml(...L, '  base:', 'retention:', '  layers:', '    bsae: { versioned: { keep: 3 } }'),
      `${FILE}:7:5: retention.layers names unknown layer "bsae" (did you mean "base"?)`
    ],
    [
      'retention: unknown tag kind for a layer',
      yml(...L, '  base:', 'retention:', '  layers:', '    base: { version: { keep: 3 } }'),
      `${FILE}:7:13: retention.layers.base has unknown tag kind "version" (did you mean "versioned"?)`
    ],
    [
      'retention: delete-when-closed outside pr',
      yml(...L, '  a:', 'retention:', '  default:', '    branch: { delete-when-closed: true }'),
      `${FILE}:7:15: retention.default.branch sets delete-when-closed (only pr tags belong to a pull request: move it under pr)`
    ],
    [
      'retention: keep-forever with a limit',
      yml(...L, '  a:', 'retention:', '  default:', '    versioned: { keep-forever: true, keep: 3 }'),
      `${FILE}:7:16: retention.default.versioned sets keep-forever together with keep or max-age-days (keep-forever keeps everything: remove the other limits or keep-forever)`
    ],
    [
      'retention: wrong type of a rule',
      yml(...L, '  a:', 'retention:', '  default:', '    pr: 7'),
      `${FILE}:7:9: retention.default.pr must be a map, got 7 (e.g. { keep: 10 } or { max-age-days: 7 })`
    ]
  ])('%s', (_, text, message) => {
    const err = thrown(text)
    expect(err.message).toBe(message)
    const [, line, column] = message.split(':')
    expect([err.file, err.line, err.column]).toEqual([FILE, Number(line), Number(column)])
  })
})

// `paths` items are compiled at parse time (as the planner compiles them), so a bad pattern is reported
// at its own line:column with the fix, not later as a bare error while planning.
describe('parseConfig: invalid path patterns', () => {
  const paths = (...items: string[]): string =>
    yml(...L, '  app:', '    paths:', ...items.map(i => `      - ${i}`))
  test.each([
    [
      'whitespace only',
      paths('Dockerfile', "' '"),
      `${FILE}:7:9: layer "app" has invalid path pattern " ": it is empty (remove it)`
    ],
    [
      'a bare !',
      paths('Dockerfile', "'!'"),
      `${FILE}:7:9: layer "app" has invalid path pattern "!": \`!\` needs a pattern after it (e.g. "!docs/**")`
    ],
    [
      'two leading !',
      paths('docs/**', "'!!docs/x.md'"),
      `${FILE}:7:9: layer "app" has invalid path pattern "!!docs/x.md": it is not valid (use a single leading \`!\` to exclude)`
    ],
    [
      'a leading /',
      paths('Dockerfile', '/docker/**'),
      `${FILE}:7:9: layer "app" has invalid path pattern "/docker/**": patterns are relative to the repository root (write "docker/**")`
    ],
    [
      'an excluded leading /',
      paths('docker/**', "'!/docker/tmp/**'"),
      `${FILE}:7:9: layer "app" has invalid path pattern "!/docker/tmp/**": patterns are relative to the repository root (write "docker/tmp/**")`
    ],
    [
      'the repository root',
      paths('./'),
      `${FILE}:6:9: layer "app" has invalid path pattern "./": it names the repository root (use "**" for every file)`
    ],
    [
      'in a flow list, the bad item is pointed at',
      yml(...L, '  app:', "    paths: [Dockerfile, 'docker/**', '!']"),
      `${FILE}:5:38: layer "app" has invalid path pattern "!": \`!\` needs a pattern after it (e.g. "!docs/**")`
    ],
    [
      'in defaults',
      yml('version: 1', 'image: r/x', 'defaults:', '  paths: [/Dockerfile]', 'layers: { a: }'),
      `${FILE}:4:11: defaults has invalid path pattern "/Dockerfile": patterns are relative to the repository root (write "Dockerfile")`
    ]
  ])('%s', (_, text, message) => {
    const err = thrown(text)
    expect(err.message).toBe(message)
    const [, line, column] = message.split(':')
    expect([err.line, err.column]).toEqual([Number(line), Number(column)])
  })

  test.each([
    ['a folder with ./ and a trailing /', ['./docker/', '!docker/tmp/']],
    ['globs and exclusions', ['**/*.sh', '!docs/**', '{a,b}/c', 'file with spaces.txt']],
    ['dot files', ['.github/strata.yml', '.dockerignore']]
  ])('valid patterns are kept as written: %s', (_, items) => {
    const c = parseConfig(yml(...L, '  app:', `    paths: ${JSON.stringify(items)}`), FILE)
    expect(c.layers[0].paths).toEqual(items)
  })
})

import { buildArgv, outputOf, quoteCommand, secretEnv, secretSpec } from '../../src/core/buildx-args.js'
import type { BuildArgvInput } from '../../src/core/buildx-args.js'
import type { LayerConfig } from '../../src/core/types.js'
import { from, IMAGE, layer as baseLayer } from '../../__fixtures__/layers.js'

const SHA = '3f2a9c1d0e5b8a7c6f4e3d2c1b0a9f8e7d6c5b4a'

// The leaf `app` of SPEC 1's example.
const layer = (over: Partial<LayerConfig> = {}): LayerConfig =>
  baseLayer('app', { dockerfile: 'Dockerfile', from: from('tooling'), ...over })

function input(over: Partial<BuildArgvInput> = {}): BuildArgvInput {
  return {
    layer: layer(),
    parents: { TOOLING_IMAGE: `${IMAGE}:tooling-stable@sha256:aaaa` },
    tags: [`${IMAGE}:main-3f2a9c1`],
    push: true,
    buildArgs: {},
    oci: { source: 'https://github.com/acme/sindri', revision: SHA, created: '2026-11-22T15:00:00.000Z' },
    metadataFile: '/tmp/r/strata-app.json',
    cache: { from: [], to: [] },
    ...over
  }
}

const HEAD = [
  'buildx',
  'build',
  '--progress=plain',
  '--file',
  'Dockerfile',
  '--metadata-file',
  '/tmp/r/strata-app.json'
]
const LABELS = [
  '--label',
  'org.opencontainers.image.source=https://github.com/acme/sindri',
  '--label',
  `org.opencontainers.image.revision=${SHA}`,
  '--label',
  'org.opencontainers.image.created=2026-11-22T15:00:00.000Z'
]
const PARENT = ['--build-arg', `TOOLING_IMAGE=${IMAGE}:tooling-stable@sha256:aaaa`]

test.each<[number, string, BuildArgvInput, string[]]>([
  [
    1,
    'push, one platform, digest-pinned parent',
    input(),
    [
      ...HEAD,
      '--platform',
      'linux/amd64',
      ...PARENT,
      ...LABELS,
      '--tag',
      `${IMAGE}:main-3f2a9c1`,
      '--push',
      '.'
    ]
  ],
  [
    2,
    'no push, one platform: --load, parent by local tag',
    input({ push: false, parents: { TOOLING_IMAGE: `${IMAGE}:tooling-3f2a9c1` } }),
    [
      ...HEAD,
      '--platform',
      'linux/amd64',
      '--build-arg',
      `TOOLING_IMAGE=${IMAGE}:tooling-3f2a9c1`,
      ...LABELS,
      '--tag',
      `${IMAGE}:main-3f2a9c1`,
      '--load',
      '.'
    ]
  ],
  [
    3,
    'no push, two platforms, docker-container driver: neither --push nor --load',
    input({
      push: false,
      driver: 'docker-container',
      parents: {},
      layer: layer({ from: [], platforms: ['linux/amd64', 'linux/arm64'] })
    }),
    [...HEAD, '--platform', 'linux/amd64,linux/arm64', ...LABELS, '--tag', `${IMAGE}:main-3f2a9c1`, '.']
  ],
  [
    8,
    'no push, two platforms, docker driver: --load (the containerd image store loads both)',
    input({
      push: false,
      parents: {},
      driver: 'docker',
      layer: layer({ from: [], platforms: ['linux/amd64', 'linux/arm64'] })
    }),
    [
      ...HEAD,
      '--platform',
      'linux/amd64,linux/arm64',
      ...LABELS,
      '--tag',
      `${IMAGE}:main-3f2a9c1`,
      '--load',
      '.'
    ]
  ],
  [
    4,
    'platforms input overrides, builder, target, context, dockerfile',
    input({
      platforms: ['linux/arm64'],
      builder: 'remote-bk',
      layer: layer({ dockerfile: 'docker/Dockerfile.app', context: 'docker', target: 'runtime' })
    }),
    [
      'buildx',
      'build',
      '--builder',
      'remote-bk',
      '--progress=plain',
      '--file',
      'docker/Dockerfile.app',
      '--metadata-file',
      '/tmp/r/strata-app.json',
      '--platform',
      'linux/arm64',
      '--target',
      'runtime',
      ...PARENT,
      ...LABELS,
      '--tag',
      `${IMAGE}:main-3f2a9c1`,
      '--push',
      'docker'
    ]
  ],
  [
    5,
    'build-args: layer, then input wins, parent arg cannot be overridden',
    input({
      layer: layer({ buildArgs: { A: '1', B: 'layer' } }),
      buildArgs: { B: 'input', TOOLING_IMAGE: 'evil' }
    }),
    [
      ...HEAD,
      '--platform',
      'linux/amd64',
      ...PARENT,
      '--build-arg',
      'A=1',
      '--build-arg',
      'B=input',
      ...LABELS,
      '--tag',
      `${IMAGE}:main-3f2a9c1`,
      '--push',
      '.'
    ]
  ],
  [
    6,
    'labels, several tags, cache, provenance, sbom, secrets',
    input({
      layer: layer({
        labels: { 'org.opencontainers.image.source': 'https://example.com/x', team: 'infra' },
        provenance: 'mode=max',
        sbom: true,
        secrets: ['NPM_TOKEN', 'id=npmrc,src=.npmrc']
      }),
      tags: [`${IMAGE}:main-3f2a9c1`, `${IMAGE}:v1`],
      cache: { from: ['type=gha,scope=app-main'], to: ['type=gha,scope=app-main,mode=max,ignore-error=true'] }
    }),
    [
      ...HEAD,
      '--platform',
      'linux/amd64',
      ...PARENT,
      '--label',
      'org.opencontainers.image.source=https://example.com/x',
      ...LABELS.slice(2),
      '--label',
      'team=infra',
      '--tag',
      `${IMAGE}:main-3f2a9c1`,
      '--tag',
      `${IMAGE}:v1`,
      '--cache-from',
      'type=gha,scope=app-main',
      '--cache-to',
      'type=gha,scope=app-main,mode=max,ignore-error=true',
      '--provenance=mode=max',
      '--sbom=true',
      '--secret',
      'id=NPM_TOKEN,env=NPM_TOKEN',
      '--secret',
      'id=npmrc,src=.npmrc',
      '--push',
      '.'
    ]
  ],
  [
    7,
    'provenance false is passed (it turns off the attestation index)',
    input({ layer: layer({ provenance: false }) }),
    [
      ...HEAD,
      '--platform',
      'linux/amd64',
      ...PARENT,
      ...LABELS,
      '--tag',
      `${IMAGE}:main-3f2a9c1`,
      '--provenance=false',
      '--push',
      '.'
    ]
  ]
])('[%d] %s', (_id, _title, given, expected) => {
  expect(buildArgv(given)).toEqual(expected)
})

test.each<[boolean, string[], string | undefined, string]>([
  [true, ['linux/amd64', 'linux/arm64'], 'docker-container', 'push'],
  [false, ['linux/amd64'], 'docker-container', 'load'],
  [false, ['linux/amd64', 'linux/arm64'], 'docker', 'load'],
  [false, ['linux/amd64', 'linux/arm64'], 'docker-container', 'cache'],
  [false, ['linux/amd64', 'linux/arm64'], undefined, 'cache']
])('outputOf(push %s, %j, driver %s) → %s', (push, platforms, driver, want) => {
  expect(outputOf(push, platforms, driver)).toBe(want)
})

test('the context is always last', () => {
  const argv = buildArgv(input({ layer: layer({ context: 'ctx dir' }) }))
  expect(argv[argv.length - 1]).toBe('ctx dir')
})

test.each([
  ['NPM_TOKEN', 'id=NPM_TOKEN,env=NPM_TOKEN'],
  ['id=npmrc,src=.npmrc', 'id=npmrc,src=.npmrc'],
  ['id=tok,env=GH_TOKEN', 'id=tok,env=GH_TOKEN'],
  ['type=file,id=k,source=key.pem,required=true', 'type=file,id=k,source=key.pem,required=true']
])('secretSpec(%s) → %s', (given, want) => {
  expect(secretSpec('app', given)).toBe(want)
})

test.each([
  ['NPM_TOKEN', 'NPM_TOKEN'],
  ['id=tok,env=GH_TOKEN', 'GH_TOKEN'],
  ['type=env,id=TOKEN', 'TOKEN'],
  ['id=npmrc,src=.npmrc', undefined]
])('secretEnv(%s) → %s: the variable whose value is masked', (given, want) => {
  expect(secretEnv(given)).toBe(want)
})

function messageOf(fn: () => unknown): string {
  try {
    fn()
    return 'no error'
  } catch (e) {
    return (e as Error).message
  }
}

test.each(['NPM_TOKEN=hunter2', 'id=tok', 'id=tok,value=hunter2', 'tok en'])(
  'secretSpec refuses %s without echoing a value',
  given => {
    const message = messageOf(() => secretSpec('app', given))
    expect(message).toMatch(/^layer "app": secret ".*" is not an environment variable name/)
    expect(message).not.toContain('hunter2')
  }
)

test('quoteCommand quotes only what a shell would split', () => {
  expect(quoteCommand(['docker', 'buildx', 'build', '--label', 'a=b c', "it's", '.'])).toBe(
    `docker buildx build --label 'a=b c' 'it'\\''s' .`
  )
})

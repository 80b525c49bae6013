// The pure build steps (SPEC 7): a layer's bake target, where its image goes and the tags that move
// afterwards; the bake definition and command around them.
import { attestations, bakeArgv, bakeDefinition, escapeHcl } from '../../src/core/bake.js'
import type { LayerStep, ParentSource, StepInput, StepSettings } from '../../src/core/build-steps.js'
import {
  annotationFields,
  builtRef,
  layerStep,
  linkSessionAncestors,
  movesOf,
  outputSpec
} from '../../src/core/build-steps.js'
import { IMAGE, from, layer } from '../../__fixtures__/layers.js'

const S: StepSettings = {
  push: true,
  buildArgs: {},
  oci: { source: 'https://github.com/acme/sindri', revision: 'abc', created: '2025-06-01T12:00:00.000Z' },
  driver: 'docker',
  workspace: '/ws'
}
const D = `sha256:${'d'.repeat(64)}`
const CACHE = { from: ['type=registry,ref=x:app-stable'], to: ['type=inline,ignore-error=true'] }
const app = layer('app', { from: from('tooling'), buildArgs: { A: '1', TOOLING_IMAGE: 'ignored' } })
const input = (over: Partial<StepInput> = {}): StepInput => ({
  layer: app,
  versioned: [`${IMAGE}:main-abc`],
  moving: [`${IMAGE}:latest`],
  parents: { TOOLING_IMAGE: { layer: 'tooling', inSession: true } },
  cache: CACHE,
  ...over
})

test('a pushed layer whose parent builds in the same session: FROM the parent target, moving tags after', () => {
  expect(layerStep(input(), S)).toEqual({
    name: 'app',
    image: IMAGE,
    target: {
      context: '/ws',
      dockerfile: '/ws/Dockerfile.app',
      args: { TOOLING_IMAGE: 'strata-layer-tooling', A: '1' },
      contexts: { 'strata-layer-tooling': 'target:tooling' },
      tags: [`${IMAGE}:main-abc`],
      labels: {
        'org.opencontainers.image.source': 'https://github.com/acme/sindri',
        'org.opencontainers.image.revision': 'abc',
        'org.opencontainers.image.created': '2025-06-01T12:00:00.000Z'
      },
      platforms: ['linux/amd64'],
      'cache-from': CACHE.from,
      'cache-to': CACHE.to,
      output: ['type=image,push=true']
    },
    output: 'push',
    platforms: ['linux/amd64'],
    tags: [`${IMAGE}:main-abc`],
    moving: [`${IMAGE}:latest`],
    sessionParents: ['tooling']
  })
})

const ref = `${IMAGE}:tooling-stable@${D}`
test.each<[string, Partial<StepInput>, Partial<StepSettings>, Record<string, unknown>]>([
  [
    'a reused parent by digest: a docker-image context',
    { parents: { TOOLING_IMAGE: { layer: 'tooling', inSession: false, ref } } },
    {},
    {
      contexts: { 'strata-layer-tooling': `docker-image://${ref}` },
      args: { TOOLING_IMAGE: 'strata-layer-tooling', A: '1' }
    }
  ],
  [
    // With the containerd store a digest-pinned FROM goes to the registry (SPEC 7).
    'a parent known by its local tag (no push): the tag itself',
    { parents: { TOOLING_IMAGE: { layer: 'tooling', inSession: false, ref: `${IMAGE}:tooling-pr-8-abc` } } },
    { push: false },
    {
      contexts: undefined,
      args: { TOOLING_IMAGE: `${IMAGE}:tooling-pr-8-abc`, A: '1' },
      output: ['type=docker']
    }
  ],
  [
    'two platforms without push on a driver that cannot load them: cache only',
    {},
    { push: false, driver: 'docker-container', platforms: ['linux/amd64', 'linux/arm64'] },
    { output: ['type=cacheonly'], platforms: ['linux/amd64', 'linux/arm64'] }
  ],
  [
    'the build-args input wins over the layer, never over a parent',
    {},
    { buildArgs: { A: '2', TOOLING_IMAGE: 'nope' } },
    { args: { TOOLING_IMAGE: 'strata-layer-tooling', A: '2' } }
  ],
  [
    'push by digest: one platform, no tags, no provenance index around the image',
    {},
    { pushByDigest: true, platforms: ['linux/arm64'], driver: 'docker-container' },
    {
      tags: [],
      output: [`type=image,name=${IMAGE},push-by-digest=true,name-canonical=true,push=true`],
      attest: ['type=provenance,disabled=true']
    }
  ],
  [
    'push by digest on the docker driver, which cannot: the platform image under its own tag',
    {},
    { pushByDigest: true, platforms: ['linux/arm64/v8'], driver: 'docker' },
    {
      tags: [`${IMAGE}:main-abc-linux-arm64-v8`],
      output: ['type=image,push=true'],
      attest: ['type=provenance,disabled=true']
    }
  ],
  [
    'target, secrets, provenance and sbom',
    {
      layer: {
        ...app,
        target: 'runtime',
        secrets: ['NPM_TOKEN', 'id=rc,src=.npmrc'],
        provenance: 'mode=max',
        sbom: true
      }
    },
    {},
    {
      target: 'runtime',
      secret: ['id=NPM_TOKEN,env=NPM_TOKEN', 'id=rc,src=.npmrc'],
      attest: ['type=provenance,mode=max', 'type=sbom']
    }
  ]
])('%s', (_why, over, settings, expected) => {
  const step = layerStep(input(over), { ...S, ...settings })
  for (const [key, value] of Object.entries(expected)) {
    expect([key, step.target[key as keyof typeof step.target]]).toEqual([key, value])
  }
})

test.each<[string, Partial<StepSettings>, string[], string | undefined]>([
  ['pushed: moving tags move onto the digest', {}, [`${IMAGE}:latest`], `${IMAGE}:main-abc@${D}`],
  ['not pushed: nothing moves, the local tag is the ref', { push: false }, [], `${IMAGE}:main-abc`],
  ['pushed by digest: nothing moves', { pushByDigest: true }, [], `${IMAGE}@${D}`]
])('%s', (_why, settings, moving, ref) => {
  const step = layerStep(input(), { ...S, ...settings })
  expect(step.moving).toEqual(moving)
  expect(builtRef(step, D)).toBe(ref)
  expect(movesOf([step], { app: { ref, digest: D } })).toEqual(
    moving.length ? [{ layer: 'app', source: ref, tags: moving }] : []
  )
})

test('a push by digest of several platforms is refused, naming the fix', () => {
  expect(() =>
    layerStep(input(), { ...S, pushByDigest: true, platforms: ['linux/amd64', 'linux/arm64'] })
  ).toThrow('layer "app": a push by digest builds one platform, not linux/amd64, linux/arm64')
})

test('the definition escapes HCL templates (bake reads JSON as HCL), keeps target order', () => {
  const step = layerStep(input({ layer: { ...app, labels: { note: 'a ${HOME} %{x}' } } }), S)
  const def = bakeDefinition({ tooling: step.target, app: step.target })
  expect(def.group.default.targets).toEqual(['tooling', 'app'])
  expect(def.target.app.labels.note).toBe('a $${HOME} %%{x}')
  expect(escapeHcl('${a}$b%{c}%d')).toBe('$${a}$b%%{c}%d')
})

test.each<[string | boolean | undefined, string | boolean | undefined, string[]]>([
  [undefined, undefined, []],
  [false, 'false', ['type=provenance,disabled=true', 'type=sbom,disabled=true']],
  ['true', true, ['type=provenance', 'type=sbom']],
  [
    'mode=max',
    'generator=docker/buildkit-syft-scanner',
    ['type=provenance,mode=max', 'type=sbom,generator=docker/buildkit-syft-scanner']
  ]
])('attestations(%j, %j)', (provenance, sbom, expected) => {
  expect(attestations(provenance, sbom)).toEqual(expected)
})

test('bakeArgv: plain progress, the file, the metadata file, the targets', () => {
  expect(
    bakeArgv({ file: '/t/b.json', metadataFile: '/t/m.json', targets: ['a', 'b'], builder: 'x' })
  ).toEqual([
    'buildx',
    'bake',
    '--builder',
    'x',
    '--progress=plain',
    '--file',
    '/t/b.json',
    '--metadata-file',
    '/t/m.json',
    'a',
    'b'
  ])
})

describe('linkSessionAncestors: every ancestor in the session is linked, not only the parents', () => {
  const stepOf = (name: string, parents: Record<string, ParentSource>) =>
    layerStep(input({ layer: layer(name), parents }), S)
  const inSession = (l: string): ParentSource => ({ layer: l, inSession: true })
  const base = stepOf('base', {})
  const tooling = stepOf('tooling', { BASE_IMAGE: inSession('base') })
  const contextsOf = (steps: LayerStep[]) => Object.fromEntries(steps.map(s => [s.name, s.target.contexts]))

  test('a chain: the grandchild gets the grandparent as an extra target context; parents keep theirs', () => {
    const app = stepOf('app', { TOOLING_IMAGE: inSession('tooling') })
    expect(contextsOf(linkSessionAncestors([base, tooling, app]))).toEqual({
      base: undefined,
      tooling: { 'strata-layer-base': 'target:base' },
      app: { 'strata-layer-tooling': 'target:tooling', 'strata-ancestor-base': 'target:base' }
    })
  })

  test('a diamond and a four-level chain: each ancestor once, never the layer itself', () => {
    const lib = stepOf('lib', { BASE_IMAGE: inSession('base') })
    const app = stepOf('app', { TOOLING_IMAGE: inSession('tooling'), LIB_IMAGE: inSession('lib') })
    const e2e = stepOf('e2e', { APP_IMAGE: inSession('app') })
    const linked = linkSessionAncestors([base, tooling, lib, app, e2e])
    expect(contextsOf(linked).app).toEqual({
      'strata-layer-tooling': 'target:tooling',
      'strata-layer-lib': 'target:lib',
      'strata-ancestor-base': 'target:base'
    })
    expect(contextsOf(linked).e2e).toEqual({
      'strata-layer-app': 'target:app',
      'strata-ancestor-base': 'target:base',
      'strata-ancestor-lib': 'target:lib',
      'strata-ancestor-tooling': 'target:tooling'
    })
    // Build args name only the parents: the Dockerfile never reads an ancestor's context.
    expect(linked[4].target.args).toEqual({ APP_IMAGE: 'strata-layer-app' })
  })

  test('a parent outside the session (pinned by digest) links nothing further', () => {
    const pinned = stepOf('tooling', {
      BASE_IMAGE: { layer: 'base', inSession: false, ref: `${IMAGE}:base-stable@${D}` }
    })
    const app = stepOf('app', { TOOLING_IMAGE: inSession('tooling') })
    const linked = linkSessionAncestors([pinned, app])
    expect(linked).toEqual([pinned, app])
  })
})

describe("SPEC 4a's labels as the image manifest's annotations (SPEC 11: a label check reads no config)", () => {
  const labels = {
    'dev.strata.inputs': `sha256:${'1'.repeat(64)}`,
    'dev.strata.externals': '["docker.io/library/alpine:3.20@sha256:aa","b@sha256:bb"]',
    'dev.strata.ref': 'feature/a,"b"'
  }

  test('each a quoted CSV field of the image output: commas and quotes survive buildx reading it', () => {
    expect(annotationFields(labels)).toBe(
      `,"annotation.dev.strata.inputs=sha256:${'1'.repeat(64)}"` +
        ',"annotation.dev.strata.externals=[""docker.io/library/alpine:3.20@sha256:aa"",""b@sha256:bb""]"' +
        ',"annotation.dev.strata.ref=feature/a,""b"""'
    )
    // Only Strata's own: other labels stay labels.
    expect(annotationFields({ 'org.opencontainers.image.revision': 'abc' })).toBe('')
    expect(annotationFields(undefined)).toBe('')
  })

  test.each<[Parameters<typeof outputSpec>[0], string]>([
    ['push', 'type=image,push=true'],
    ['store', 'type=image,push=false'],
    ['digest', `type=image,name=${IMAGE},push-by-digest=true,name-canonical=true,push=true`]
  ])(
    'an image output (%s) carries them; a loaded or cache-only one has no manifest to carry them',
    (o, spec) => {
      expect(outputSpec(o, IMAGE, labels)).toEqual([spec + annotationFields(labels)])
      expect(outputSpec('load', IMAGE, labels)).toEqual(['type=docker'])
      expect(outputSpec('cache', IMAGE, labels)).toEqual(['type=cacheonly'])
    }
  )

  test('layerStep writes them for a layer with an input digest', () => {
    const step = layerStep(input({ labels }), S)
    expect(step.target.output).toEqual([`type=image,push=true${annotationFields(labels)}`])
    expect(step.target.labels).toMatchObject(labels)
  })
})

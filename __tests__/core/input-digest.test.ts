import {
  canonicalJson,
  inputDigest,
  inputSettings,
  inputTag,
  secretId,
  sha256,
  shortInputs
} from '../../src/core/input-digest.js'
import type { DigestInput } from '../../src/core/input-digest.js'
import type { LayerConfig } from '../../src/core/types.js'
import { from, layer } from '../../__fixtures__/layers.js'

const D = (c: string): string => `sha256:${c.repeat(64)}`
const TOOLING: LayerConfig = layer('tooling', {
  from: from('base'),
  buildArgs: { MISE_VERSION: '2024.5.1' },
  secrets: ['id=npmrc,src=/home/runner/.npmrc'],
  labels: { 'org.opencontainers.image.vendor': 'acme' }
})

function base(over: Partial<DigestInput> = {}): DigestInput {
  return {
    settings: inputSettings(TOOLING),
    dockerfile: sha256('FROM ${BASE_IMAGE}\nCOPY install-mise.sh /\n'),
    files: [
      { path: 'docker/scripts/install-mise.sh', id: '100644 ' + 'a'.repeat(40) },
      { path: 'docker/config/sshd_config', id: '100644 ' + 'b'.repeat(40) }
    ],
    parents: { base: D('1') },
    externals: { 'ubuntu:24.04': D('2') },
    ...over
  }
}
const BASE = inputDigest(base())
const withSettings = (over: Partial<LayerConfig>, o?: Parameters<typeof inputSettings>[1]): DigestInput =>
  base({ settings: inputSettings({ ...TOOLING, ...over }, o) })

test('the digest is sha256:<64 hex>, and the same for the same inputs', () => {
  expect(BASE).toMatch(/^sha256:[0-9a-f]{64}$/)
  expect(inputDigest(base())).toBe(BASE)
})

// One input changed at a time: each gives another digest.
test.each<[string, DigestInput]>([
  ['Dockerfile path', withSettings({ dockerfile: 'docker/Dockerfile.tooling' })],
  ['context', withSettings({ context: 'docker' })],
  ['target', withSettings({ target: 'runtime' })],
  ['platforms', withSettings({ platforms: ['linux/amd64', 'linux/arm64'] })],
  ['platforms input', withSettings({}, { platforms: ['linux/arm64'] })],
  ['a build arg value', withSettings({ buildArgs: { MISE_VERSION: '2024.6.0' } })],
  ['a new build arg', withSettings({ buildArgs: { MISE_VERSION: '2024.5.1', X: '1' } })],
  ['the build-args input overriding one', withSettings({}, { buildArgs: { MISE_VERSION: '9' } })],
  ['a secret id', withSettings({ secrets: ['id=npmrc2,src=/home/runner/.npmrc'] })],
  ['provenance', withSettings({ provenance: 'mode=max' })],
  ['sbom', withSettings({ sbom: true })],
  ['the Dockerfile bytes', base({ dockerfile: sha256('FROM ${BASE_IMAGE}\nCOPY install-mise.sh /x\n') })],
  [
    'a file content',
    base({
      files: [
        { path: 'docker/scripts/install-mise.sh', id: '100644 ' + 'c'.repeat(40) },
        { path: 'docker/config/sshd_config', id: '100644 ' + 'b'.repeat(40) }
      ]
    })
  ],
  [
    'a file mode (executable bit)',
    base({
      files: [
        { path: 'docker/scripts/install-mise.sh', id: '100755 ' + 'a'.repeat(40) },
        { path: 'docker/config/sshd_config', id: '100644 ' + 'b'.repeat(40) }
      ]
    })
  ],
  [
    'a file renamed',
    base({
      files: [
        { path: 'docker/scripts/install-mise2.sh', id: '100644 ' + 'a'.repeat(40) },
        { path: 'docker/config/sshd_config', id: '100644 ' + 'b'.repeat(40) }
      ]
    })
  ],
  ['a file added', base({ files: [...base().files, { path: 'docker/x', id: '100644 ' + 'd'.repeat(40) }] })],
  ['a file removed', base({ files: base().files.slice(0, 1) })],
  ["the parent's digest", base({ parents: { base: D('3') } })],
  ['another parent', base({ parents: { base: D('1'), extra: D('1') } })],
  ["an external image's digest (it moved)", base({ externals: { 'ubuntu:24.04': D('4') } })],
  ['another external image', base({ externals: { 'ubuntu:24.04': D('2'), 'node:22': D('2') } })]
])('%s changes the digest', (_what, input) => {
  expect(inputDigest(input)).not.toBe(BASE)
})

// What SPEC 4a leaves out does not change it. (The config's `labels` were here: issue 17 and SPEC
// 4a put them in the digest, since they are in the image; see the table below.)
test.each<[string, DigestInput]>([
  ['a secret value (its source)', withSettings({ secrets: ['id=npmrc,src=/tmp/other-npmrc'] })],
  ['a secret from env instead of file', withSettings({ secrets: ['id=npmrc,env=NPM_TOKEN'] })],
  [
    "the parent's build arg (tag differs per run)",
    withSettings({}, { buildArgs: { BASE_IMAGE: 'target:base' } })
  ],
  ['tags and stable tag', withSettings({ tags: ['{layer}-{sha}'], stableTag: 'tooling-main' })],
  ['cache settings', withSettings({ cache: ['local'] })],
  ['paths patterns themselves (the files count)', withSettings({ paths: ['docker/**'] })],
  ['always', withSettings({ always: true })],
  ['the image repository', withSettings({ image: 'ghcr.io/acme/other' })],
  ['file order', base({ files: [...base().files].reverse() })],
  ['platform order and duplicates', withSettings({ platforms: ['linux/amd64', 'linux/amd64'] })],
  ['object key order', base({ externals: { 'ubuntu:24.04': D('2') }, parents: { base: D('1') } })]
])('%s does not change the digest', (_what, input) => {
  expect(inputDigest(input)).toBe(BASE)
})

// Issue 17, settings (SPEC 4a): what moved the digest needlessly, and what it missed.
const DECLARED = ['MISE_VERSION']
const declaredSettings = (over: Partial<LayerConfig>, o?: Parameters<typeof inputSettings>[1]): DigestInput =>
  base({ settings: inputSettings({ ...TOOLING, ...over }, o, DECLARED) })
const DECLARED_BASE = inputDigest(declaredSettings({}))
// [what, input, the digest it is compared with, whether it differs]
test.each<[string, DigestInput, string, boolean]>([
  ['the config’s labels (they are in the image)', withSettings({ labels: { team: 'b' } }), BASE, true],
  ['a label added', withSettings({ labels: { ...TOOLING.labels, team: 'a' } }), BASE, true],
  [
    'a build arg no ARG declares',
    declaredSettings({ buildArgs: { MISE_VERSION: '2024.5.1', X: '1' } }),
    DECLARED_BASE,
    false
  ],
  [
    'the build-args input giving an undeclared arg',
    declaredSettings({}, { buildArgs: { UNUSED: 'x' } }),
    DECLARED_BASE,
    false
  ],
  [
    'a declared build arg',
    declaredSettings({ buildArgs: { MISE_VERSION: '2025.1.0' } }),
    DECLARED_BASE,
    true
  ],
  [
    'BUILDKIT_SYNTAX without an ARG',
    declaredSettings({}, { buildArgs: { BUILDKIT_SYNTAX: 'x/y:1' } }),
    DECLARED_BASE,
    true
  ],
  [
    'SOURCE_DATE_EPOCH without an ARG',
    declaredSettings({}, { buildArgs: { SOURCE_DATE_EPOCH: '0' } }),
    DECLARED_BASE,
    true
  ],
  ['context ./ for .', declaredSettings({ context: './' }), DECLARED_BASE, false],
  [
    'Dockerfile ./Dockerfile.tooling for Dockerfile.tooling',
    declaredSettings({ dockerfile: './Dockerfile.tooling' }),
    DECLARED_BASE,
    false
  ]
])('%s: the digest differs = %s', (_what, input, before, differs) => {
  expect(inputDigest(input) !== before).toBe(differs)
})

test('a build arg given as a number in YAML and as a string digest alike', () => {
  const n = inputSettings({ ...TOOLING, buildArgs: { N: 1 as unknown as string } })
  expect(n.buildArgs).toEqual({ N: '1' })
})

test('a file listed twice is an error, not a silent pick', () => {
  const f = { path: 'a', id: '100644 ' + 'a'.repeat(40) }
  expect(() => inputDigest(base({ files: [f, f] }))).toThrow('input file "a" is listed twice')
})

test.each([
  ['id=npmrc,src=.npmrc', 'npmrc'],
  ['src=/run/secrets/token.txt', 'token.txt'],
  ['env=GH_TOKEN', 'GH_TOKEN'],
  ['id=a,env=B', 'a'],
  ['type=file,id=x,src=y', 'x']
])('secretId(%s) = %s', (spec, id) => {
  expect(secretId(spec)).toBe(id)
})

test('canonicalJson sorts keys at every depth and keeps array order', () => {
  expect(canonicalJson({ b: 1, a: { d: [2, 1], c: null }, e: undefined })).toBe(
    '{"a":{"c":null,"d":[2,1]},"b":1}'
  )
})

test('the short form and the input tag', () => {
  const d = 'sha256:3f2a9c1d4e5f6a7b' + '0'.repeat(48)
  expect(shortInputs(d)).toBe('3f2a9c1d4e5f6a7b')
  expect(inputTag('tooling', d)).toBe('tooling-inputs-3f2a9c1d4e5f6a7b')
  expect(inputTag('Tool_Chain', d)).toBe('tool_chain-inputs-3f2a9c1d4e5f6a7b')
  expect(() => shortInputs('sha256:abc')).toThrow('"sha256:abc" is not an input digest (sha256:<64 hex>)')
})

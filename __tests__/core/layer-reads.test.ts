// SPEC 3a's checks before anything runs, and the externals, for whole configs.
import { checkLayers, prepareLayers, pruneFor } from '../../src/core/layer-reads.js'
import type { LayerTexts } from '../../src/core/layer-reads.js'
import type { LayerConfig } from '../../src/core/types.js'
import { config, from, layer } from '../../__fixtures__/layers.js'

const FILES = ['Dockerfile.base', 'Dockerfile.app', 'a.txt', 'src/main.js', 'node_modules/x/index.js']

function run(
  layers: LayerConfig[],
  dockerfiles: Record<string, string>,
  opts: { ignore?: string; files?: string[]; stepArgs?: Record<string, string> } = {}
) {
  const cfg = config(layers)
  const texts: Record<string, LayerTexts> = {}
  for (const l of layers) {
    texts[l.name] = {
      dockerfile: dockerfiles[l.name],
      dockerignore: { path: '.dockerignore', ...(opts.ignore !== undefined && { text: opts.ignore }) }
    }
  }
  const prepared = prepareLayers(cfg, texts, opts.stepArgs ?? {}, name => ({
    line: 7,
    column: 3 + name.length
  }))
  return checkLayers(cfg, prepared, opts.files ?? FILES)
}

const BASE = 'FROM scratch\nCOPY a.txt /\n'

test.each<[string, LayerConfig[], Record<string, string>, string[]]>([
  [
    'a child whose FROM does not use its parent’s build-arg',
    [layer('base'), layer('app', { from: from('base') })],
    { base: BASE, app: '# app\nARG BASE_IMAGE\nFROM ubuntu:24.04\nCOPY --link a.txt /\n' },
    [
      'Dockerfile.app:3:1: FROM ubuntu:24.04 does not use ARG BASE_IMAGE, so layer "app" is not built on layer "base": ' +
        'write ARG BASE_IMAGE before it and FROM ${BASE_IMAGE}'
    ]
  ],
  [
    'the parent used in a stage the target does not need',
    [layer('base'), layer('app', { from: from('base'), target: 'final' })],
    { base: BASE, app: 'ARG BASE_IMAGE\nFROM ${BASE_IMAGE} AS unused\nFROM alpine:3 AS final\n' },
    [
      'Dockerfile.app:3:1: FROM alpine:3 does not use ARG BASE_IMAGE, so layer "app" is not built on layer "base": ' +
        'write ARG BASE_IMAGE before it and FROM ${BASE_IMAGE}'
    ]
  ],
  [
    'a context source that matches no file',
    [layer('base')],
    { base: 'FROM scratch\nCOPY a.txt \\\n  missing.txt /\n' },
    [
      'Dockerfile.base:3:3: COPY missing.txt matches no file of the build context "." (after .dockerignore): ' +
        'add the file (a generated one must exist before Strata runs), fix the path, or stop ignoring it in .dockerignore'
    ]
  ],
  [
    'a target that names no stage (at the layer in the config)',
    [layer('base', { target: 'prod' })],
    { base: 'FROM scratch AS build\nFROM build AS test\n' },
    [
      '.github/strata.yml:7:7: layer "base": target "prod" names no stage of Dockerfile.base: use one of build, test'
    ]
  ],
  [
    'an unknown instruction',
    [layer('base')],
    { base: 'FROM scratch\nCOPPY a.txt /\n' },
    [
      'Dockerfile.base:2:1: unknown instruction "COPPY": use a Dockerfile instruction such as FROM, RUN or COPY'
    ]
  ],
  [
    'no FROM',
    [layer('base')],
    { base: '# nothing\n' },
    ['Dockerfile.base:1:1: no FROM instruction: add FROM <image> to say what the image builds on']
  ],
  [
    'an instruction before FROM',
    [layer('base')],
    { base: 'RUN true\nFROM scratch\n' },
    [
      'Dockerfile.base:1:1: RUN comes before the first FROM: start the Dockerfile with FROM (only ARG may come before it)'
    ]
  ],
  [
    'COPY without a destination',
    [layer('base')],
    { base: 'FROM scratch\nCOPY a.txt\n' },
    ['Dockerfile.base:2:1: COPY needs a source and a destination: write COPY <source>… <destination>']
  ],
  [
    'an unclosed quote',
    [layer('base')],
    { base: 'FROM scratch\nCOPY "a.txt /x\n' },
    ['Dockerfile.base:2:6: "a.txt: the " quote is not closed: fix the quoting or the ${…} expression']
  ],
  [
    'a FROM whose build-arg has no value',
    [layer('base')],
    { base: 'ARG IMG\nFROM ${IMG}\n' },
    [
      'Dockerfile.base:2:6: FROM ${IMG} expands to an empty image name: give the build-arg a value, or an ARG default before FROM'
    ]
  ],
  [
    'a good config',
    [layer('base'), layer('app', { from: from('base') })],
    { base: BASE, app: 'ARG BASE_IMAGE\nFROM $BASE_IMAGE\nCOPY --link src/ /s\n' },
    []
  ]
])('error: %s', (_name, layers, dockerfiles, errors) => {
  expect(run(layers, dockerfiles).errors).toEqual(errors)
})

test('a .dockerignore rule or COPY --exclude that is not a pattern is the layer’s error, with its line and the fix', () => {
  const r = run([layer('base')], { base: BASE }, { ignore: 'node_modules\ndocs/[draft\n' })
  expect(r.errors).toEqual([
    '.dockerignore:2: "docs/[draft" is not a pattern (Unterminated character class), and BuildKit refuses it too: ' +
      'fix it (a literal [ is written \\[) or remove it'
  ])
  const exclude = run([layer('base')], {
    base: '# syntax=docker/dockerfile:1.7-labs\nFROM scratch\nCOPY --exclude=*.md --exclude=a[ . /app\n'
  })
  expect(exclude.errors).toEqual([
    'Dockerfile.base:3: COPY --exclude="a[" is not a pattern (Unterminated character class): ' +
      'fix it (a literal [ is written \\[) or remove it'
  ])
})

test.each<[string, LayerConfig[], Record<string, string>, string[]]>([
  [
    'GitHub-style `**.js` in paths',
    [layer('base', { paths: ['**.js', 'a.txt', '!b', 'nothing/**'] })],
    { base: BASE },
    [
      '.github/strata.yml: layer "base" paths pattern `**.js` matches no file of the repository; did you mean `**/*.js`?',
      '.github/strata.yml: layer "base" paths pattern `nothing/**` matches no file of the repository; fix it or remove it'
    ]
  ],
  [
    'a leaf layer whose COPY lacks --link',
    [layer('base'), layer('app', { from: from('base') })],
    {
      base: BASE,
      app: 'ARG BASE_IMAGE\nFROM ${BASE_IMAGE}\nCOPY a.txt /\nADD src/ /s\nCOPY --link=true a.txt /b\n'
    },
    [
      'Dockerfile.app:3:1: leaf layer "app" has COPY without --link (and 1 more): building it pulls its parents; write COPY --link'
    ]
  ],
  [
    'a leaf layer with assemble: off is built by BuildKit on purpose: no --link warning',
    [layer('base'), layer('app', { from: from('base'), assemble: 'off' })],
    { base: BASE, app: 'ARG BASE_IMAGE\nFROM ${BASE_IMAGE}\nCOPY a.txt /\n' },
    []
  ],
  [
    'a parent layer without --link is fine; so is a leaf with no parent',
    [layer('base'), layer('app', { from: from('base') }), layer('solo')],
    { base: BASE, app: 'ARG BASE_IMAGE\nFROM ${BASE_IMAGE}\nCOPY --link a.txt /\n', solo: BASE },
    []
  ],
  [
    'a COPY glob that matches nothing: BuildKit copies nothing',
    [layer('base')],
    { base: 'FROM scratch\nCOPY a.txt *.cfg /\n' },
    [
      'Dockerfile.base:2:12: COPY *.cfg matches no file of the build context ".": BuildKit copies nothing for it; fix the pattern or remove it'
    ]
  ]
])('warning: %s', (_name, layers, dockerfiles, warnings) => {
  const r = run(layers, dockerfiles)
  expect(r.errors).toEqual([])
  expect(r.warnings).toEqual(warnings)
})

test('externals: FROM / COPY --from / RUN --mount images of needed stages; not layers, stages or scratch', () => {
  const r = run([layer('base'), layer('app', { from: from('base'), buildArgs: { NODE: '22' } })], {
    base: 'FROM scratch\nCOPY a.txt /\n',
    app:
      'ARG BASE_IMAGE\nARG NODE=20\nFROM node:${NODE} AS build\nFROM localhost:5000/unused:1 AS unused\n' +
      'FROM ${BASE_IMAGE}\nCOPY --link --from=build /x /x\nCOPY --link --from=localhost:5000/tools:1 /t /t\n' +
      'RUN --mount=from=alpine@sha256:' +
      'a'.repeat(64) +
      ',target=/a true\n'
  })
  expect(r.errors).toEqual([])
  expect(r.externals.base).toEqual([])
  expect(r.externals.app.map(u => [u.keyword, u.image, u.line])).toEqual([
    ['FROM', 'node:22', 3],
    ['COPY --from', 'localhost:5000/tools:1', 7],
    ['RUN --mount', `alpine@sha256:${'a'.repeat(64)}`, 8]
  ])
})

test('the step’s build-args win over the layer’s, which win over ARG defaults', () => {
  const df = { base: 'FROM scratch\nARG F=a.txt\nCOPY ${F} /\n' }
  const files = ['Dockerfile.base', 'a.txt', 'b.txt', 'c.txt']
  const reads = (l: LayerConfig, stepArgs = {}) => [...run([l], df, { files, stepArgs }).files.base.keys()]
  expect(reads(layer('base'))).toEqual(['Dockerfile.base', 'a.txt'])
  expect(reads(layer('base', { buildArgs: { F: 'b.txt' } }))).toEqual(['Dockerfile.base', 'b.txt'])
  expect(reads(layer('base', { buildArgs: { F: 'b.txt' } }), { F: 'c.txt' })).toEqual([
    'Dockerfile.base',
    'c.txt'
  ])
})

test('files: `paths` add to the derived inputs, each with its pattern', () => {
  const r = run([layer('base', { paths: ['src/**', 'Dockerfile.base'] })], { base: BASE })
  expect(Object.fromEntries(r.files.base)).toEqual({
    'Dockerfile.base': 'the Dockerfile',
    'a.txt': 'Dockerfile.base:2 COPY',
    'src/main.js': 'src/**'
  })
})

test('pruneFor skips folders every layer ignores, unless a .dockerignore re-includes something', () => {
  const cfg = config([layer('base')])
  const prep = (ignore: string) =>
    prepareLayers(
      cfg,
      { base: { dockerfile: BASE, dockerignore: { path: '.dockerignore', text: ignore } } },
      {}
    )
  expect(pruneFor(prep('node_modules\n').layers)('node_modules')).toBe(true)
  expect(pruneFor(prep('node_modules\n').layers)('src')).toBe(false)
  expect(pruneFor(prep('node_modules\n!node_modules/keep\n').layers)('node_modules')).toBe(false)
  // A `!` rule that cannot reach the folder leaves it pruned; one with a wildcard there may reach it.
  expect(pruneFor(prep('node_modules\n**/*.md\n!README.md\n').layers)('node_modules')).toBe(true)
  expect(pruneFor(prep('node_modules\n!*/keep\n').layers)('node_modules')).toBe(false)
  expect(pruneFor(prep('node_modules\n!node_modules/keep\n').layers)('node_modules/other')).toBe(true)
})

test('pruneFor walks a folder ignored at the root when another layer’s context is below it', () => {
  const cfg = config([
    layer('root'),
    layer('api', { context: 'services/api', dockerfile: 'services/api/Dockerfile' })
  ])
  const prepared = prepareLayers(
    cfg,
    {
      root: { dockerfile: BASE, dockerignore: { path: '.dockerignore', text: 'services\n' } },
      api: { dockerfile: 'FROM scratch\nCOPY . /\n', dockerignore: { path: 'services/api/.dockerignore' } }
    },
    {}
  )
  const prune = pruneFor(prepared.layers)
  expect(['services', 'services/api', 'services/web'].map(prune)).toEqual([false, false, true])
})

// Issue 17: every platform is read with its own TARGETARCH; the inputs are the union (this test
// said the first platform alone, which missed a changed arm64 file).
test('TARGETARCH is each platform of the layer, once the stage declares it: the inputs are the union', () => {
  const df = { base: 'FROM scratch\nARG TARGETARCH\nCOPY bin/${TARGETARCH}/ /bin/\n' }
  const files = ['Dockerfile.base', 'bin/amd64/tool', 'bin/arm64/tool']
  const reads = (platforms: string[]) => [
    ...run([layer('base', { platforms })], df, { files }).files.base.keys()
  ]
  expect(reads(['linux/amd64'])).toEqual(['Dockerfile.base', 'bin/amd64/tool'])
  expect(reads(['linux/arm64'])).toEqual(['Dockerfile.base', 'bin/arm64/tool'])
  expect(reads(['linux/arm64', 'linux/amd64'])).toEqual([
    'Dockerfile.base',
    'bin/amd64/tool',
    'bin/arm64/tool'
  ])
})

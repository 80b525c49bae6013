// Issue 17: each class where the inputs missed what BuildKit reads, named, on whole configs (pure:
// the walk of the workspace is given as data). The differential test on the real stack
// (__tests__/input-digest-differential.itg.test.ts) builds the same classes with BuildKit.
import { checkLayers, prepareLayers, type LayerReads } from '../../src/core/layer-reads.js'
import type { LayerTexts, PrepareOptions } from '../../src/core/layer-reads.js'
import type { InputTree } from '../../src/core/input-entries.js'
import { linkTarget } from '../../src/core/input-entries.js'
import type { LayerConfig } from '../../src/core/types.js'
import { config, from, layer } from '../../__fixtures__/layers.js'

interface Case {
  layers: LayerConfig[]
  dockerfiles: Record<string, string>
  tree: Partial<InputTree> & { files: string[] }
  ignore?: string
  opts?: PrepareOptions
  stepArgs?: Record<string, string>
}

function run(c: Case): LayerReads {
  const cfg = config(c.layers)
  const texts: Record<string, LayerTexts> = {}
  for (const l of c.layers) {
    texts[l.name] = {
      dockerfile: c.dockerfiles[l.name],
      dockerignore: { path: '.dockerignore', ...(c.ignore !== undefined && { text: c.ignore }) }
    }
  }
  const prepared = prepareLayers(cfg, texts, c.stepArgs ?? {}, () => undefined, c.opts)
  const tree: InputTree = { folders: [], links: {}, git: [], ...c.tree }
  const reads = checkLayers(cfg, prepared, c.tree.files, c.tree.files, tree)
  expect(reads.errors).toEqual([])
  return reads
}
const files = (r: LayerReads, l: string): string[] => [...r.files[l].keys()]

const ARCH = 'FROM scratch\nARG TARGETARCH\nCOPY bin/${TARGETARCH}/ /bin/\n'
const ARCH_FILES = ['Dockerfile.base', 'bin/amd64/tool', 'bin/arm64/tool', 'bin/riscv64/tool']

test.each<[string, Case, string, string[]]>([
  [
    'COPY bin/${TARGETARCH}/ on a two-platform layer reads both platforms',
    {
      layers: [layer('base', { platforms: ['linux/amd64', 'linux/arm64'] })],
      dockerfiles: { base: ARCH },
      tree: { files: ARCH_FILES }
    },
    'base',
    ['Dockerfile.base', 'bin/amd64/tool', 'bin/arm64/tool']
  ],
  [
    'the platforms input overrides the config’s platforms',
    {
      layers: [layer('base', { platforms: ['linux/amd64'] })],
      dockerfiles: { base: ARCH },
      tree: { files: ARCH_FILES },
      opts: { platforms: ['linux/riscv64', 'linux/arm64'] }
    },
    'base',
    ['Dockerfile.base', 'bin/arm64/tool', 'bin/riscv64/tool']
  ],
  [
    'a layer without platforms builds for the builder’s platform (BUILDPLATFORM)',
    {
      layers: [layer('base', { platforms: [] })],
      dockerfiles: {
        base: 'FROM scratch\nARG BUILDARCH\nARG TARGETARCH\nCOPY bin/${BUILDARCH}/ bin/${TARGETARCH}/ /b/\n'
      },
      tree: { files: ARCH_FILES },
      opts: { buildPlatform: 'linux/arm64' }
    },
    'base',
    ['Dockerfile.base', 'bin/arm64/tool']
  ],
  [
    'a parent’s ONBUILD COPY reads the child’s context',
    {
      layers: [layer('base'), layer('app', { from: from('base') })],
      dockerfiles: {
        base: 'FROM scratch\nCOPY a.txt /\nONBUILD COPY src/ /src/\n',
        app: 'ARG BASE_IMAGE\nFROM ${BASE_IMAGE}\nCOPY --link b.txt /\n'
      },
      tree: { files: ['Dockerfile.base', 'Dockerfile.app', 'a.txt', 'b.txt', 'src/x.js'] }
    },
    'app',
    ['Dockerfile.app', 'b.txt', 'src/x.js']
  ],
  [
    'a named link to a folder brings the folder’s files',
    {
      layers: [layer('base')],
      dockerfiles: { base: 'FROM scratch\nCOPY conf /conf\n' },
      tree: {
        files: ['Dockerfile.base', 'conf', 'real/a.conf', 'real/sub/b.conf', 'other.txt'],
        folders: ['real', 'real/sub'],
        links: { conf: 'real' }
      }
    },
    'base',
    ['Dockerfile.base', 'conf', 'real/a.conf', 'real/sub/b.conf']
  ],
  [
    'a file named through a link to a folder (COPY linkdir/a.txt): the link by its target, and the file',
    {
      layers: [layer('base')],
      dockerfiles: { base: 'FROM scratch\nCOPY linkdir/a.txt /x\n' },
      tree: {
        files: ['Dockerfile.base', 'linkdir', 'real/a.txt', 'real/b.txt'],
        folders: ['real'],
        links: { linkdir: 'real' }
      }
    },
    'base',
    ['Dockerfile.base', 'linkdir', 'real/a.txt']
  ],
  [
    'links on links, in a context: each link on the path counts',
    {
      layers: [layer('base', { context: 'ctx' })],
      dockerfiles: { base: 'FROM scratch\nCOPY l1/sub/a.txt /x\n' },
      tree: {
        files: ['Dockerfile.base', 'ctx/l1', 'ctx/l2', 'ctx/real/sub/a.txt'],
        folders: ['ctx/real', 'ctx/real/sub'],
        links: { 'ctx/l1': 'l2', 'ctx/l2': '/real' }
      }
    },
    'base',
    ['Dockerfile.base', 'ctx/l1', 'ctx/l2', 'ctx/real/sub/a.txt']
  ]
])('%s', (_name, c, l, want) => {
  expect(files(run(c), l)).toEqual(want)
})

test('ONBUILD sources say where they come from', () => {
  const r = run({
    layers: [layer('base'), layer('app', { from: from('base') })],
    dockerfiles: {
      base: 'FROM scratch\nONBUILD COPY src/ /src/\n',
      app: 'ARG BASE_IMAGE\nFROM ${BASE_IMAGE}\n'
    },
    tree: { files: ['Dockerfile.base', 'Dockerfile.app', 'src/x.js'] }
  })
  expect(r.files.app.get('src/x.js')).toBe('Dockerfile.base:2 ONBUILD COPY')
  expect(files(r, 'base')).toEqual(['Dockerfile.base']) // ONBUILD does not run in the image that declares it
})

test.each<[string, string, string | undefined]>([
  [
    'ADD <url>',
    'FROM scratch\nADD https://example.com/x.tgz /x\n',
    'ADD https://example.com/x.tgz at Dockerfile.base:2'
  ],
  [
    'ADD <git repo>',
    'FROM scratch\nADD git@github.com:acme/tools.git /t\n',
    'ADD git@github.com:acme/tools.git at Dockerfile.base:2'
  ],
  [
    'ADD https://…git',
    'FROM scratch\nADD https://github.com/acme/tools.git#v1 /t\n',
    'ADD https://github.com/acme/tools.git#v1 at Dockerfile.base:2'
  ],
  [
    'ADD <url> pinned by --checksum is known',
    'FROM scratch\nADD --checksum=sha256:' + 'a'.repeat(64) + ' https://example.com/x.tgz /x\n',
    undefined
  ],
  ['COPY of the context only', 'FROM scratch\nCOPY a.txt /\n', undefined]
])('unknowable: %s', (_name, dockerfile, why) => {
  const r = run({
    layers: [layer('base')],
    dockerfiles: { base: dockerfile },
    tree: { files: ['Dockerfile.base', 'a.txt'] }
  })
  expect(r.entries.base.unknowable).toBe(why)
})

test('a parent’s ONBUILD ADD <url> makes the child unknowable, not the parent', () => {
  const r = run({
    layers: [layer('base'), layer('app', { from: from('base') })],
    dockerfiles: {
      base: 'FROM scratch\nONBUILD ADD https://example.com/x /x\n',
      app: 'ARG BASE_IMAGE\nFROM ${BASE_IMAGE}\n'
    },
    tree: { files: ['Dockerfile.base', 'Dockerfile.app'] }
  })
  expect(r.entries.base.unknowable).toBeUndefined()
  expect(r.entries.app.unknowable).toBe('ADD https://example.com/x at Dockerfile.base:2 ONBUILD ADD')
})

test('COPY . of a context whose .dockerignore keeps .git: a warning, and the inputs are unknowable', () => {
  const base = { layers: [layer('base')], dockerfiles: { base: 'FROM scratch\nCOPY . /app\n' } }
  const kept = run({ ...base, tree: { files: ['Dockerfile.base', 'a.txt'], git: ['.git'] } })
  expect(kept.warnings).toEqual([
    'Dockerfile.base:2 COPY . sends the git metadata .git into the build (.dockerignore keeps it): add .git to .dockerignore'
  ])
  expect(kept.entries.base.unknowable).toBe('Dockerfile.base:2 COPY . sends .git (git metadata)')
  const ignored = run({
    ...base,
    ignore: '.git\n',
    tree: { files: ['Dockerfile.base', 'a.txt'], git: ['.git'] }
  })
  expect([ignored.warnings, ignored.entries.base.unknowable]).toEqual([[], undefined])
})

test('the # syntax= frontend is an external image; BUILDKIT_SYNTAX wins over it', () => {
  const df = { base: '# syntax=docker/dockerfile:1.7\nFROM alpine:3\nCOPY a.txt /\n' }
  const c = { layers: [layer('base')], dockerfiles: df, tree: { files: ['Dockerfile.base', 'a.txt'] } }
  expect(run(c).externals.base.map(u => [u.keyword, u.image])).toEqual([
    ['# syntax', 'docker/dockerfile:1.7'],
    ['FROM', 'alpine:3']
  ])
  const over = run({ ...c, stepArgs: { BUILDKIT_SYNTAX: 'acme/frontend:2' } })
  expect(over.externals.base[0].image).toBe('acme/frontend:2')
})

test('folders the build copies count, empty ones too; links inside a copied folder are not followed', () => {
  const r = run({
    layers: [layer('base')],
    dockerfiles: { base: 'FROM scratch\nCOPY src /src\nCOPY one.txt /\n' },
    tree: {
      files: ['Dockerfile.base', 'one.txt', 'src/a', 'src/link', 'lib/b'],
      folders: ['lib', 'src', 'src/empty', 'src/empty/deeper'],
      links: { 'src/link': '../lib', 'one.txt': 'x' }
    }
  })
  expect(r.entries.base.folders).toEqual(['src', 'src/empty', 'src/empty/deeper'])
  expect(r.entries.base.followed).toEqual(['one.txt']) // named by COPY; src/link is inside a copied folder
})

test('a named COPY source that is a link is followed; one inside a copied folder is not', () => {
  const r = run({
    layers: [layer('base')],
    dockerfiles: { base: 'FROM scratch\nCOPY one.txt *.cfg /\nCOPY src /src\n' },
    tree: {
      files: ['Dockerfile.base', 'one.txt', 'x.txt', 'a.cfg', 'src/link'],
      folders: ['src'],
      links: { 'one.txt': 'x.txt', 'a.cfg': 'x.txt', 'src/link': '../x.txt' }
    }
  })
  expect(r.entries.base.followed.sort()).toEqual(['a.cfg', 'one.txt'])
})

test('COPY --chmod sets the mode: the mode on disk does not count where every COPY of the path sets it', () => {
  const r = run({
    layers: [layer('base')],
    dockerfiles: {
      base: 'FROM scratch\nCOPY --chmod=0755 bin/ /bin/\nCOPY --chmod=600 a.txt /\nCOPY a.txt /again\n'
    },
    tree: { files: ['Dockerfile.base', 'a.txt', 'bin/tool'], folders: ['bin'] }
  })
  expect(r.entries.base.modeSet).toEqual(['bin/tool', 'bin'])
})

test('a link out of the build context is a problem of that layer', () => {
  const r = run({
    layers: [layer('base', { context: 'ctx' })],
    dockerfiles: { base: 'FROM scratch\nCOPY up /u\n' },
    tree: { files: ['Dockerfile.base', 'ctx/up'], links: { 'ctx/up': '../../etc' } }
  })
  expect(r.entries.base.problems).toEqual([
    '"ctx/up" is a link to "../../etc", outside the build context "ctx"'
  ])
})

test('the names the ARGs declare', () => {
  const r = run({
    layers: [layer('base')],
    dockerfiles: { base: 'ARG A=1\nFROM scratch\nARG B\nARG C=2 D\n' },
    tree: { files: ['Dockerfile.base'] }
  })
  expect(r.declared.base).toEqual(['A', 'B', 'C', 'D'])
})

test.each<[string, string, string, string | undefined]>([
  ['', 'conf', 'real', 'real'],
  ['', 'a/conf', '../real', 'real'],
  ['ctx', 'ctx/conf', 'real', 'ctx/real'],
  ['ctx', 'ctx/conf', '/real', 'ctx/real'],
  ['ctx', 'ctx/conf', '../out', undefined],
  ['', 'conf', '', undefined]
])('linkTarget(context %j, %j → %j) = %j', (context, link, target, want) => {
  expect(linkTarget(context, link, target)).toBe(want)
})

// BuildKit 0.13 on the stack: `COPY linkdir/sub` (a folder through a link), or the file when the link
// or its target is ignored, is "not found"; a glob through the link copies nothing.
test.each<[string, string, string | undefined, 'error' | 'warning']>([
  ['a folder through a link', 'COPY linkdir/sub /s', undefined, 'error'],
  ['the target ignored', 'COPY linkdir/a.txt /x', 'real\n', 'error'],
  ['the link ignored', 'COPY linkdir/a.txt /x', 'linkdir\n', 'error'],
  ['a glob through a link', 'COPY linkdir/*.txt /d/', undefined, 'warning']
])('%s: matches no file, as BuildKit says', (_name, copy, ignore, kind) => {
  const cfg = config([layer('base')])
  const texts: Record<string, LayerTexts> = {
    base: {
      dockerfile: `FROM scratch\n${copy}\n`,
      dockerignore: { path: '.dockerignore', ...(ignore !== undefined && { text: ignore }) }
    }
  }
  const files = ['Dockerfile.base', 'linkdir', 'real/a.txt', 'real/sub/c.txt']
  const tree: InputTree = { files, folders: ['real', 'real/sub'], links: { linkdir: 'real' }, git: [] }
  const r = checkLayers(cfg, prepareLayers(cfg, texts, {}), files, files, tree)
  const said = kind === 'error' ? r.errors : r.warnings
  expect(said.filter(e => e.includes('matches no file'))).toHaveLength(1)
  expect([...r.files.base.keys()].filter(f => f !== '.dockerignore')).toEqual(['Dockerfile.base'])
})

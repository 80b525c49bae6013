// BuildKit's own answer for the subtle cases of SPEC 3a: each Dockerfile is built FROM scratch with
// the real buildx and `--output type=local`, and what it copied is compared with the derived inputs.
// Every context file holds `file:<its path>`, so the output says which sources were copied wherever
// COPY put them; the Dockerfile lives outside the context so that it is never among them.
import {
  copyFileSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  statSync,
  writeFileSync
} from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { jest } from '@jest/globals'
import { docker } from '../__fixtures__/images/index.js'
import { checkLayers, prepareLayers } from '../src/core/layer-reads.js'
import { createGit } from '../src/adapters/git.js'
import { createWorkspaceFiles } from '../src/adapters/workspace-files.js'
import { config, layer } from '../__fixtures__/layers.js'

jest.setTimeout(600_000)

const FILES = [
  'README.md',
  'notes.md',
  'docs/guide.md',
  'docs/keep.md',
  'node_modules/left-pad/index.js',
  'src/a.ts',
  'src/sub/b.ts',
  'tools/package.json',
  'pkg1/a.js',
  'pkg2/b/c.js',
  'pkgfile',
  'lib/x.ts',
  'go.sum',
  'with space/f.txt',
  'c++/x.h',
  '(tmp)/y',
  'a+b',
  'aab',
  'x{2}',
  'xx',
  'a|b',
  'secret.txt',
  'sub/secret.txt'
]

interface Case {
  dockerfile: string
  ignore?: string
  /** .dockerignore beside the Dockerfile (`<Dockerfile>.dockerignore`) instead of in the context. */
  beside?: boolean
  context?: string
  /** Put busybox into the context (a shell for RUN in a FROM scratch image). */
  busybox?: boolean
}

const CASES: [string, Case][] = [
  [
    'COPY . with `!` re-includes in .dockerignore',
    {
      dockerfile: 'FROM scratch\nCOPY . /out/\n',
      ignore: '*.md\n!README.md\nnode_modules\ndocs\n!docs/keep.md\n'
    }
  ],
  [
    'rule characters BuildKit takes literally (`c++`, `(tmp)`, `a+b`, `x{2}`, `a|b`), and `**/` at the top',
    {
      dockerfile: 'FROM scratch\nCOPY . /out/\n',
      ignore: 'c++\n(tmp)\na+b\nx{2}\na|b\n**/secret.txt\n'
    }
  ],
  ['`*` then `!src`', { dockerfile: 'FROM scratch\nCOPY . /out/\n', ignore: '*\n!src\n' }],
  [
    'globs: `*/package.json`, `pkg*` (folders and a file), `?o.sum`',
    { dockerfile: 'FROM scratch\nCOPY */package.json pkg* ?o.sum /out/\n' }
  ],
  [
    'a glob that matches nothing copies nothing',
    { dockerfile: 'FROM scratch\nCOPY go.sum *.nothing /out/\n' }
  ],
  [
    'a global ARG not declared in the stage: `${DIR}/` is the whole context',
    { dockerfile: 'ARG DIR=lib\nFROM scratch\nCOPY ${DIR}/ /out/\n', ignore: 'node_modules\n' }
  ],
  [
    'a context that is a subfolder, its .dockerignore beside the Dockerfile',
    { dockerfile: 'FROM scratch\nCOPY . /out/\n', context: 'src', ignore: 'sub\n', beside: true }
  ],
  [
    'RUN --mount without a source binds the whole context, after .dockerignore',
    {
      dockerfile:
        'FROM scratch\nCOPY busybox /bin/busybox\n' +
        'RUN --mount=target=/ctx ["/bin/busybox", "cp", "-r", "/ctx", "/out"]\n' +
        'RUN --mount=type=bind,source=go.sum,target=/g ["/bin/busybox", "cp", "/g", "/out/g"]\n',
      ignore: 'docs\n*.md\n',
      busybox: true
    }
  ],
  [
    'JSON form: variables expand, a name may hold a space',
    { dockerfile: 'FROM scratch\nARG F=go.sum\nCOPY ["${F}", "with space/f.txt", "/out/"]\n' }
  ],
  [
    'a stage built FROM another inherits its ENV and its ARGs',
    { dockerfile: 'FROM scratch AS a\nENV F=go\nARG D=lib\nFROM a\nCOPY $F.sum ${D:-tools}/ /out/\n' }
  ],
  [
    'multi-stage: only the stages the target needs',
    {
      dockerfile:
        'FROM scratch AS a\nCOPY lib/ /l/\nFROM scratch AS unused\nCOPY go.sum /\nFROM scratch\nCOPY --from=a /l /out/l\nCOPY tools/ /out/t/\n'
    }
  ]
]

function writeRepo(c: Case): { repo: string; dockerfile: string } {
  const repo = mkdtempSync(join(tmpdir(), 'strata-derived-'))
  for (const f of FILES) {
    mkdirSync(dirname(join(repo, f)), { recursive: true })
    writeFileSync(join(repo, f), `file:${f}`)
  }
  if (c.busybox) copyFileSync('/bin/busybox', join(repo, 'busybox'))
  const dockerfile = 'build/Dockerfile'
  mkdirSync(join(repo, 'build'))
  writeFileSync(join(repo, dockerfile), c.dockerfile)
  if (c.ignore !== undefined) {
    const at = c.beside ? `${dockerfile}.dockerignore` : join(c.context ?? '.', '.dockerignore')
    writeFileSync(join(repo, at), c.ignore)
  }
  return { repo, dockerfile }
}

/** The `file:<path>` contents under `dir`, each once, sorted. */
function copied(dir: string): string[] {
  const out: string[] = []
  const walk = (d: string): void => {
    for (const e of readdirSync(d)) {
      const p = join(d, e)
      if (statSync(p).isDirectory()) walk(p)
      else {
        const text = readFileSync(p, 'utf8')
        if (text.startsWith('file:')) out.push(text.slice(5))
      }
    }
  }
  walk(dir)
  return [...new Set(out)].sort()
}

test.each(CASES)('%s: Strata derives what BuildKit copies', async (_name, c) => {
  const { repo, dockerfile } = writeRepo(c)
  const context = c.context ?? '.'
  const dest = join(repo, '.out')
  await docker([
    'buildx',
    'build',
    '--quiet',
    '-f',
    join(repo, dockerfile),
    '--output',
    `type=local,dest=${dest}`,
    join(repo, context)
  ])
  const fromBuildKit = copied(dest)

  const cfg = config([layer('l', { dockerfile, context })])
  const files = createWorkspaceFiles(repo, createGit(repo))
  const ignorePath = c.beside
    ? `${dockerfile}.dockerignore`
    : context === '.'
      ? '.dockerignore'
      : `${context}/.dockerignore`
  const prepared = prepareLayers(
    cfg,
    {
      l: {
        dockerfile: c.dockerfile,
        dockerignore: { path: ignorePath, ...(c.ignore !== undefined && { text: c.ignore }) }
      }
    },
    {}
  )
  const onDisk = (await files.list(context)).filter(f => !f.startsWith('.out/'))
  const reads = checkLayers(cfg, prepared, onDisk)
  const derived = [...reads.files.l.keys()].filter(f => FILES.includes(f))
  expect(derived).toEqual(fromBuildKit)
  expect(fromBuildKit.length).toBeGreaterThan(0)
})

// SPEC 3a: what a layer reads, derived from its Dockerfile and .dockerignore, resolved against the
// context's files as BuildKit resolves them. The subtle cases are confirmed on the real stack in
// __tests__/derived-inputs.itg.test.ts.
import { neededStages, parseDockerfile } from '../../src/core/dockerfile.js'
import {
  DOCKERFILE_REASON as DF,
  DOCKERIGNORE_REASON as DI,
  dockerignoreCandidates,
  inputReason,
  layerInputs,
  resolveInputs
} from '../../src/core/derived-inputs.js'

const FILES = [
  '.dockerignore',
  'Dockerfile',
  'README.md',
  'a.txt',
  'b.txt',
  'bb.txt',
  'docs/guide.md',
  'docs/keep.md',
  'go.mod',
  'go.sum',
  'lib/x.ts',
  'node_modules/left-pad/index.js',
  'package.json',
  'pkg1/a.js',
  'pkg2/b/c.js',
  'pkgfile',
  'services/api/.dockerignore',
  'services/api/Dockerfile',
  'services/api/main.go',
  'services/api/vendor/v.go',
  'src/a.ts',
  'src/package.json',
  'src/sub/b.ts',
  'src/sub/package.json',
  'tools/package.json',
  'vendor.tar.gz',
  'with space/f.txt'
]

interface Case {
  dockerfile: string
  /** .dockerignore text (at the context root unless `ignoreBeside`). */
  ignore?: string
  ignoreBeside?: boolean
  context?: string
  dockerfilePath?: string
  target?: string
  args?: Record<string, string>
  files?: string[]
}

/** file → reason; the Dockerfile (and an existing .dockerignore) always included. */
function derive(c: Case): Record<string, string> {
  const dockerfile = c.dockerfilePath ?? (c.context ? `${c.context}/Dockerfile` : 'Dockerfile')
  const context = c.context ?? '.'
  const parsed = parseDockerfile(c.dockerfile, dockerfile, { buildArgs: c.args })
  const stages = neededStages(parsed, c.target)
  if (!stages) throw new Error(`no stage ${c.target}`)
  const [beside, inContext] = dockerignoreCandidates(dockerfile, context)
  const path = c.ignoreBeside ? beside : inContext
  // The .dockerignore exists exactly when the case gives its text.
  const files = [
    ...(c.files ?? FILES).filter(f => f !== path || c.ignore !== undefined),
    ...(c.ignoreBeside && c.ignore !== undefined ? [beside] : [])
  ]
  const li = layerInputs({
    layer: 'l',
    dockerfile,
    context,
    parsed,
    stages,
    dockerignore: { path, text: c.ignore }
  })
  return Object.fromEntries(resolveInputs(li, files).files)
}

const everything = (except: string[] = [], reason = 'Dockerfile:2 COPY'): Record<string, string> =>
  Object.fromEntries(
    FILES.filter(f => f !== '.dockerignore' && !except.includes(f)).map(f => [
      f,
      f === 'Dockerfile' ? DF : reason
    ])
  )

test.each<[string, Case, Record<string, string>]>([
  ['COPY . /app reads the whole context', { dockerfile: 'FROM scratch\nCOPY . /app\n' }, everything()],
  [
    'COPY . /app after .dockerignore: a folder name excludes what is below it',
    { dockerfile: 'FROM scratch\nCOPY . /app\n', ignore: 'node_modules\n' },
    { ...everything(['node_modules/left-pad/index.js']), '.dockerignore': DI }
  ],
  [
    '`*.md` only at the root; `!README.md` re-includes',
    { dockerfile: 'FROM scratch\nCOPY . /app\n', ignore: '*.md\n!README.md\n' },
    { ...everything(), '.dockerignore': DI }
  ],
  [
    '`**/*.md` at any depth',
    { dockerfile: 'FROM scratch\nCOPY . /app\n', ignore: '**/*.md\n' },
    { ...everything(['README.md', 'docs/guide.md', 'docs/keep.md']), '.dockerignore': DI }
  ],
  [
    'an ignored folder with a re-included file inside',
    { dockerfile: 'FROM scratch\nCOPY docs /d\n', ignore: 'docs\n!docs/keep.md\n' },
    { Dockerfile: DF, '.dockerignore': DI, 'docs/keep.md': 'Dockerfile:2 COPY' }
  ],
  [
    '`*` then `!src`: only src survives',
    { dockerfile: 'FROM scratch\nCOPY . /app\n', ignore: '*\n!src\n' },
    {
      Dockerfile: DF,
      '.dockerignore': DI,
      'src/a.ts': 'Dockerfile:2 COPY',
      'src/package.json': 'Dockerfile:2 COPY',
      'src/sub/b.ts': 'Dockerfile:2 COPY',
      'src/sub/package.json': 'Dockerfile:2 COPY'
    }
  ],
  [
    'a leading / in .dockerignore is the context root',
    { dockerfile: 'FROM scratch\nCOPY src/ /s\n', ignore: '/src/sub\n' },
    {
      Dockerfile: DF,
      '.dockerignore': DI,
      'src/a.ts': 'Dockerfile:2 COPY',
      'src/package.json': 'Dockerfile:2 COPY'
    }
  ],
  [
    'a folder source with a trailing slash is everything below it',
    { dockerfile: 'FROM scratch\nCOPY src/ /s/\n' },
    {
      Dockerfile: DF,
      'src/a.ts': 'Dockerfile:2 COPY',
      'src/package.json': 'Dockerfile:2 COPY',
      'src/sub/b.ts': 'Dockerfile:2 COPY',
      'src/sub/package.json': 'Dockerfile:2 COPY'
    }
  ],
  [
    'a folder source without a slash is the same; a file of the same prefix is not',
    { dockerfile: 'FROM scratch\nCOPY pkg1 /s\n' },
    { Dockerfile: DF, 'pkg1/a.js': 'Dockerfile:2 COPY' }
  ],
  [
    '`*.json` matches the root only: `*` stops at /',
    { dockerfile: 'FROM scratch\nCOPY *.json /s/\n' },
    { Dockerfile: DF, 'package.json': 'Dockerfile:2 COPY' }
  ],
  [
    '`src/*.ts` does not go into src/sub',
    { dockerfile: 'FROM scratch\nCOPY src/*.ts /s/\n' },
    { Dockerfile: DF, 'src/a.ts': 'Dockerfile:2 COPY' }
  ],
  [
    '`*/package.json` one folder deep',
    { dockerfile: 'FROM scratch\nCOPY */package.json /s/\n' },
    { Dockerfile: DF, 'src/package.json': 'Dockerfile:2 COPY', 'tools/package.json': 'Dockerfile:2 COPY' }
  ],
  [
    'a glob that matches a folder brings everything below it',
    { dockerfile: 'FROM scratch\nCOPY pkg* /s/\n' },
    {
      Dockerfile: DF,
      'pkg1/a.js': 'Dockerfile:2 COPY',
      'pkg2/b/c.js': 'Dockerfile:2 COPY',
      pkgfile: 'Dockerfile:2 COPY'
    }
  ],
  [
    '`?` is one character, `[ab]` a class',
    { dockerfile: 'FROM scratch\nCOPY ?.txt /s/\nCOPY [b]b.txt /t/\n' },
    {
      Dockerfile: DF,
      'a.txt': 'Dockerfile:2 COPY',
      'b.txt': 'Dockerfile:2 COPY',
      'bb.txt': 'Dockerfile:3 COPY'
    }
  ],
  [
    'several sources in one COPY, with flags',
    { dockerfile: 'FROM scratch\nCOPY --chown=1:1 --chmod=644 a.txt go.mod /s/\n' },
    { Dockerfile: DF, 'a.txt': 'Dockerfile:2 COPY', 'go.mod': 'Dockerfile:2 COPY' }
  ],
  [
    'JSON form, a name with a space',
    { dockerfile: 'FROM scratch\nCOPY ["with space/f.txt", "b.txt", "/s/"]\n' },
    { Dockerfile: DF, 'b.txt': 'Dockerfile:2 COPY', 'with space/f.txt': 'Dockerfile:2 COPY' }
  ],
  [
    'JSON form expands variables too',
    { dockerfile: 'FROM scratch\nARG F=go.sum\nCOPY ["${F}", "/s/"]\n' },
    { Dockerfile: DF, 'go.sum': 'Dockerfile:3 COPY' }
  ],
  [
    'a heredoc is no context file',
    { dockerfile: 'FROM scratch\nCOPY <<EOF /etc/motd\nhello a.txt\nEOF\n' },
    { Dockerfile: DF }
  ],
  [
    'a file and a heredoc in one COPY; the heredoc body names no source',
    { dockerfile: 'FROM scratch\nCOPY go.mod <<EOF /s/\nb.txt\nEOF\nCOPY a.txt /t\n' },
    { Dockerfile: DF, 'go.mod': 'Dockerfile:2 COPY', 'a.txt': 'Dockerfile:5 COPY' }
  ],
  [
    'line continuations: the reason is the instruction line',
    { dockerfile: 'FROM scratch\nCOPY \\\n  a.txt \\\n  b.txt \\\n  /s/\n' },
    { Dockerfile: DF, 'a.txt': 'Dockerfile:2 COPY', 'b.txt': 'Dockerfile:2 COPY' }
  ],
  [
    'the escape directive changes the continuation character',
    { dockerfile: '# escape=`\nFROM scratch\nCOPY `\n  go.sum /s/\n' },
    { Dockerfile: DF, 'go.sum': 'Dockerfile:3 COPY' }
  ],
  [
    'an ARG default expands in a source',
    { dockerfile: 'FROM scratch\nARG DIR=lib\nCOPY ${DIR}/ /s/\n' },
    { Dockerfile: DF, 'lib/x.ts': 'Dockerfile:3 COPY' }
  ],
  [
    'a build-arg wins over the ARG default',
    { dockerfile: 'FROM scratch\nARG DIR=lib\nCOPY $DIR/ /s/\n', args: { DIR: 'pkg1' } },
    { Dockerfile: DF, 'pkg1/a.js': 'Dockerfile:3 COPY' }
  ],
  [
    '${VAR:-default} when unset, ${VAR:+alt} when set',
    { dockerfile: 'FROM scratch\nARG A\nARG B=x\nCOPY ${A:-go}.mod ${B:+go}.sum /s/\n' },
    { Dockerfile: DF, 'go.mod': 'Dockerfile:4 COPY', 'go.sum': 'Dockerfile:4 COPY' }
  ],
  [
    'a global ARG is not seen in a stage until declared there: `${DIR}/` is the whole context',
    { dockerfile: 'ARG DIR=lib\nFROM scratch\nCOPY ${DIR}/ /s/\n' },
    everything([], 'Dockerfile:3 COPY')
  ],
  [
    'a global ARG declared again in the stage keeps its value',
    { dockerfile: 'ARG DIR=lib\nFROM scratch\nARG DIR\nCOPY ${DIR}/ /s/\n' },
    { Dockerfile: DF, 'lib/x.ts': 'Dockerfile:4 COPY' }
  ],
  [
    'ENV expands in a source',
    { dockerfile: 'FROM scratch\nENV F=go\nCOPY $F.sum /s/\n' },
    { Dockerfile: DF, 'go.sum': 'Dockerfile:3 COPY' }
  ],
  [
    'a stage built FROM another inherits its ENV and its ARGs',
    { dockerfile: 'FROM scratch AS a\nENV F=go\nARG D=lib\nFROM a\nCOPY $F.sum ${D:-tools}/ /s/\n' },
    { Dockerfile: DF, 'go.sum': 'Dockerfile:5 COPY', 'lib/x.ts': 'Dockerfile:5 COPY' }
  ],
  [
    'multi-stage: a stage the target copies from is read; a stage it does not need is not',
    {
      dockerfile:
        'FROM golang:1.22 AS build\nCOPY go.mod go.sum ./\nFROM scratch AS test\nCOPY src/ /t\n' +
        'FROM scratch\nCOPY --from=build /out /app\nCOPY --from=busybox:1 /bin/sh /sh\n'
    },
    { Dockerfile: DF, 'go.mod': 'Dockerfile:2 COPY', 'go.sum': 'Dockerfile:2 COPY' }
  ],
  [
    'a target stops at its stage',
    {
      dockerfile: 'FROM scratch AS deps\nCOPY go.mod /\nFROM deps AS final\nCOPY src/a.ts /\n',
      target: 'DEPS'
    },
    { Dockerfile: DF, 'go.mod': 'Dockerfile:2 COPY' }
  ],
  [
    'FROM <stage> and COPY --from=<index> bring their stages',
    {
      dockerfile:
        'FROM scratch\nCOPY go.mod /\nFROM scratch AS two\nCOPY a.txt /\nFROM two\nCOPY --from=0 / /\n'
    },
    { Dockerfile: DF, 'go.mod': 'Dockerfile:2 COPY', 'a.txt': 'Dockerfile:4 COPY' }
  ],
  [
    'RUN --mount=type=bind reads its source; cache and from= mounts read no context file',
    {
      dockerfile:
        'FROM scratch AS s\nCOPY a.txt /\nFROM scratch\n' +
        'RUN --mount=type=bind,source=go.sum,target=/g --mount=type=cache,target=/c --mount=from=s,target=/s true\n'
    },
    { Dockerfile: DF, 'go.sum': 'Dockerfile:4 RUN --mount', 'a.txt': 'Dockerfile:2 COPY' }
  ],
  [
    'RUN --mount without a type is a bind of the whole context',
    { dockerfile: 'FROM scratch\nRUN --mount=target=/src true\n' },
    everything([], 'Dockerfile:2 RUN --mount')
  ],
  [
    'ADD of a URL or a git repository reads no context file; ADD of a local archive does',
    {
      dockerfile:
        'FROM scratch\nADD https://example.com/a.txt /a\nADD git@github.com:acme/x.git /x\nADD vendor.tar.gz /v\n'
    },
    { Dockerfile: DF, 'vendor.tar.gz': 'Dockerfile:4 ADD' }
  ],
  [
    'a context that is a subfolder: paths stay repository-relative, its own .dockerignore applies',
    { dockerfile: 'FROM scratch\nCOPY . /app\n', context: 'services/api', ignore: 'vendor\n' },
    {
      'services/api/.dockerignore': DI,
      'services/api/Dockerfile': DF,
      'services/api/main.go': 'services/api/Dockerfile:2 COPY'
    }
  ],
  [
    '`<Dockerfile>.dockerignore` beside a Dockerfile outside the context wins',
    {
      dockerfile: 'FROM scratch\nCOPY . /app\n',
      context: 'services/api',
      dockerfilePath: 'docker/api.Dockerfile',
      ignore: 'main.go\n',
      ignoreBeside: true
    },
    {
      'docker/api.Dockerfile': DF,
      'docker/api.Dockerfile.dockerignore': DI,
      'services/api/.dockerignore': 'docker/api.Dockerfile:2 COPY',
      'services/api/Dockerfile': 'docker/api.Dockerfile:2 COPY',
      'services/api/vendor/v.go': 'docker/api.Dockerfile:2 COPY'
    }
  ],
  [
    'the Dockerfile is an input even when .dockerignore leaves it out of the context',
    { dockerfile: 'FROM scratch\nCOPY *.txt /s/\n', ignore: 'Dockerfile\n.dockerignore\n' },
    {
      Dockerfile: DF,
      '.dockerignore': DI,
      'a.txt': 'Dockerfile:2 COPY',
      'b.txt': 'Dockerfile:2 COPY',
      'bb.txt': 'Dockerfile:2 COPY'
    }
  ],
  [
    'sources are cleaned against the context root: ./, .., a leading /',
    { dockerfile: 'FROM scratch\nCOPY ./src/../lib /l\nCOPY /go.mod /g\n' },
    { Dockerfile: DF, 'lib/x.ts': 'Dockerfile:2 COPY', 'go.mod': 'Dockerfile:3 COPY' }
  ],
  [
    'a file read by two lines is explained by the first',
    { dockerfile: 'FROM scratch\nCOPY a.txt /a\nCOPY *.txt /t/\n' },
    {
      Dockerfile: DF,
      'a.txt': 'Dockerfile:2 COPY',
      'b.txt': 'Dockerfile:3 COPY',
      'bb.txt': 'Dockerfile:3 COPY'
    }
  ],
  [
    'lower-case instructions and --link are read too',
    { dockerfile: 'from scratch\ncopy --link go.mod /\n' },
    { Dockerfile: DF, 'go.mod': 'Dockerfile:2 COPY' }
  ]
])('%s', (_name, c, expected) => {
  expect(derive(c)).toEqual(expected)
})

test.each<[string, string, string | undefined]>([
  ['a changed file under a copied folder', 'src/new.ts', 'Dockerfile:2 COPY'],
  ['a deleted or new file still counts (no file list needed)', 'src/deep/gone.ts', 'Dockerfile:2 COPY'],
  ['the Dockerfile', 'Dockerfile', DF],
  ['the .dockerignore, even when it does not exist yet', '.dockerignore', DI],
  ['a file .dockerignore leaves out', 'src/x.md', undefined],
  ['a file no source names', 'docs/guide.md', undefined]
])('inputReason: %s', (_name, path, reason) => {
  const parsed = parseDockerfile('FROM scratch\nCOPY src/ /s\n', 'Dockerfile')
  const li = layerInputs({
    layer: 'l',
    dockerfile: 'Dockerfile',
    context: '.',
    parsed,
    stages: neededStages(parsed) ?? [],
    dockerignore: { path: '.dockerignore', text: '**/*.md\n' }
  })
  expect(inputReason(li, path)).toBe(reason)
})

test('resolveInputs lists the sources that match no file', () => {
  const parsed = parseDockerfile('FROM scratch\nCOPY missing.txt a.txt /s/\nCOPY nope*/ /n\n', 'Dockerfile')
  const li = layerInputs({
    layer: 'l',
    dockerfile: 'Dockerfile',
    context: '.',
    parsed,
    stages: neededStages(parsed) ?? [],
    dockerignore: { path: '.dockerignore' }
  })
  expect(
    resolveInputs(li, FILES).unmatched.map(r => [r.source.source, r.source.line, r.source.column])
  ).toEqual([
    ['missing.txt', 2, 6],
    ['nope*/', 3, 6]
  ])
})

// The .dockerignore matcher (@balena/dockerignore, a port of Moby's matcher tested against `docker build`,
// with a per-folder shortcut) answers exactly as the library alone given the rules as BuildKit escapes
// them, case-sensitively as on Linux. (derived-inputs.itg holds BuildKit's own answer.)
import balena from '@balena/dockerignore'
import { compileDockerignore, escapedAsBuildKit, malformedRule } from '../../src/core/dockerignore.js'

const library = balena as unknown as typeof balena.default
const reference = (text: string): ReturnType<typeof library> =>
  library({ ignorecase: false }).add(text.split(/\r?\n/).map(escapedAsBuildKit))

const PATTERN_SETS = [
  'node_modules',
  'node_modules/',
  '/node_modules',
  '*.md\n!README.md',
  '**/*.md',
  '**/*.md\n!docs/**/keep.md',
  'docs\n!docs/keep.md',
  '*\n!src',
  '*\n!src\nsrc/sub',
  'src/*/b.ts',
  'a/**/b',
  '**',
  '**/',
  '!**',
  '.git\n# comment\n  # not a comment\n\n',
  '?.txt\n[ab]b.txt',
  'src/**\n!src/sub/**\nsrc/sub/package.json',
  './dot/../src/a.ts',
  'Dockerfile\n.dockerignore',
  '!\n!   \n/',
  'x\\*y\nsp ace',
  'SRC',
  'vendor/*/\n!vendor/keep/',
  // `!` rules that cannot reach an ignored folder leave its shortcut on; ones that may, turn it off.
  'node_modules\n**/*.md\n!README.md\n.git',
  'node_modules\n!node_modules/x/keep.js',
  'node_modules\n!node_modules/*/keep.js',
  'node_modules\n!*/x/keep.js',
  'node_modules\n!./node_modules/../node_modules/x/keep.js',
  'vendor\n!vendor',
  'vendor\n!vendor/\n!',
  'deep\n!deep/er\ndeep/er/and',
  'deep\n!deep/e?/and/deeper/file.md',
  'deep\n!deep/[e]r/and',
  'deep\n!deep/e\\r/and',
  'deep\n!**/file.md',
  'deep\n!/deep/er/and/deeper',
  // A rule's literal start and end: a path without them is not asked about.
  '/node_modules\n//docs/',
  '**/foo\n**/a.b/\na.b/*/b\nx/**/sp ace',
  'docs/**\n!docs/**/*.md',
  'a+b\n(x)\na|b\n^x\nx$',
  'c++\nx{2}\n!c++/keep\n[+]\n\\(y\\)',
  ' /foo \n! / bar',
  '*.ts\n!src/*/b.ts',
  'é.txt\nsp ace/'
]

const PATHS = [
  'README.md',
  'a.md',
  'a.txt',
  'bb.txt',
  'Dockerfile',
  '.dockerignore',
  '.git/config',
  'docs/a.md',
  'docs/keep.md',
  'docs/x/keep.md',
  'docs/x/y/keep.md',
  'node_modules/x/index.js',
  'lib/node_modules/y.js',
  'src/a.ts',
  'src/sub/b.ts',
  'src/sub/package.json',
  'src/x/b.ts',
  'a/b',
  'a/x/y/b',
  'a/b/c',
  'x*y',
  'xzy',
  'sp ace',
  'dot/x',
  'vendor/keep/a.go',
  'vendor/other/a.go',
  'deep/er/and/deeper/file.md',
  'deep/er/and/other.md',
  'deep/other/file.md',
  'node_modules/x/keep.js',
  'node_modules/y/keep.js',
  'node_modules/README.md',
  'vendor/a/b/c.go',
  'aab',
  'ab',
  'x',
  'foo',
  'bar',
  ' bar',
  'é.txt',
  'sp ace/x',
  'a+b',
  '(x)',
  'a|b',
  'c++/x.h',
  'c++/keep',
  'x{2}',
  'xx',
  '+',
  '(y)',
  'a.b',
  'x/sp ace'
]

test.each(PATTERN_SETS)('%j answers as @balena/dockerignore for every path', text => {
  const ours = compileDockerignore(text)
  const theirs = reference(text)
  const got = PATHS.map(p => `${p}: ${ours.ignores(p)}`)
  expect(got).toEqual(PATHS.map(p => `${p}: ${theirs.ignores(p)}`))
})

test.each([
  ['node_modules\n!README.md', 'node_modules', false],
  ['node_modules\n!README.md', 'node_modules/pkg', false],
  ['node_modules\n!node_modules/keep', 'node_modules', true],
  ['node_modules\n!node_modules/keep', 'node_modules/other', false],
  ['node_modules\n!node_modules/keep', 'node_modules/keep/lib', true],
  ['node_modules\n!*/keep', 'node_modules', true],
  ['node_modules\n!node_modules/k?ep', 'node_modules/other', true],
  ['node_modules\n!**', 'a', true],
  ['node_modules\n!', 'a', true],
  ['node_modules\n!./x/../node_modules/keep', 'node_modules/other', false],
  ['node_modules\n!../node_modules', 'node_modules', true],
  ['node_modules', 'node_modules', false]
])('%j: a `!` rule may reach %j or below: %s', (text, dir, reaches) => {
  expect(compileDockerignore(text).reincludesBelow(dir)).toBe(reaches)
})

// Random rules and paths from a small alphabet (wildcards, classes, escapes, characters BuildKit
// escapes, `!`, slashes), seeded: the shortcuts must never answer otherwise than the library.
test('random rules and paths answer as @balena/dockerignore', () => {
  let seed = 17
  const next = (n: number): number => (seed = (seed * 1103515245 + 12345) % 2 ** 31) % n
  const pick = <T>(xs: readonly T[]): T => xs[next(xs.length)]
  const PARTS = [
    'a',
    'b',
    'a.b',
    '.md',
    '*',
    '?',
    '**',
    '[ab]',
    '\\a',
    '$',
    ' ',
    '.',
    '..',
    '+',
    '|',
    '(',
    '{2}'
  ]
  const NAMES = [
    'a',
    'b',
    'ab',
    'aab',
    'a.b',
    'b.md',
    '.md',
    'a|b',
    'a$',
    ' a',
    '+',
    'a+',
    '(a',
    'b{2}',
    'bb'
  ]
  const segment = (parts: readonly string[]): string =>
    Array.from({ length: 1 + next(2) }, () => pick(parts)).join('')
  const path = (): string => Array.from({ length: 1 + next(4) }, () => segment(NAMES)).join('/')
  const rule = (): string =>
    (next(3) === 0 ? '!' : '') +
    (next(5) === 0 ? '/' : '') +
    Array.from({ length: 1 + next(3) }, () => segment(PARTS)).join('/') +
    (next(5) === 0 ? '/' : '')
  const wrong: string[] = []
  for (let i = 0; i < 300; i++) {
    const text = Array.from({ length: 1 + next(3) }, rule).join('\n')
    const ours = compileDockerignore(text)
    const theirs = reference(text)
    for (let j = 0; j < 20; j++) {
      const p = path()
      if (ours.ignores(p) !== theirs.ignores(p)) wrong.push(`${JSON.stringify(text)} ${JSON.stringify(p)}`)
    }
  }
  expect(wrong).toEqual([])
})

// moby/patternmatcher escapes `.+()|{}$` before compiling a pattern: each matches itself. (The library
// alone reads `a+b` as a regular expression that matches `aab`, and throws on `c++`.)
test.each([
  ['a+b', 'a+b', true],
  ['a+b', 'aab', false],
  ['(x)', '(x)', true],
  ['(x)', 'x', false],
  ['a|b', 'a|b', true],
  ['a|b', 'src/sub', false],
  ['x{2}', 'x{2}', true],
  ['x{2}', 'xx', false],
  ['c++', 'c++/x.h', true],
  ['\\+', '+', true],
  ['[+]', '+', true],
  ['^x', 'x', true],
  ['#(x)', '#(x)', false]
])('%j takes BuildKit escapes: %j ignored: %s', (rule, path, ignored) => {
  expect(compileDockerignore(rule).ignores(path)).toBe(ignored)
})

// BuildKit refuses these too (`invalid excludepatterns: [a[]: syntax error in pattern`).
test.each([
  ['node_modules\na[', { line: 2, rule: 'a[', why: 'Unterminated character class' }],
  ['  [z-a]  ', { line: 1, rule: '[z-a]', why: 'Range out of order in character class' }],
  ['!a[\n', { line: 1, rule: '!a[', why: 'Unterminated character class' }],
  ['c++\n\\[x\n[ab]\n# a[\n', undefined]
])('%j: the first rule that is not a pattern: %j', (text, found) => {
  expect(malformedRule(text)).toEqual(found)
})

test('case-sensitive, as BuildKit on Linux', () => {
  expect(compileDockerignore('SRC').ignores('src/a.ts')).toBe(false)
  expect(compileDockerignore('SRC').ignores('SRC/a.ts')).toBe(true)
})

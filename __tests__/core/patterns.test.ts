import { minimatch } from 'minimatch'
import { compilePatterns, matchPath } from '../../src/core/patterns.js'

const TOOLING = [
  'Dockerfile.tooling',
  'docker/config/sshd_config',
  'docker/scripts/install-*.sh',
  '!docker/scripts/install-packages.sh'
]
const BASE = ['Dockerfile.base', 'docker/lib/registry-retry.sh', 'docker/scripts/install-packages.sh']

test.each<[string, string[], string, string | undefined]>([
  // SPEC 1: install-packages.sh belongs to base only
  ['spec tooling excludes', TOOLING, 'docker/scripts/install-packages.sh', undefined],
  ['spec base literal', BASE, 'docker/scripts/install-packages.sh', 'docker/scripts/install-packages.sh'],
  ['spec tooling glob', TOOLING, 'docker/scripts/install-tools.sh', 'docker/scripts/install-*.sh'],
  ['spec tooling literal', TOOLING, 'Dockerfile.tooling', 'Dockerfile.tooling'],
  ['spec tooling unrelated', TOOLING, 'docker/scripts/other.sh', undefined],
  ['* stays in its folder', ['*.md'], 'docs/a.md', undefined],
  ['* at the root', ['*.md'], 'README.md', '*.md'],
  ['** crosses folders', ['docker/**'], 'docker/a/b/c.sh', 'docker/**'],
  ['dir/** is below the folder only', ['docker/**'], 'docker', undefined],
  ['dir/** is not a name prefix', ['docker/**'], 'dockerfile/x', undefined],
  ['dot: true in **', ['**/*.yml'], '.github/workflows/ci.yml', '**/*.yml'],
  ['dot: true in dir/**', ['src/**'], 'src/.env', 'src/**'],
  ['leading ./ ignored', ['./Dockerfile'], 'Dockerfile', './Dockerfile'],
  ['leading ./ on a negation', ['docs/**', '!./docs/x.md'], 'docs/x.md', undefined],
  ['trailing / is everything below', ['docker/'], 'docker/lib/a.sh', 'docker/'],
  ['trailing / not the folder name', ['docker/'], 'docker', undefined],
  [
    'last match wins: re-include',
    ['docs/**', '!docs/internal/**', 'docs/internal/pub.md'],
    'docs/internal/pub.md',
    'docs/internal/pub.md'
  ],
  [
    'last match wins: excluded',
    ['docs/**', '!docs/internal/**', 'docs/internal/pub.md'],
    'docs/internal/x.md',
    undefined
  ],
  [
    'last match wins: earlier positive',
    ['docs/**', '!docs/internal/**', 'docs/internal/pub.md'],
    'docs/a.md',
    'docs/**'
  ],
  ['exclusion before inclusion does nothing', ['!docs/a.md', 'docs/**'], 'docs/a.md', 'docs/**'],
  ['later glob beats earlier literal', ['a/b.txt', '!a/*.txt'], 'a/b.txt', undefined],
  ['later literal beats earlier prefix', ['!a/**', 'a/b/c'], 'a/b/c', 'a/b/c'],
  ['later prefix beats earlier glob', ['!**/*.ts', 'src/**'], 'src/x.ts', 'src/**'],
  ['braces', ['{src,lib}/*.ts'], 'lib/a.ts', '{src,lib}/*.ts'],
  ['literal braces both paths', ['{a,b}.txt'], 'b.txt', '{a,b}.txt'],
  ['escaped glob char is literal', ['a\\*b'], 'a*b', 'a\\*b'],
  ['escaped glob char no wildcard', ['a\\*b'], 'axb', undefined],
  ['character class', ['v[0-9].txt'], 'v7.txt', 'v[0-9].txt'],
  ['no patterns', [], 'anything', undefined],
  ['same pattern twice', ['a', '!a', 'a'], 'a', 'a'],
  ['./ path', ['src/**'], './src/a.ts', 'src/**']
])('%s: %j on %s → %s', (_name, patterns, path, expected) => {
  expect(matchPath(compilePatterns(patterns), path)).toBe(expected)
})

test.each<[string, RegExp]>([
  ['', /invalid path pattern "": it is empty/],
  ['   ', /invalid path pattern " {3}": it is empty/],
  ['!', /invalid path pattern "!": `!` needs a pattern after it/],
  ['!  ', /invalid path pattern "! {2}"/],
  ['!!a', /invalid path pattern "!!a": use a single leading `!`/],
  ['/Dockerfile', /invalid path pattern "\/Dockerfile": .*\(write "Dockerfile"\)/],
  ['./', /invalid path pattern "\.\/": it names the repository root/]
])('invalid pattern %j throws', (pattern, message) => {
  expect(() => compilePatterns(['ok/**', pattern])).toThrow(message)
})

// The fast paths (literal set, folder prefixes, skipping globs) must agree with minimatch read in order.
test('agrees with minimatch applied pattern by pattern, last match wins', () => {
  const pool = [
    'Dockerfile',
    'docker/**',
    '!docker/lib/**',
    'docker/lib/keep.sh',
    '**/*.md',
    '!docs/**',
    'docs/api/*.md',
    '*.json',
    'src/**/*.ts',
    '!src/**/*.test.ts',
    '.github/**',
    '!.github/workflows/*.yml',
    '{a,b}/c',
    'a/**',
    '!a/c',
    'docs/',
    '{README.md,docs/*.md}',
    '*/c',
    '!**/keep.sh',
    '**/{c,e}',
    '**/.github/**',
    'docs/**/b.md',
    '**'
  ]
  const paths = [
    'Dockerfile',
    'docker/a.sh',
    'docker/lib/x.sh',
    'docker/lib/keep.sh',
    'README.md',
    'docs/a.md',
    'docs/api/b.md',
    'docs/api/deep/c.md',
    'package.json',
    'src/a.json',
    'src/x/y.ts',
    'src/x/y.test.ts',
    '.github/strata.yml',
    '.github/workflows/ci.yml',
    'a/c',
    'b/c',
    'a/d/e',
    'docsx/a.md',
    'c',
    'x/.github/y'
  ]
  const oracle = (patterns: string[], path: string): string | undefined => {
    for (let i = patterns.length - 1; i >= 0; i--) {
      const neg = patterns[i].startsWith('!')
      let glob = neg ? patterns[i].slice(1) : patterns[i]
      if (glob.endsWith('/')) glob += '**'
      if (minimatch(path, glob, { dot: true })) return neg ? undefined : patterns[i]
    }
    return undefined
  }
  // A deterministic walk through many orderings and subsets of the pool.
  let seed = 7
  const next = (n: number): number => {
    seed = (seed + 0x6d2b79f5) | 0 // mulberry32
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed)
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t
    return Math.floor((((t ^ (t >>> 14)) >>> 0) / 4294967296) * n)
  }
  let compared = 0
  for (let round = 0; round < 200; round++) {
    const patterns = Array.from({ length: 1 + next(8) }, () => pool[next(pool.length)])
    const compiled = compilePatterns(patterns)
    for (const path of paths) {
      expect([patterns, path, matchPath(compiled, path)]).toEqual([patterns, path, oracle(patterns, path)])
      compared++
    }
  }
  expect(compared).toBe(200 * paths.length)
})

// scripts/check-lock.mjs fails when `npm ci` would fail on the lock file, or when a locked package's
// engines.node excludes a Node release package.json promises. The lock shapes below are the ones npm 11
// writes (lockfileVersion 3); the npm messages quoted are the ones `npm ci` stops with.
import { spawnSync } from 'node:child_process'
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { checkLock } from '../scripts/check-lock.mjs'
import { firstExcluded, isRange, satisfies } from '../scripts/semver-range.mjs'

const root = join(dirname(fileURLToPath(import.meta.url)), '..')

/* eslint-disable @typescript-eslint/no-explicit-any -- package.json and lock trees are plain JSON */
type Json = any

const NODE = '^20.19.0 || >=24'

/** A small sound project: a (prod) → b, optional per-platform binaries; d (dev) with its own b. */
function project(): { pkg: Json; lock: Json } {
  const pkg = {
    name: 't',
    version: '1.0.0',
    engines: { node: NODE },
    dependencies: { a: '^1.0.0', sw: 'npm:string-width@^4.2.0' },
    devDependencies: { d: '^2.0.0' }
  }
  const lock = {
    name: 't',
    version: '1.0.0',
    lockfileVersion: 3,
    requires: true,
    packages: {
      '': structuredClone(pkg),
      'node_modules/a': {
        version: '1.2.0',
        dependencies: { b: '~2.1.0', g: '^1.0.0-beta.2' },
        optionalDependencies: { '@x/bin-linux-x64': '1.0.0', '@x/bin-darwin-arm64': '1.0.0' },
        engines: { node: '>=18' }
      },
      'node_modules/b': { version: '2.1.5', engines: { node: '20 || >=22' } },
      'node_modules/g': { version: '1.0.0-beta.2' },
      'node_modules/@x/bin-linux-x64': { version: '1.0.0', optional: true, os: ['linux'], cpu: ['x64'] },
      'node_modules/@x/bin-darwin-arm64': {
        version: '1.0.0',
        optional: true,
        os: ['darwin'],
        cpu: ['arm64']
      },
      'node_modules/sw': { name: 'string-width', version: '4.2.3' },
      'node_modules/d': {
        version: '2.0.0',
        dev: true,
        dependencies: { b: '^3.0.0' },
        peerDependencies: { a: '>=1', typescript: '>=5' },
        peerDependenciesMeta: { typescript: { optional: true } },
        engines: { node: '^18.14.0 || ^20.0.0 || ^22.0.0 || >=24.0.0' }
      },
      'node_modules/d/node_modules/b': { version: '3.0.1', dev: true },
      'node_modules/w': { resolved: 'packages/w', link: true },
      'packages/w': { version: '0.1.0', dependencies: { b: '^2' } }
    }
  }
  return { pkg, lock }
}

const has = (...parts: string[]): unknown => expect.stringMatching(parts.map(escape).join('.*'))
function escape(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')
}

describe('checkLock', () => {
  test('a sound lock has no problem', () => {
    const { pkg, lock } = project()
    expect(checkLock(pkg, lock)).toEqual([])
  })

  test.each<[string, (p: Json, l: Json) => void, unknown[]]>([
    [
      "another platform's optional binary missing (the lock that broke `npm ci` on fresh clones)",
      (_, l) => delete l.packages['node_modules/@x/bin-darwin-arm64'],
      [
        has(
          'a (node_modules/a) needs @x/bin-darwin-arm64@1.0.0 (optionalDependencies)',
          'Missing: @x/bin-darwin-arm64'
        )
      ]
    ],
    [
      'a dependency of a dependency missing',
      (_, l) => delete l.packages['node_modules/g'],
      [has('a (node_modules/a) needs g@^1.0.0-beta.2 (dependencies)', 'Missing: g')]
    ],
    [
      'a locked version outside the range',
      (_, l) => (l.packages['node_modules/b'].version = '2.2.0'),
      [
        has(
          'needs b@~2.1.0, node_modules/b is 2.2.0',
          "Invalid: lock file's b@2.2.0 does not satisfy b@~2.1.0"
        )
      ]
    ],
    [
      'a prerelease where the range names none of its x.y.z',
      (_, l) => (l.packages['node_modules/b'].version = '2.1.6-rc.1'),
      [
        has('needs b@~2.1.0, node_modules/b is 2.1.6-rc.1'),
        has('packages/w needs b@^2, node_modules/b is 2.1.6-rc.1')
      ]
    ],
    [
      'a nested copy gone: the hoisted one does not fit',
      (_, l) => delete l.packages['node_modules/d/node_modules/b'],
      [has('d (node_modules/d) needs b@^3.0.0, node_modules/b is 2.1.5')]
    ],
    [
      'a dependency added to package.json only',
      p => (p.dependencies.c = '^1.0.0'),
      [
        has('package.json has dependencies.c "^1.0.0", the lock file nothing', 'run `npm install`'),
        has('package.json needs c@^1.0.0 (dependencies)', 'Missing: c')
      ]
    ],
    [
      'a range raised in package.json only',
      p => (p.dependencies.a = '^2.0.0'),
      [
        has('package.json has dependencies.a "^2.0.0", the lock file "^1.0.0"'),
        has('package.json needs a@^2.0.0, node_modules/a is 1.2.0')
      ]
    ],
    [
      'a dependency removed from package.json only',
      p => delete p.devDependencies.d,
      [has('package.json has devDependencies.d nothing, the lock file "^2.0.0"')]
    ],
    [
      'engines changed in package.json only',
      p => (p.engines = { node: '>=24' }),
      [has('package.json has engines.node ">=24", the lock file "^20.19.0 || >=24"')]
    ],
    [
      'an override the lock file does not follow',
      p => (p.overrides = { b: '^2.2.0' }),
      [
        has('a (node_modules/a) needs b@^2.2.0, node_modules/b is 2.1.5'),
        has('d (node_modules/d) needs b@^2.2.0, node_modules/d/node_modules/b is 3.0.1'),
        has('packages/w needs b@^2.2.0, node_modules/b is 2.1.5')
      ]
    ],
    [
      'an override of a form the check cannot follow',
      p => (p.overrides = { 'b@2': '2.1.5' }),
      [has('package.json: overrides.b@2: this check follows only')]
    ],
    [
      'a required peer missing',
      (_, l) => (l.packages['node_modules/d'].peerDependencies.eslint = '^9'),
      [has('d (node_modules/d) needs eslint@^9 (peerDependencies)', 'Missing: eslint')]
    ],
    [
      'an npm: alias locked as another package',
      (_, l) => (l.packages['node_modules/sw'].name = 'strip-ansi'),
      [has('package.json needs sw as npm:string-width@^4.2.0, node_modules/sw is strip-ansi')]
    ],
    [
      'an npm: alias locked outside its range',
      (_, l) => (l.packages['node_modules/sw'].version = '5.0.0'),
      [has('package.json needs sw@^4.2.0, node_modules/sw is 5.0.0')]
    ],
    [
      'a linked workspace whose dependency does not fit',
      (_, l) => (l.packages['packages/w'].dependencies.b = '^3'),
      [has('packages/w needs b@^3, node_modules/b is 2.1.5')]
    ],
    [
      'lockfileVersion 1',
      (_, l) => {
        l.lockfileVersion = 1
        delete l.packages
      },
      [
        'package-lock.json: lockfileVersion 1 has no "packages" section: run `npm install` and commit package-lock.json with npm 7 or later'
      ]
    ]
  ])('%s', (_, breakIt, want) => {
    const { pkg, lock } = project()
    breakIt(pkg, lock)
    expect(checkLock(pkg, lock)).toEqual(want)
  })

  test.each<[string, (p: Json, l: Json) => void, string[]]>([
    [
      'a production dependency that needs Node 22 (content-type 3 before the override)',
      (_, l) => (l.packages['node_modules/a'].engines.node = '>=22'),
      ['a@1.2.0 (production) declares engines.node ">=22", which excludes Node 20.19.0']
    ],
    [
      'a development dependency that stops at Node 22',
      (_, l) => (l.packages['node_modules/d'].engines.node = '^20.0.0 || ^22.0.0'),
      ['d@2.0.0 (development) declares engines.node "^20.0.0 || ^22.0.0", which excludes Node 24.0.0']
    ],
    [
      'package.json promising Node 21, which b skips',
      (p, l) => (p.engines.node = l.packages[''].engines.node = '>=20'),
      [
        'b@2.1.5 (production) declares engines.node "20 || >=22", which excludes Node 21.0.0',
        'd@2.0.0 (development) declares engines.node "^18.14.0 || ^20.0.0 || ^22.0.0 || >=24.0.0", which excludes Node 21.0.0'
      ]
    ],
    [
      'a dependency that needs a newer Node 20 minor',
      (_, l) => (l.packages['node_modules/g'].engines = { node: '^20.20.0 || >=24' }),
      ['g@1.0.0-beta.2 (production) declares engines.node "^20.20.0 || >=24", which excludes Node 20.19.0']
    ],
    [
      'an engines.node that is not a range',
      (_, l) => (l.packages['node_modules/g'].engines = { node: 'current' }),
      ['node_modules/g (production dependency) declares engines.node "current", which is not a version range']
    ],
    [
      'package.json without engines.node',
      (p, l) => (delete p.engines, delete l.packages[''].engines),
      ['package.json: engines.node is undefined: declare the Node versions']
    ]
  ])('engines: %s', (_, breakIt, want) => {
    const { pkg, lock } = project()
    breakIt(pkg, lock)
    const got = checkLock(pkg, lock)
    expect(got).toEqual(want.map(w => expect.stringContaining(w)))
  })
})

describe('semver ranges as npm reads them', () => {
  test.each([
    ['2.1.5', '~2.1.0', true],
    ['2.2.0', '~2.1.0', false],
    ['1.9.9', '^1.2.3', true],
    ['2.0.0', '^1.2.3', false],
    ['0.2.9', '^0.2.3', true],
    ['0.3.0', '^0.2.3', false],
    ['0.0.3', '^0.0.3', true],
    ['0.0.4', '^0.0.3', false],
    ['1.0.0-beta.2', '^1.0.0-beta.2', true],
    ['1.0.0-beta.10', '^1.0.0-beta.2', true],
    ['1.0.0-alpha', '^1.0.0-beta.2', false],
    ['1.0.1-beta.3', '^1.0.0-beta.2', false],
    ['7.3.0', '^7.0.0-0', true],
    ['8.0.0-rc.1', '^7.11.0 || ^8.0.0-0', true],
    ['5.4.0', '>=4.8.4 <6.1.0', true],
    ['6.1.0', '>=4.8.4 <6.1.0', false],
    ['20.5.0', '20 || >=22', true],
    ['21.7.3', '20 || >=22', false],
    ['14.17.0', '>=16 || 14 >=14.17', true],
    ['14.16.9', '>=16 || 14 >=14.17', false],
    ['10.1.0', '6.* || 8.* || >= 10.*', true],
    ['9.0.0', '6.* || 8.* || >= 10.*', false],
    ['2.3.9', '1.2.3 - 2.3', true],
    ['2.4.0', '1.2.3 - 2.3', false],
    ['1.2.2', '1.2.3 - 2.3', false],
    ['3.0.0', '*', true],
    ['1.0.0', '2.x', false],
    ['2.9.9', '2.x', true],
    ['0.8.5', '>=0.8.x', true],
    ['1.3.0', '>1.2', true],
    ['1.2.9', '>1.2', false],
    ['1.2.9', '<=1.2', true],
    ['1.3.0', '<=1.2', false],
    ['1.2.3', '=1.2.3', true],
    ['1.2.4', '1.2.3', false]
  ])('%s in %p: %p', (version, range, want) => {
    expect(satisfies(version, range)).toBe(want)
  })

  test.each([
    ['>=20', '20 || >=22', '21.0.0'],
    [NODE, '20 || >=22', undefined],
    [NODE, '>=22', '20.19.0'],
    [NODE, '>=18', undefined],
    [NODE, '^18.18.0 || ^20.9.0 || >=21.1.0', undefined],
    [NODE, '^20.19.0 || ^22.13.0 || >=24', undefined],
    [NODE, '>=20 <24.5', '24.5.0'],
    [NODE, '>=0.6.11 <=0.7.0 || >=0.7.3', undefined],
    [NODE, '^20.0.0 || ^22.0.0', '24.0.0'],
    [NODE, '20.19.0 - 20.30 || >=24', '20.31.0'],
    ['20.x', '>=20.1', '20.0.0'],
    ['>=24', '<=24.2.1 || >24.2.1', undefined],
    ['>=24', '<24.2.1 || >24.2.1', '24.2.1']
  ])('Node %p inside %p: first excluded %p', (declared, supported, want) => {
    expect(firstExcluded(declared, supported)).toBe(want)
  })

  test.each(['latest', 'npm:string-width@^4', 'git+https://x/y.git', '>=a', '1.2.3.4'])(
    '%p is not a range',
    text => {
      expect(isRange(text)).toBe(false)
    }
  )
})

describe('node scripts/check-lock.mjs', () => {
  const script = join(root, 'scripts/check-lock.mjs')
  const run = (...args: string[]): { code: number | null; out: string; err: string } => {
    const r = spawnSync(process.execPath, [script, ...args], { cwd: root, encoding: 'utf8' })
    return { code: r.status, out: r.stdout, err: r.stderr }
  }
  const tempLock = (edit: (lock: Json) => void | string): string => {
    const lock = JSON.parse(readFileSync(join(root, 'package-lock.json'), 'utf8'))
    const text = edit(lock)
    const file = join(mkdtempSync(join(tmpdir(), 'strata-lock-')), 'package-lock.json')
    writeFileSync(file, typeof text === 'string' ? text : JSON.stringify(lock))
    return file
  }

  test("the repository's own lock file passes", () => {
    const r = run()
    expect(r).toEqual({
      code: 0,
      err: '',
      out: expect.stringMatching(/^check-lock: package-lock\.json \(\d+ packages\) is in sync/)
    })
  })

  test.each<[string, (lock: Json) => void | string, string[]]>([
    [
      'without the darwin binding of unrs-resolver',
      l => delete l.packages['node_modules/@unrs/resolver-binding-darwin-arm64'],
      ['Missing: @unrs/resolver-binding-darwin-arm64']
    ],
    [
      'with content-type 3.1.1 (Node >= 22) instead of the override',
      l => {
        // Nested under @octokit/request, or hoisted once another package (make-fetch-happen's negotiator) needs it too.
        const ct =
          l.packages['node_modules/@octokit/request/node_modules/content-type'] ??
          l.packages['node_modules/content-type']
        Object.assign(ct, { version: '3.1.1', engines: { node: '>=22' } })
      },
      [
        'needs content-type@^2.1.0',
        'content-type@3.1.1 (production) declares engines.node ">=22", which excludes Node 20.19.0'
      ]
    ],
    ['that is not JSON', () => '{ "lockfileVersion": 3,', ['not JSON']]
  ])('a lock file %s fails, saying why', (_, edit, want) => {
    const lock = tempLock(edit)
    const r = run('--lock', lock)
    expect(r.code).toBe(1)
    expect(r.out).toBe('')
    for (const w of want) expect(r.err).toContain(w)
    expect(r.err).toMatch(/check-lock: \d+ problems?\n$/)
  })
})

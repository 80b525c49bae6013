// What a team checks before adopting Strata, checked here so it cannot rot: the licence matches
// package.json, the release workflow moves the major tag only after every check passed, Dependabot covers
// npm and the pinned actions, the README's two commands are the ones CI runs, and engines is one range.
import { readFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parse } from 'yaml'
import type { JobResult } from './helpers/gh-expr.js'
import { simulateRun } from './helpers/gh-expr.js'

const root = join(dirname(fileURLToPath(import.meta.url)), '..')
const read = (file: string): string => readFileSync(join(root, file), 'utf8')
const pkg = JSON.parse(read('package.json'))

/* eslint-disable @typescript-eslint/no-explicit-any -- YAML trees are untyped */
type Json = any

describe('licence, security policy, changelog', () => {
  test('LICENSE is the MIT licence package.json names, held by the Strata authors', () => {
    expect(pkg.license).toBe('MIT')
    const lines = read('LICENSE').split('\n')
    expect(lines.slice(0, 3)).toEqual(['MIT License', '', 'Copyright (c) 2026 the Strata authors'])
    expect(read('LICENSE')).toContain('THE SOFTWARE IS PROVIDED "AS IS", WITHOUT WARRANTY OF ANY KIND')
  })

  test('SECURITY.md says how to report privately and which versions get fixes', () => {
    const text = read('SECURITY.md')
    expect(text).toContain('https://github.com/strata-build/strata/security/advisories/new')
    expect(text).toMatch(/^## Supported versions$/m)
    expect(text).toMatch(/^\| latest `v1\.x\.y` release .* \| yes/m)
  })

  test('CHANGELOG.md starts with this release', () => {
    const headings = read('CHANGELOG.md').match(/^## .*$/gm)
    expect(headings?.[0]).toBe('## Unreleased')
  })
})

describe('.github/workflows/release.yml', () => {
  const wf = parse(read('.github/workflows/release.yml')) as Json
  const jobs = wf.jobs as Record<string, Json>
  const checks = Object.keys(jobs).filter(j => j !== 'move-major-tag')
  const runs = (job: string): string[] =>
    (jobs[job].steps as Json[]).filter(s => s.run).map(s => String(s.run))

  test('runs on a published release and writes nothing outside the tag job', () => {
    expect(wf.on).toEqual({ release: { types: ['published'] } })
    expect(wf.permissions).toEqual({ contents: 'read' })
    for (const job of checks)
      expect({ job, permissions: jobs[job].permissions }).toEqual({ job, permissions: undefined })
    expect(jobs['move-major-tag'].permissions).toEqual({ contents: 'write' })
  })

  test('checks the lock file, types, lint, dist/ and every test before the tag moves', () => {
    const all = checks.flatMap(runs)
    for (const cmd of [
      'npm ci --no-fund --no-audit',
      'npm run build',
      'npm run lint',
      'npm run check:dist',
      'npm run test:unit',
      'npm test -- --selectProjects integration'
    ]) {
      expect(all).toContain(cmd)
    }
    expect(jobs.unit.strategy.matrix.node).toEqual([20, 24])
    expect(jobs['move-major-tag'].needs.slice().sort()).toEqual(checks.slice().sort())
  })

  const sim = (failing: string[], prerelease: boolean): Record<string, JobResult> =>
    simulateRun({
      jobs: Object.fromEntries(
        Object.entries(jobs).map(([n, j]) => [n, { needs: [j.needs ?? []].flat(), if: j.if }])
      ),
      outputs: {},
      failing,
      vars: { github: { event: { release: { prerelease } } } }
    })

  test.each([
    ['every check passes', 'success', [], false],
    ['a pre-release', 'skipped', [], true],
    ...['checks', 'unit', 'integration'].map(j => [`${j} fails`, 'skipped', [j], false] as const)
  ] as const)('%s: the major tag job is %p', (_, want, failing, prerelease) => {
    expect(sim([...failing], prerelease)['move-major-tag']).toBe(want)
  })

  test('moves v<major> only for a vX.Y.Z tag, to the commit the checks ran on, without ${{ }} in the script', () => {
    const script = runs('move-major-tag').join('\n')
    expect(script).toContain('^v([0-9]+)\\.[0-9]+\\.[0-9]+$')
    expect(script).toContain('if [ "$sha" != "$tagged" ]; then')
    expect(script).not.toContain('${{')
  })
})

describe('.github/dependabot.yml', () => {
  test('updates npm and every pinned action, the examples too', () => {
    const updates = (parse(read('.github/dependabot.yml')) as Json).updates as Json[]
    expect(updates.map(u => u['package-ecosystem']).sort()).toEqual(['github-actions', 'npm'])
    const actions = updates.find(u => u['package-ecosystem'] === 'github-actions')
    expect(actions.directories).toEqual(['/', '/examples/*'])
    for (const u of updates) expect(u.schedule.interval).toBe('weekly')
  })
})

describe('the two commands', () => {
  test("the README shows them first, exactly as typed, and CI's .ci/run calls the test one and nothing else", () => {
    const readme = read('README.md')
    const firstSection = readme.slice(readme.indexOf('\n## '))
    expect(firstSection.startsWith('\n## Try it: two commands\n')).toBe(true)
    expect(firstSection).toContain('```sh\nbash scripts/example.sh build\nbash scripts/test.sh\n```')
    const commands = read('.ci/run')
      .split('\n')
      .filter(l => l.trim() && !l.startsWith('#'))
    expect(commands).toEqual(['set -euo pipefail', 'cd "$(dirname "$0")/.."', 'bash scripts/test.sh'])
  })

  test('scripts/test.sh installs the locked dependencies and starts the stack before any check', () => {
    const steps = read('scripts/test.sh')
      .split('\n')
      .filter(l => /^(npm|bash) /.test(l))
    expect(steps).toEqual([
      'npm ci --no-fund --no-audit',
      'bash scripts/stack.sh up',
      'npm run build',
      'npm run lint',
      'npm run check:dist',
      'npm test'
    ])
  })

  test('the example starts the stack before it copies busybox, which the stack installs', () => {
    const text = read('scripts/example.sh')
    expect(text.indexOf('scripts/stack.sh" up')).toBeGreaterThan(0)
    expect(text.indexOf('scripts/stack.sh" up')).toBeLessThan(text.indexOf('"$repo/busybox"'))
  })
})

test('package.json and the lock file declare the same engines.node, and the lint step checks the lock', () => {
  const lock = JSON.parse(read('package-lock.json'))
  expect(pkg.engines).toEqual({ node: '^20.19.0 || >=24' })
  expect(lock.packages[''].engines).toEqual(pkg.engines)
  expect(pkg.scripts.lint.startsWith('npm run check:lock && ')).toBe(true)
  expect(pkg.scripts['check:lock']).toBe('node scripts/check-lock.mjs')
})

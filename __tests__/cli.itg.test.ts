// `strata plan|build` on a real git clone of examples/three-layer, with the real registry and buildx.
import { copyFileSync, cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { jest } from '@jest/globals'
import { loadEvent } from '../__fixtures__/events/index.js'
import { commitFiles, git } from '../__fixtures__/github-api-server.js'
import { digestOf, uniqueRepo } from '../__fixtures__/images/index.js'
import { cli } from '../src/cli.js'
import { parsePlanInput } from '../src/core/plan.js'

jest.setTimeout(300_000)

const root = join(dirname(fileURLToPath(import.meta.url)), '..')
// Not named strata-cli-*: that prefix is the CLI's own scratch folder, which must never be left behind.
const tmp = mkdtempSync(join(tmpdir(), 'strata-test-cli-'))
const repo = join(tmp, 'repo')
const image = uniqueRepo('cli')
let c0: string // main: the example
let c1: string // feature: an application-only change

beforeAll(() => {
  cpSync(join(root, 'examples/three-layer'), repo, { recursive: true })
  const configFile = join(repo, '.github/strata.yml')
  writeFileSync(configFile, readFileSync(configFile, 'utf8').replace('localhost:5000/strata-example', image))
  copyFileSync('/bin/busybox', join(repo, 'busybox'))
  git(repo, 'init', '-q', '-b', 'main')
  git(repo, 'add', '-A')
  git(repo, 'commit', '-q', '-m', 'three layers')
  c0 = git(repo, 'rev-parse', 'HEAD')
  c1 = commitFiles(repo, { 'docker/app/hello.sh': 'echo changed\n' }, 'app: change', { branch: 'feature' })
})

afterAll(() => rmSync(tmp, { recursive: true, force: true }))

const inputTag = (): unknown => expect.stringMatching(new RegExp(`^${image}:app-inputs-[0-9a-f]{16}$`))

async function strata(...args: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = ''
  let err = ''
  const code = await cli([...args, '-C', repo], { out: t => void (out += t), err: t => void (err += t) })
  return { code, out, err }
}

test('plan --json on a feature branch compares with its merge-base with main, from git', async () => {
  const r = await strata('plan', '--json')
  expect(r.code).toBe(0)
  const json = JSON.parse(r.out)
  expect(json.base).toBe(c0)
  expect(json.head).toBe(c1)
  expect(json.event).toBe('push')
  expect(json.changes).toEqual({ source: 'git', count: 1 })
  expect(json.changed_files).toEqual(['docker/app/hello.sh'])
  // An empty registry: every layer bootstraps.
  expect(json.layers.base).toMatchObject({ build: true, reasons: ['no base-stable in registry'] })
  expect(json.layers.app.reasons).toEqual([
    'parent tooling rebuilt',
    '1 changed file matches',
    'always',
    'no latest in registry'
  ])
  // SPEC 4a: the input tag goes with the versioned tags.
  expect(json.layers.app.tags).toEqual([`${image}:feature-${c1.slice(0, 7)}`, inputTag(), `${image}:feature`])
  // The example has no `paths`: the Dockerfile line that reads the file is what made it an input.
  expect(json.layers.app.matches).toEqual([{ path: 'docker/app/hello.sh', pattern: 'Dockerfile:5 COPY' }])
  // The log (stderr) says the event, the commits and where the list came from, before the decision.
  const log = r.err.split('\n')
  expect(log[0]).toBe(`Event: push on refs/heads/feature in local/repo, commit ${c1.slice(0, 7)}`)
  expect(log[1]).toBe(`Compare: ${c0.slice(0, 7)}…${c1.slice(0, 7)}`)
  expect(log[2]).toMatch(/^Changed files: 1 file from git diff/)
  // The JSON is a plan that the action's `plan` input accepts.
  expect(Object.keys(parsePlanInput(r.out).layers)).toEqual(['base', 'tooling', 'app'])
})

test('build --push on main bootstraps every layer; then plan on the feature reuses base and tooling', async () => {
  git(repo, 'checkout', '-q', 'main')
  const b = await strata('build', '--push', '--base', c0)
  git(repo, 'checkout', '-q', 'feature')
  expect(b.err).not.toContain('strata: layer')
  expect(b.code).toBe(0)
  expect(b.out).toMatch(/^LAYER\s+ACTION\s+TIME\s+CACHED\s+REASONS\s+REF$/m)
  expect(b.out).toMatch(/^base\s+built\s+\d+\.\ds\s+\d+\/\d+\s+no base-stable in registry\s+\S+@sha256:/m)
  const baseStable = await digestOf(`${image}:base-stable`)
  const toolingStable = await digestOf(`${image}:tooling-stable`)
  expect(baseStable).toMatch(/^sha256:/)
  expect(await digestOf(`${image}:latest`)).toMatch(/^sha256:/)

  const p = await strata('plan', '--json', '--base', 'main')
  expect(p.code).toBe(0)
  const json = JSON.parse(p.out)
  expect(json.layers.base).toMatchObject({ build: false, ref: `${image}:base-stable@${baseStable}` })
  expect(json.layers.tooling).toMatchObject({ build: false, ref: `${image}:tooling-stable@${toolingStable}` })
  expect(json.layers.app).toMatchObject({ build: true, reasons: ['1 changed file matches', 'always'] })

  const table = await strata('plan')
  expect(table.out.split('\n')[0]).toMatch(/^LAYER\s+ACTION\s+REASONS\s+REF$/)
  expect(table.out).toMatch(new RegExp(`^base\\s+reuse\\s+-\\s+${image}:base-stable@${baseStable}$`, 'm'))
  expect(table.out).toMatch(/^app\s+build\s+1 changed file matches, always\s+\S+:feature-[0-9a-f]{7}$/m)
})

test('--event-file replays a pull request event; the diff comes from git without a token', async () => {
  const event = loadEvent('pull_request', { base: c0, head: c1 })
  const file = join(tmp, 'event.json')
  writeFileSync(file, JSON.stringify(event.payload))
  const r = await strata('plan', '--json', '--event-file', file, '--force', 'tooling')
  expect(r.code).toBe(0)
  const json = JSON.parse(r.out)
  expect(json.event).toBe('pull_request')
  expect(json.changes.source).toBe('git')
  expect(json.changed_files).toEqual(['docker/app/hello.sh'])
  expect(json.layers.tooling.reasons).toEqual(['forced'])
  expect(json.layers.app.tags).toEqual([`${image}:pr-42-${c1.slice(0, 7)}`, inputTag(), `${image}:pr-42`])
})

test('--event-file replays a schedule event, whose payload names no commit, on the checked-out one', async () => {
  const file = join(tmp, 'schedule.json')
  writeFileSync(file, JSON.stringify(loadEvent('schedule').payload))
  const r = await strata('plan', '--json', '--event-file', file, '--event-name', 'schedule')
  expect(r.code).toBe(0)
  const json = JSON.parse(r.out)
  expect(json.event).toBe('schedule')
  expect(json.head).toBe(c1)
  expect(json.layers.app.tags).toEqual([
    expect.stringMatching(new RegExp(`^${image}:nightly-\\d{8}$`)),
    `${image}:feature-${c1.slice(0, 7)}`,
    inputTag(),
    `${image}:feature`
  ])
})

test('inputs [layer]: what a layer reads and why, from its Dockerfile (the example has no `paths`)', async () => {
  const r = await strata('inputs', 'app')
  expect(r.code).toBe(0)
  expect(r.err).toBe('')
  expect(r.out).toBe(
    [
      'app: 3 files (Dockerfile, context .)',
      '  .dockerignore        the .dockerignore',
      '  Dockerfile           the Dockerfile',
      '  docker/app/hello.sh  Dockerfile:5 COPY',
      ''
    ].join('\n')
  )
})

test.each([
  [['plan', '--base', 'no-such-branch'], 1, '"no-such-branch" is not a commit'],
  [
    ['plan', '--layers', 'nope'],
    1,
    'the `layers` input names an unknown layer "nope"; known layers: base, tooling, app'
  ],
  [['deploy'], 1, 'unknown command "deploy": use plan, build, cleanup or inputs'],
  [['inputs', 'nope'], 1, 'no layer "nope" in .github/strata.yml; its layers: base, tooling, app'],
  [['plan', '--bogus'], 2, "Unknown option '--bogus'"],
  // Bad flag values fail in makeSettings(), before anything is read or built, naming the flag.
  [['cleanup', '--max-deletions', 'ten'], 1, '--max-deletions is "ten": must be a whole number, e.g. 20'],
  [['build', '--build-arg', 'A B=1'], 1, '--build-arg is "A B=1": "A B" is not a build-arg name'],
  [['plan', '--force', 'all,app'], 1, '--force is "all,app": use either `all` or layer names, not both'],
  [['plan', '--platforms', 'arm64'], 1, '--platforms is "arm64": each platform is os/arch'],
  [['inputs', '--build-arg', 'NOEQUALS'], 1, '--build-arg is "NOEQUALS": each line must be KEY=VALUE']
])('[%#] strata %j exits %d saying %s', async (args, code, message) => {
  const r = await strata(...args)
  expect(r.code).toBe(code)
  expect(r.err).toContain(message)
})

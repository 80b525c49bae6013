// wire(): every adapter of a run made in one place, each only for the mode that uses it.
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createGit } from '../src/adapters/git.js'
import { createTerminalLogger } from '../src/adapters/terminal-log.js'
import type { RunSettings } from '../src/core/settings.js'
import { wire } from '../src/wiring.js'

const ws = mkdtempSync(join(tmpdir(), 'strata-wiring-'))
afterAll(() => rmSync(ws, { recursive: true, force: true }))
const log = createTerminalLogger({ write: () => undefined })
const common = {
  workspace: ws,
  configPath: '.github/strata.yml',
  eventName: 'push',
  payload: {},
  env: {},
  now: new Date()
}
const planLike = (mode: 'plan' | 'build' | 'merge'): RunSettings => ({
  ...common,
  mode,
  force: [],
  push: false,
  buildArgs: {},
  dryRun: true,
  runnerTemp: ws,
  buildEnv: {}
})
const cleanup: RunSettings = { ...common, mode: 'cleanup', dryRun: true, maxDeletions: 20 }

const made = (deps: object): string[] =>
  Object.keys(deps)
    .filter(k => (deps as Record<string, unknown>)[k] !== undefined)
    .sort()

test.each<[string, RunSettings, { token?: string }, string[]]>([
  [
    'plan, no token',
    planLike('plan'),
    {},
    ['buildx', 'contentIds', 'files', 'git', 'images', 'log', 'registry']
  ],
  [
    'plan, a token',
    planLike('plan'),
    { token: 't' },
    ['buildx', 'contentIds', 'files', 'git', 'github', 'images', 'log', 'registry']
  ],
  [
    'build',
    planLike('build'),
    {},
    ['buildx', 'cache', 'contentIds', 'files', 'git', 'images', 'log', 'registry']
  ],
  ['merge', planLike('merge'), {}, ['buildx', 'contentIds', 'files', 'git', 'images', 'log', 'registry']],
  ['cleanup', cleanup, {}, ['cleanup', 'contentIds', 'files', 'git', 'images', 'log', 'registry']]
])('%s: the adapters of that mode', (_name, s, gh, keys) => {
  expect(made(wire(s, log, gh))).toEqual(keys)
})

test('cleanup: the Packages API and pull request states only with a token', () => {
  expect(Object.keys(wire(cleanup, log, {}).cleanup ?? {})).toEqual(['oci'])
  expect(Object.keys(wire(cleanup, log, { token: 't' }).cleanup ?? {}).sort()).toEqual([
    'ghcr',
    'ghcrManifests',
    'oci',
    'pulls'
  ])
})

test('the git the CLI found its clone with is the one every adapter uses', () => {
  const git = createGit(ws)
  expect(wire(planLike('plan'), log, { git }).git).toBe(git)
})

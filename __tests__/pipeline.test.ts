// The pure parts of the pipeline: the `base`/`head` inputs over the event's diff range.
import { loadEvent } from '../__fixtures__/events/index.js'
import type { EventFixture } from '../__fixtures__/events/index.js'
import { diffRange, readEvent } from '../src/core/event.js'
import type { DecisionDraft, DiffRange } from '../src/core/types.js'
import { mkdtempSync, mkdirSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createRegistry } from '../src/adapters/registry.js'
import { createTerminalLogger } from '../src/adapters/terminal-log.js'
import { decide, planToJson } from '../src/core/plan.js'
import { parseConfig } from '../src/core/config/index.js'
import type { PlanSettings } from '../src/core/settings.js'
import { describeChanges, makePlan, overrideRange, strataLabels } from '../src/plan/make-plan.js'
import { LABEL_EXTERNALS } from '../src/core/same-inputs.js'
import { createGit } from '../src/adapters/git.js'
import { createWorkspaceFiles } from '../src/adapters/workspace-files.js'

const B = 'b'.repeat(40)
const H = 'c'.repeat(40)

function rangeOf(name: EventFixture, base?: string, head?: string): { range: DiffRange; sha: string } {
  const { eventName, payload, env } = loadEvent(name)
  const ctx = readEvent(eventName, payload, env, new Date('2025-06-01T12:00:00Z'))
  return { range: overrideRange(diffRange(eventName, payload, ctx), ctx, base, head), sha: ctx.sha }
}

test.each<[EventFixture, string | undefined, string | undefined, (sha: string) => Partial<DiffRange>]>([
  ['push', B, H, () => ({ kind: 'compare', base: B, head: H })],
  ['workflow_dispatch', B, undefined, sha => ({ kind: 'compare', base: B, head: sha })],
  ['pull_request', undefined, H, () => ({ kind: 'compare', head: H })],
  // Only the head moves: a new branch is still compared with the default branch.
  ['push-new-branch', undefined, H, () => ({ kind: 'new-branch', head: H })],
  ['push-first', undefined, H, () => ({ kind: 'first-push', head: H })],
  // A deleted branch builds nothing, whatever commits a workflow passes.
  ['push-deleted', B, H, () => ({ kind: 'deleted' })],
  ['schedule', undefined, H, () => ({ kind: 'none' })]
])('[%#] %s with base %s and head %s', (name, base, head, expected) => {
  const { range, sha } = rangeOf(name, base, head)
  expect(range).toMatchObject(expected(sha))
})

test('without base or head the event decides', () => {
  const { eventName, payload, env } = loadEvent('push-new-branch')
  const ctx = readEvent(eventName, payload, env, new Date())
  const range = diffRange(eventName, payload, ctx)
  expect(overrideRange(range, ctx)).toBe(range)
})

test.each<[DiffRange, string]>([
  [
    { kind: 'new-branch', defaultBranch: 'main', head: H },
    `2 files since merge base ${B.slice(0, 7)} from the GitHub API`
  ],
  [{ kind: 'compare', base: B, head: H }, '2 files from the GitHub API']
])('[%#] the changed-files log line names a merge base the Compare line could not', (range, text) => {
  const files = [{ path: 'b', status: 'renamed' as const, previousPath: 'a' }]
  expect(describeChanges({ source: 'api', files, base: B, head: H }, range)).toBe(text)
})

test('following a plan warns that the force and base given to this step are not used', async () => {
  const yml = 'version: 1\nimage: ghcr.io/acme/sindri\nlayers:\n  app: {}\n'
  const ws = mkdtempSync(join(tmpdir(), 'strata-pipeline-'))
  mkdirSync(join(ws, '.github'))
  writeFileSync(join(ws, '.github/strata.yml'), yml)
  writeFileSync(join(ws, 'Dockerfile'), 'FROM scratch\n')
  const { eventName, payload, env } = loadEvent('push')
  const now = new Date('2025-06-01T12:00:00Z')
  const ctx = readEvent(eventName, payload, env, now)
  const given = decide({
    config: parseConfig(yml, '.github/strata.yml'),
    ctx,
    changes: { source: 'none', files: [] },
    force: [],
    stableExists: { app: true }
  })
  const settings: PlanSettings = {
    mode: 'plan',
    workspace: ws,
    configPath: '.github/strata.yml',
    eventName,
    payload,
    env,
    now,
    plan: JSON.stringify(planToJson(given)),
    force: ['app'],
    push: false,
    base: B,
    buildArgs: {},
    dryRun: false,
    runnerTemp: ws,
    buildEnv: {}
  }
  const lines: string[] = []
  const log = createTerminalLogger({ write: l => void lines.push(l) })
  // Following a plan never asks the registry: the real adapter is never called.
  const out = await makePlan(settings, {
    log,
    registry: createRegistry(),
    files: createWorkspaceFiles(ws, createGit(ws))
  })
  expect(out.plan.layers.app.build).toBe(false)
  expect(lines.filter(l => l.startsWith('warning:'))).toEqual([
    'warning: the `force` and `base` inputs are not used: this step follows the `plan` input, ' +
      'decided with the inputs of its `mode: plan` step (give them there)'
  ])
})

// A platform step follows the plan step's plan: its images carry the external digests that step
// resolved (the codec once dropped them, and the labels said {"node:20":""}).
test('following a plan, the labels carry the external digests the plan step resolved', async () => {
  const yml = 'version: 1\nimage: localhost:5000/strata-issue21/app\nlayers:\n  app: {}\n'
  const ws = mkdtempSync(join(tmpdir(), 'strata-pipeline-'))
  mkdirSync(join(ws, '.github'))
  writeFileSync(join(ws, '.github/strata.yml'), yml)
  writeFileSync(join(ws, 'Dockerfile'), 'FROM node:20\n')
  const { eventName, payload, env } = loadEvent('push')
  const now = new Date('2025-06-01T12:00:00Z')
  const ctx = readEvent(eventName, payload, env, now)
  const given = decide({
    config: parseConfig(yml, '.github/strata.yml'),
    ctx,
    changes: { source: 'none', files: [] },
    force: ['app'],
    stableExists: { app: true }
  })
  const node = `sha256:${'e'.repeat(64)}`
  ;(given.layers.app as DecisionDraft).inputs = `sha256:${'1'.repeat(64)}`
  given.externals = { 'node:20': node }
  const settings: PlanSettings = {
    mode: 'build',
    workspace: ws,
    configPath: '.github/strata.yml',
    eventName,
    payload,
    env,
    now,
    plan: JSON.stringify(planToJson(given)),
    force: [],
    push: false,
    buildArgs: {},
    dryRun: true,
    runnerTemp: ws,
    buildEnv: {}
  }
  const out = await makePlan(settings, {
    log: createTerminalLogger({ write: () => undefined }),
    registry: createRegistry(),
    files: createWorkspaceFiles(ws, createGit(ws))
  })
  expect(strataLabels(out).app[LABEL_EXTERNALS]).toBe(JSON.stringify({ 'node:20': node }))
})

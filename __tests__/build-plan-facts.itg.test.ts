// The build reads what the plan carries (issue 21): with the plan step's Dockerfile facts it reads no
// Dockerfile of its own (a dry run on the real buildx, in a workspace that has none), and each part's
// results are folded into one BuildResult without changing the parts' own.
import { expect, test } from '@jest/globals'
import { mkdtemp } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { config, eventContext, from, layer } from '../__fixtures__/layers.js'
import { recordingLog } from '../__fixtures__/log.js'
import { createBuildx } from '../src/adapters/buildx.js'
import { createRegistry } from '../src/adapters/registry.js'
import { executePlan } from '../src/build/build.js'
import { foldResults, initialResults, skipped } from '../src/build/results.js'
import { completePlan, decide } from '../src/core/plan.js'
import type { LayerResult, Plan } from '../src/core/types.js'

const IMAGE = 'localhost:5000/strata-issue21-facts/app'
const CONFIG = config([layer('base', { image: IMAGE }), layer('app', { image: IMAGE, from: from('base') })])
const CTX = eventContext()

function planWith(facts: boolean): Plan {
  const decided = decide({
    config: CONFIG,
    ctx: CTX,
    changes: { source: 'none', files: [] },
    force: 'all',
    stableExists: {}
  })
  const plan = completePlan(decided, CONFIG, CTX)
  if (!facts) return plan
  const dockerfile = {
    stages: 2,
    text: 'FROM busybox AS tools\nFROM ${BASE_IMAGE}\nCOPY --from=tools /bin/sh /sh\n'
  }
  const layers = Object.fromEntries(Object.entries(plan.layers).map(([n, d]) => [n, { ...d, dockerfile }]))
  return { ...plan, layers }
}

async function dryRun(
  plan: Plan
): Promise<{ result: Awaited<ReturnType<typeof executePlan>>; lines: string[] }> {
  const ws = await mkdtemp(join(tmpdir(), 'strata-facts-ws-')) // no Dockerfile in it
  const runnerTemp = await mkdtemp(join(tmpdir(), 'strata-facts-tmp-'))
  const log = recordingLog()
  const result = await executePlan(
    CONFIG,
    plan,
    CTX,
    { push: true, dryRun: true, buildArgs: {}, runnerTemp, env: {}, workspace: ws },
    { buildx: createBuildx(), registry: createRegistry(), log }
  )
  return { result, lines: log.lines }
}

test('with the plan step’s Dockerfile facts, the build reads no Dockerfile: FROM count from the plan', async () => {
  const { result, lines } = await dryRun(planWith(true))
  expect(result.failed).toBeUndefined()
  expect(Object.values(result.layers).map(r => [r.name, r.status])).toEqual([
    ['base', 'built'],
    ['app', 'built']
  ])
  // Two FROM lines, as the plan says: the mode=max export pays (SPEC 6).
  expect(result.bake?.definition.target.app['cache-to']).toContain(
    `type=registry,ref=${IMAGE}:cache-app,mode=max,ignore-error=true`
  )
  expect(lines.some(l => l.includes('multi-stage Dockerfile (2 FROM)'))).toBe(true)
})

test('a plan made by decide() alone: the build reads the Dockerfile itself, and says when it cannot', async () => {
  const { result } = await dryRun(planWith(false))
  expect(result.failed).toBe('base')
  expect(result.layers.base).toMatchObject({ status: 'failed' })
  expect(result.layers.base.error).toContain('cannot read its Dockerfile Dockerfile.base: it does not exist')
  expect(result.layers.app).toMatchObject({ status: 'skipped', error: 'parent base failed' })
})

test('results are folded into new records; a part’s own results stay as it returned them', () => {
  const initial = initialResults(planWith(true), CONFIG.order)
  const log = recordingLog()
  const base: LayerResult = { ...initial.base, status: 'failed', error: 'boom' }
  const app = skipped(initial.app, 'base', log)
  const folded = foldResults(initial, [base], [app])
  expect(folded).toEqual({ base, app })
  expect(initial.app).toEqual({ name: 'app', status: 'built', reasons: ['forced', 'parent base rebuilt'] })
  expect(app.reasons).toEqual(['forced', 'parent base rebuilt', 'parent base failed'])
  expect(log.lines).toEqual(['warning: app: not built: parent base failed'])
})

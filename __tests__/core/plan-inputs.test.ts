// SPEC 2's plan fields of section 4a: `inputs` and `same-inputs`, out and back in, and the log line.
import { describePlan, parsePlanInput, planToJson } from '../../src/core/plan.js'
import type { Plan } from '../../src/core/types.js'
import { IMAGE, specExample } from '../../__fixtures__/layers.js'

const INPUTS = 'sha256:3f2a9c1d4e5f6a7b' + '1'.repeat(48)
const DIGEST = 'sha256:' + 'f'.repeat(64)
const SAME = `${IMAGE}:tooling-inputs-3f2a9c1d4e5f6a7b@${DIGEST}`

const PLAN: Plan = {
  layers: {
    base: {
      build: false,
      reasons: [],
      matches: [],
      tags: [],
      selected: true,
      inputs: 'sha256:' + '2'.repeat(64)
    },
    tooling: {
      build: false,
      reasons: ['1 changed file matches'],
      matches: [{ path: 'docker/scripts/install-mise.sh', pattern: 'docker/scripts/install-*.sh' }],
      tags: [`${IMAGE}:tooling-3f2a9c1`],
      selected: true,
      ref: SAME,
      inputs: INPUTS,
      sameInputs: SAME
    },
    app: { build: true, reasons: ['always'], matches: [], tags: [], selected: true }
  },
  changes: { source: 'api', count: 1 },
  event: 'push'
}

test('planToJson writes `inputs` and `same-inputs` (SPEC 2 names) only where known', () => {
  const json = planToJson(PLAN) as { layers: Record<string, Record<string, unknown>> }
  expect(json.layers.tooling.inputs).toBe(INPUTS)
  expect(json.layers.tooling['same-inputs']).toBe(SAME)
  expect('same-inputs' in json.layers.base).toBe(false)
  expect('inputs' in json.layers.app).toBe(false)
})

test('parsePlanInput reads them back', () => {
  const back = parsePlanInput(JSON.stringify(planToJson(PLAN)))
  expect(back.layers.tooling.inputs).toBe(INPUTS)
  expect(back.layers.tooling.sameInputs).toBe(SAME)
  expect(back.layers.base.sameInputs).toBeUndefined()
  expect(back.layers.app.inputs).toBeUndefined()
})

const withTooling = (over: Record<string, unknown>): string => {
  const json = planToJson(PLAN) as { layers: Record<string, Record<string, unknown>> }
  return JSON.stringify({ ...json, layers: { ...json.layers, tooling: { ...json.layers.tooling, ...over } } })
}
test.each([
  [{ inputs: 'sha256:abc' }, 'layer "tooling" "inputs" is not sha256:<64 hex>'],
  [{ inputs: 7 }, 'layer "tooling" "inputs" is not sha256:<64 hex>'],
  [
    { 'same-inputs': 'tooling-inputs-x' },
    'layer "tooling" "same-inputs" is not <image>:<input tag>@sha256:<digest>'
  ],
  [
    { 'same-inputs': `${IMAGE}:t@sha256:x --push` },
    '"same-inputs" is not <image>:<input tag>@sha256:<digest>'
  ],
  [{ build: true }, 'layer "tooling" has "same-inputs" but builds']
])('parsePlanInput refuses %j', (over, message) => {
  expect(() => parsePlanInput(withTooling(over))).toThrow(message)
})

test('describePlan says SPEC 4a’s line for a layer reused by its inputs', () => {
  expect(describePlan(PLAN, specExample())[1]).toBe(
    'tooling: reuse — 1 changed file matches, but tooling-inputs-3f2a9c1d4e5f6a7b has the same inputs'
  )
})

// The plan codec is symmetric: every field planToJson() writes, parsePlanInput() reads back the same.
import { parsePlanInput, planToJson } from '../../src/core/plan-json.js'
import type { LayerDecision, Plan } from '../../src/core/types.js'

const D = (c: string): string => `sha256:${c.repeat(64)}`
const IMAGE = 'ghcr.io/acme/app'

/** A plan with every field the codec carries set (versioned/moving are not SPEC 2 fields: see below). */
function fullPlan(): Plan {
  return {
    layers: {
      base: {
        build: false,
        reasons: [],
        matches: [],
        tags: [`${IMAGE}:base-3f2a9c1`],
        ref: `${IMAGE}:base-stable@${D('a')}`,
        stable: `${IMAGE}:base-stable`,
        inputs: D('b'),
        selected: true
      },
      tooling: {
        build: false,
        reasons: ['1 changed file matches'],
        matches: [{ path: 'Dockerfile.tooling', pattern: 'the Dockerfile' }],
        tags: [`${IMAGE}:tooling-3f2a9c1`],
        stable: `${IMAGE}:tooling-stable`,
        inputs: D('c'),
        sameInputs: `${IMAGE}:tooling-inputs-cccccccccccccccc@${D('d')}`,
        selected: true
      },
      app: {
        build: true,
        reasons: ['2 changed files match', 'always'],
        matches: [
          { path: 'src/a b.ts', pattern: 'src/**' },
          { path: 'src/ü.ts', pattern: 'src/**' }
        ],
        tags: [`${IMAGE}:main-3f2a9c1`, `${IMAGE}:latest`],
        selected: true
      }
    },
    changes: { source: 'api', count: 3 },
    base: 'b'.repeat(40),
    head: 'c'.repeat(40),
    event: 'push',
    deleted: true,
    externals: { 'node:20': D('e'), 'docker.io/library/alpine:3.20': '' }
  }
}

const roundTrip = (plan: Plan): Plan => parsePlanInput(JSON.stringify(planToJson(plan)))

test('a plan with every field comes back equal', () => {
  expect(roundTrip(fullPlan())).toEqual(fullPlan())
})

// One row a field, so a field the reader drops fails by name (externals once did: a platform step
// that followed a plan labelled its images with no external digests).
test.each<[string, (p: Plan) => unknown]>([
  ['changes', p => p.changes],
  ['base', p => p.base],
  ['head', p => p.head],
  ['event', p => p.event],
  ['deleted', p => p.deleted],
  ['externals', p => p.externals]
])('plan field %s survives the round trip', (_field, get) => {
  expect(get(fullPlan())).toBeDefined()
  expect(get(roundTrip(fullPlan()))).toEqual(get(fullPlan()))
})

test.each<[keyof LayerDecision, string]>([
  ['build', 'app'],
  ['reasons', 'app'],
  ['matches', 'app'],
  ['tags', 'app'],
  ['ref', 'base'],
  ['stable', 'base'],
  ['inputs', 'base'],
  ['sameInputs', 'tooling'],
  ['selected', 'app']
])('layer field %s survives the round trip (layer %s)', (field, layer) => {
  expect(fullPlan().layers[layer][field]).toBeDefined()
  expect(roundTrip(fullPlan()).layers[layer][field]).toEqual(fullPlan().layers[layer][field])
})

test('the output keeps SPEC 2 names and writes externals only when there are some', () => {
  const out = planToJson(fullPlan()) as Record<string, unknown>
  expect(Object.keys(out)).toEqual(['layers', 'changes', 'base', 'head', 'event', 'deleted', 'externals'])
  expect(Object.keys((out.layers as Record<string, object>).tooling)).toEqual([
    'build',
    'reasons',
    'tags',
    'stable',
    'inputs',
    'same-inputs',
    'matches'
  ])
  expect(Object.keys(planToJson({ ...fullPlan(), externals: {} }))).not.toContain('externals')
})

const plain = '{"layers":{"a":{"build":true,"reasons":[],"tags":[]}},"changes":{"source":"api","count":1}'
test.each<[string, string]>([
  [`${plain},"externals":[1]}`, '"externals" is not an object'],
  [`${plain},"externals":{"node:20":"latest"}}`, `"externals" "node:20" is not sha256:<64 hex> or ''`],
  [`${plain},"externals":{"node:20":5}}`, `"externals" "node:20" is not sha256:<64 hex> or ''`],
  [`${plain},"externals":{"a\\nb":""}}`, '"externals" has the image "a\\nb"'],
  [`${plain},"externals":{"__proto__":""}}`, '"externals" has the image "__proto__"']
])('parsePlanInput refuses externals %s', (json, why) => {
  expect(() => parsePlanInput(json)).toThrow(`the plan input is not a Strata plan: ${why}`)
})

// Issue 21: what the plan carries for the build round-trips too (versioned, moving and the Dockerfile
// facts are not written: `tags` is their union, split by the config's rule, and each step reads its own).
function carriedPlan(): Plan {
  const p = fullPlan()
  const app: LayerDecision = {
    ...p.layers.app,
    inputs: D('f'),
    inputTag: `${IMAGE}:app-inputs-${'f'.repeat(16)}`,
    parents: [
      { layer: 'base', buildArg: 'BASE_IMAGE', ref: `${IMAGE}:base-stable@${D('a')}` },
      { layer: 'tooling', buildArg: 'TOOLING_IMAGE' }
    ],
    cacheScope: { branch: 'feature-x', defaultBranch: 'main' }
  }
  return { ...p, layers: { ...p.layers, app } }
}

test.each<keyof LayerDecision>(['inputTag', 'parents', 'cacheScope'])(
  'layer field %s survives the round trip',
  field => {
    expect(carriedPlan().layers.app[field]).toBeDefined()
    expect(roundTrip(carriedPlan()).layers.app[field]).toEqual(carriedPlan().layers.app[field])
  }
)

test('a plan with every carried field comes back equal, less what is not written', () => {
  const plan = carriedPlan()
  plan.layers.app = {
    ...plan.layers.app,
    versioned: [],
    moving: [],
    dockerfile: { stages: 1, text: 'FROM x\n' }
  }
  const { versioned: _v, moving: _m, dockerfile: _d, ...app } = plan.layers.app
  expect(roundTrip(plan)).toEqual({ ...plan, layers: { ...plan.layers, app } })
})

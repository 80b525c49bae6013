// What the plan carries for the build besides the decision (issue 21): parents with their pinned
// images, cache scope, input tag and Dockerfile facts, made once by completePlan(); written and read
// back by the codec; checked when followed; and derived the old way for a plan an earlier Strata wrote.
import { describe, expect, test } from '@jest/globals'
import { config, eventContext, from, IMAGE, layer } from '../../__fixtures__/layers.js'
import { checkPlan } from '../../src/core/plan-check.js'
import {
  completePlan,
  decide,
  parsePlanInput,
  pinReused,
  planToJson,
  withParentRefs
} from '../../src/core/plan.js'
import { withInputTag } from '../../src/core/same-inputs.js'
import type { ChangeSet, LayerDecision, Plan } from '../../src/core/types.js'

const D = (c: string): string => `sha256:${c.repeat(64)}`
const CONFIG = config([
  layer('base'),
  layer('tooling', { from: from('base') }),
  layer('app', { from: from('tooling') })
])
const NONE: ChangeSet = { source: 'none', files: [] }
const CTX = eventContext({ ref: 'refs/heads/feature/x', branch: 'feature/x', isDefaultBranch: false })

/** base reused (pinned), tooling and app built; tooling's input digest known. */
function made(): Plan {
  const decided = decide({
    config: CONFIG,
    ctx: CTX,
    changes: { source: 'api', files: [{ path: 'x', status: 'modified' }] },
    force: ['tooling'],
    stableExists: { base: true, tooling: true, app: true }
  })
  const pinned = pinReused(decided, { base: D('a') })
  const withInputs = { ...pinned.layers.tooling, inputs: D('b') }
  return completePlan({ ...pinned, layers: { ...pinned.layers, tooling: withInputs } }, CONFIG, CTX)
}

const roundTrip = (plan: Plan): Plan => parsePlanInput(JSON.stringify(planToJson(plan)))
/** The fields the codec leaves out on purpose: the split of `tags`, and what each step reads itself. */
const written = ({ versioned: _v, moving: _m, dockerfile: _d, ...d }: LayerDecision): LayerDecision => d

describe('completePlan', () => {
  test('adds parents (the pinned image of a reused one), cache scope and the input tag', () => {
    const plan = made()
    expect(plan.layers.base.parents).toEqual([])
    expect(plan.layers.tooling.parents).toEqual([
      { layer: 'base', buildArg: 'BASE_IMAGE', ref: `${IMAGE}:base-stable@${D('a')}` }
    ])
    // tooling builds: its child finds it in the session (or where its own job pushes it), never pinned here.
    expect(plan.layers.app.parents).toEqual([{ layer: 'tooling', buildArg: 'TOOLING_IMAGE' }])
    expect(plan.layers.app.cacheScope).toEqual({ branch: 'feature-x', defaultBranch: 'main' })
    expect(plan.layers.tooling.inputTag).toBe(`${IMAGE}:tooling-inputs-${'b'.repeat(16)}`)
    expect(plan.layers.app.inputTag).toBeUndefined()
  })

  test('a parent reused by its inputs is pinned to that image', () => {
    const plan = made()
    const same = `${IMAGE}:tooling-inputs-${'b'.repeat(16)}@${D('c')}`
    const tooling = { ...plan.layers.tooling, build: false, sameInputs: same, ref: same }
    const after = withParentRefs({ ...plan, layers: { ...plan.layers, tooling } })
    expect(after.layers.app.parents).toEqual([{ layer: 'tooling', buildArg: 'TOOLING_IMAGE', ref: same }])
  })

  test('a complete plan comes back with the same values', () => {
    const plan = made()
    expect(completePlan(plan, CONFIG, CTX)).toEqual(plan)
  })

  test('a deleted branch stays without tags, parents or scope', () => {
    const deleted = decide({
      config: CONFIG,
      ctx: CTX,
      changes: { source: 'none', files: [] },
      force: [],
      stableExists: {},
      deleted: true
    })
    expect(completePlan(deleted, CONFIG, CTX)).toEqual(deleted)
  })
})

describe('the codec carries it', () => {
  test('every carried field comes back equal (versioned, moving and dockerfile are not written)', () => {
    const plan = made()
    const withFacts = { ...plan.layers.app, dockerfile: { stages: 2, text: 'FROM a\nFROM b\n' } }
    const full = { ...plan, layers: { ...plan.layers, app: withFacts } }
    const back = roundTrip(full)
    expect(back.layers).toEqual(
      Object.fromEntries(Object.entries(full.layers).map(([n, d]) => [n, written(d)]))
    )
  })

  test.each<[keyof LayerDecision, string]>([
    ['parents', 'tooling'],
    ['parents', 'app'],
    ['cacheScope', 'app'],
    ['inputTag', 'tooling']
  ])('layer field %s survives the round trip (layer %s)', (field, name) => {
    expect(made().layers[name][field]).toBeDefined()
    expect(roundTrip(made()).layers[name][field]).toEqual(made().layers[name][field])
  })

  test('the JSON names them as SPEC 2 names its fields', () => {
    const out = planToJson(made()) as { layers: Record<string, Record<string, unknown>> }
    expect(out.layers.tooling).toMatchObject({
      'input-tag': `${IMAGE}:tooling-inputs-${'b'.repeat(16)}`,
      parents: [{ layer: 'base', 'build-arg': 'BASE_IMAGE', ref: `${IMAGE}:base-stable@${D('a')}` }],
      'cache-scope': { branch: 'feature-x', 'default-branch': 'main' }
    })
    expect(out.layers.app).not.toHaveProperty('dockerfile')
  })

  const plain = (extra: string): string =>
    `{"layers":{"a":{"build":true,"reasons":[],"tags":[]${extra}}},"changes":{"source":"api","count":1}}`
  test.each<[string, string]>([
    [',"parents":{}', 'layer "a" "parents" is not a list of {layer, build-arg, ref}'],
    [',"parents":[{"layer":"b"}]', 'layer "a" "parents" is not a list of {layer, build-arg, ref}'],
    [
      ',"parents":[{"layer":"b","build-arg":"B","ref":5}]',
      'layer "a" "parents" is not a list of {layer, build-arg, ref}'
    ],
    [',"cache-scope":"main"', 'layer "a" "cache-scope" is not {branch, default-branch}'],
    [',"cache-scope":{"branch":"x"}', 'layer "a" "cache-scope" is not {branch, default-branch}'],
    [',"input-tag":7', 'layer "a" "input-tag" is not a string']
  ])('parsePlanInput refuses %s', (extra, why) => {
    expect(() => parsePlanInput(plain(extra))).toThrow(`the plan input is not a Strata plan: ${why}`)
  })
})

describe('a followed plan', () => {
  const PREFIX = 'the plan input does not match .github/strata.yml: '
  const tamper = (change: (p: Plan) => Plan): (() => void) => {
    const plan = change(roundTrip(made()))
    return () => checkPlan(plan, CONFIG, CTX)
  }
  const withLayer = (p: Plan, name: string, d: Partial<LayerDecision>): Plan => ({
    ...p,
    layers: { ...p.layers, [name]: { ...p.layers[name], ...d } }
  })

  test('as made passes the check', () => {
    expect(() => checkPlan(roundTrip(made()), CONFIG, CTX)).not.toThrow()
  })

  test.each<[string, (p: Plan) => Plan, string]>([
    [
      'a parent pinned to another image',
      p =>
        withLayer(p, 'tooling', {
          parents: [{ layer: 'base', buildArg: 'BASE_IMAGE', ref: `evil.io/x@${D('e')}` }]
        }),
      'layer "tooling" parents [{"layer":"base","buildArg":"BASE_IMAGE","ref":"evil.io/x@'
    ],
    [
      'a parent under another build-arg',
      p => withLayer(p, 'app', { parents: [{ layer: 'tooling', buildArg: 'BASE_IMAGE' }] }),
      'layer "app" parents [{"layer":"tooling","buildArg":"BASE_IMAGE"}] are not its parents in the config'
    ],
    [
      'a parent dropped',
      p => withLayer(p, 'app', { parents: [] }),
      'layer "app" parents [] are not its parents in the config'
    ],
    [
      'the cache of another branch',
      p => withLayer(p, 'app', { cacheScope: { branch: 'main', defaultBranch: 'main' } }),
      `layer "app" cache-scope {"branch":"main","defaultBranch":"main"} is not this event's (feature-x, main)`
    ],
    [
      'an input tag of other inputs',
      p => withLayer(p, 'tooling', { inputTag: `${IMAGE}:tooling-inputs-${'c'.repeat(16)}` }),
      `layer "tooling" input-tag "${IMAGE}:tooling-inputs-${'c'.repeat(16)}" is not one of the layer's tags`
    ]
  ])('is refused with %s', (_what, change, why) => {
    expect(tamper(change)).toThrow(`${PREFIX}${why}`)
  })

  test('written by an earlier Strata (no parents, cache scope or input tag) is completed as this one makes it', () => {
    const json = planToJson(made()) as { layers: Record<string, Record<string, unknown>> }
    for (const d of Object.values(json.layers)) {
      delete d.parents
      delete d['cache-scope']
      delete d['input-tag']
    }
    const old = parsePlanInput(JSON.stringify(json))
    expect(() => checkPlan(old, CONFIG, CTX)).not.toThrow()
    const completed = completePlan(old, CONFIG, CTX)
    const now = completePlan(roundTrip(made()), CONFIG, CTX)
    expect(completed).toEqual(now)
    expect(completed.layers.app).toMatchObject({
      versioned: [`${IMAGE}:feature-x-3f2a9c1`],
      moving: [`${IMAGE}:feature-x`],
      stable: `${IMAGE}:latest`
    })
  })
})

// A leaf on a branch named like a layer with children: decide() renders {branch} as `branch-base`, so
// that the leaf never pushes `base-<sha7>` (the parent's own tag). Once the input digest is known the
// tags are rendered again, and must be rendered the same way.
test('the input digest does not change how {branch} is rendered (a branch named like a parent layer)', () => {
  const cfg = config([layer('base'), layer('app', { from: from('base') })])
  const ctx = eventContext({ ref: 'refs/heads/base', branch: 'base', isDefaultBranch: false })
  const decided = decide({ config: cfg, ctx, changes: NONE, force: ['app'], stableExists: {} })
  const inputs = D('1')
  const app = withInputTag(decided.layers.app, cfg.layers[1], ctx, {
    isLeaf: true,
    inputs,
    parents: new Set(['base'])
  })
  expect(app.versioned).toEqual([`${IMAGE}:branch-base-3f2a9c1`, `${IMAGE}:app-inputs-${'1'.repeat(16)}`])
  expect(app.moving).toEqual([`${IMAGE}:branch-base`])
  // A plan with those tags is one this config and event make: a platform step may follow it.
  const plan = completePlan({ ...decided, layers: { ...decided.layers, app } }, cfg, ctx)
  expect(() => checkPlan(parsePlanInput(JSON.stringify(planToJson(plan))), cfg, ctx)).not.toThrow()
})

// A tampered `plan` input (issue 13 item 4, SPEC 10): every layer, tag, ref and stable ref must be
// one this config and event would make; anything pointing at another repository is refused.
import { describe, expect, test } from '@jest/globals'
import { config, from, IMAGE, layer } from '../../__fixtures__/layers.js'
import { loadEvent } from '../../__fixtures__/events/index.js'
import { readEvent } from '../../src/core/event.js'
import { checkPlan } from '../../src/core/plan-check.js'
import { decide, parsePlanInput, planToJson } from '../../src/core/plan.js'
import type { DecisionDraft, EventContext, Plan } from '../../src/core/types.js'

/** A plan as an attacker edits it: every decision field writable. */
type Tampered = Omit<Plan, 'layers'> & { layers: Record<string, DecisionDraft> }
import { withFinalRefs } from '../../src/outputs.js'

const CONFIG = config([
  layer('base'),
  layer('tooling', { from: from('base') }),
  layer('app', { from: from('tooling'), tags: ['{branch}-{sha7}', 'build-{timestamp}', 'nightly-{date}'] })
])
const { eventName, payload, env } = loadEvent('push')
const ctxAt = (iso: string): EventContext => readEvent(eventName, payload, env, new Date(iso))
const CTX = ctxAt('2025-06-01T12:00:00Z')
const SHA7 = CTX.sha.slice(0, 7)
const DIGEST = `sha256:${'a'.repeat(64)}`

/** The plan a `mode: plan` step of this run would output (base reused, tooling and app built). */
function made(ctx = CTX): Tampered {
  const plan: Tampered = decide({
    config: CONFIG,
    ctx,
    changes: { source: 'api', files: [{ path: 'x', status: 'modified' }] },
    force: ['tooling'],
    stableExists: { base: true, tooling: true, app: true }
  })
  plan.layers.base.ref = `${IMAGE}:base-stable@${DIGEST}`
  return parsePlanInput(JSON.stringify(planToJson(withFinalRefs(plan))))
}

const check = (plan: Plan, ctx = CTX): void => checkPlan(plan, CONFIG, ctx)
const PREFIX = 'the plan input does not match .github/strata.yml: '

// [what, tamper, message after the prefix]
const TAMPERED: [string, (p: Tampered) => void, string][] = [
  [
    'a tag on another registry',
    p => (p.layers.app.tags[0] = 'evil.io/x:latest'),
    'layer "app" tag "evil.io/x:latest" is not in the layer\'s repository'
  ],
  [
    'a tag on another repository',
    p => (p.layers.app.tags[0] = 'ghcr.io/acme/other:main'),
    'layer "app" tag "ghcr.io/acme/other:main" is not in the layer\'s repository'
  ],
  [
    'a tag on a look-alike repository',
    p => (p.layers.app.tags[0] = `${IMAGE}-evil:latest`),
    `layer "app" tag "${IMAGE}-evil:latest" is not in the layer's repository`
  ],
  [
    'a tag on a sub-repository',
    p => (p.layers.app.tags[0] = `${IMAGE}/x:latest`),
    `layer "app" tag "${IMAGE}/x:latest" is not in the layer's repository`
  ],
  [
    'a tag added',
    p => p.layers.app.tags.push(`${IMAGE}:v9`),
    `layer "app" tag "${IMAGE}:v9" is not one of the layer's tags`
  ],
  [
    "another layer's stable tag",
    p => p.layers.tooling.tags.push(`${IMAGE}:base-stable`),
    `layer "tooling" tag "${IMAGE}:base-stable" is not one of the layer's tags`
  ],
  [
    'a registry cache ref',
    p => p.layers.tooling.tags.push(`${IMAGE}:cache-base`),
    `layer "tooling" tag "${IMAGE}:cache-base" is not one of the layer's tags`
  ],
  [
    'an option as a tag',
    p => (p.layers.app.tags[0] = '--help'),
    'layer "app" tag "--help" is not in the layer\'s repository'
  ],
  [
    'a tag with a line break',
    p => (p.layers.app.tags[0] = `${IMAGE}:main\n--push`),
    `layer "app" tag "${IMAGE}:main\\n--push" is not one of the layer's tags`
  ],
  ['an empty tag', p => (p.layers.app.tags[0] = ''), 'layer "app" tag "" is not in the layer\'s repository'],
  [
    'a tag with a digest',
    p => (p.layers.tooling.tags[0] = `${IMAGE}:tooling-${SHA7}@${DIGEST}`),
    `layer "tooling" tag "${IMAGE}:tooling-${SHA7}@${DIGEST}" is not one of the layer's tags`
  ],
  [
    'a stable ref elsewhere',
    p => (p.layers.base.stable = 'evil.io/x:base-stable'),
    'layer "base" stable ref "evil.io/x:base-stable" is not in the layer\'s repository'
  ],
  [
    "another layer's stable ref",
    p => (p.layers.base.stable = `${IMAGE}:tooling-stable`),
    `layer "base" stable ref "${IMAGE}:tooling-stable" is not one of the layer's tags`
  ],
  [
    'a parent ref elsewhere',
    p => (p.layers.base.ref = `evil.io/base@${DIGEST}`),
    `layer "base" ref "evil.io/base@${DIGEST}" is not in the layer's repository`
  ],
  [
    'a parent ref by digest only',
    p => (p.layers.base.ref = `${IMAGE}@${DIGEST}`),
    `layer "base" ref "${IMAGE}@${DIGEST}" is not one of the layer's tags`
  ],
  [
    'a parent ref to another layer',
    p => (p.layers.base.ref = `${IMAGE}:app-stable@${DIGEST}`),
    `layer "base" ref "${IMAGE}:app-stable@${DIGEST}" is not one of the layer's tags`
  ],
  [
    'a parent ref with a short digest',
    p => (p.layers.base.ref = `${IMAGE}:base-stable@sha256:abc`),
    `layer "base" ref "${IMAGE}:base-stable@sha256:abc" is not one of the layer's tags`
  ],
  [
    'a parent ref with two digests',
    p => (p.layers.base.ref = `${IMAGE}:base-stable@${DIGEST}@${DIGEST}`),
    `layer "base" ref "${IMAGE}:base-stable@${DIGEST}@${DIGEST}" is not one of the layer's tags`
  ],
  [
    'a layer added',
    p => (p.layers.evil = { ...p.layers.app }),
    'it names layer "evil", which the config has not'
  ],
  [
    'a layer named like a prototype key',
    p => Object.defineProperty(p.layers, '__proto__', { value: p.layers.app, enumerable: true }),
    'it names layer "__proto__", which the config has not'
  ],
  ['a layer left out', p => delete p.layers.tooling, 'it has no layer "tooling"'],
  ['a base that is not a sha', p => (p.base = 'HEAD~1'), 'its "base" "HEAD~1" is not a commit sha'],
  [
    'a head that is an option',
    p => (p.head = '--output=/tmp/x'),
    'its "head" "--output=/tmp/x" is not a commit sha'
  ]
]

describe('a tampered plan is refused', () => {
  test.each(TAMPERED)('%s', (_what, tamper, message) => {
    const plan = made()
    tamper(plan)
    expect(() => check(plan)).toThrow(PREFIX + message)
  })
})

describe('a plan of this run is followed', () => {
  test('as made', () => {
    expect(() => check(made())).not.toThrow()
  })

  test('with {date} and {timestamp} tags made in a job that ran a day earlier', () => {
    const plan = made(ctxAt('2025-05-31T23:59:59Z'))
    expect(plan.layers.app.tags).toContain(`${IMAGE}:build-20250531-235959`)
    expect(() => check(plan)).not.toThrow()
  })

  test('for a deleted branch (no tags)', () => {
    const plan = made()
    plan.deleted = true
    for (const d of Object.values(plan.layers)) d.tags = []
    expect(() => check(plan)).not.toThrow()
  })
})

test('a plan of another event (a pull request) is refused on a push', () => {
  const pr = loadEvent('pull_request')
  const prCtx = readEvent(pr.eventName, pr.payload, pr.env, new Date('2025-06-01T12:00:00Z'))
  const plan = made(prCtx)
  expect(() => check(plan)).toThrow(
    /^the plan input does not match \.github\/strata\.yml: layer "base" tag ".*:base-pr-\d+-[0-9a-f]{7}" is not one of the layer's tags/
  )
})

test.each([
  [
    '__proto__',
    '{"layers":{"__proto__":{"build":true,"reasons":[],"tags":[]}},"changes":{"source":"api","count":0}}',
    '"__proto__" is not a layer name'
  ],
  [
    'an option',
    '{"layers":{"--help":{"build":true,"reasons":[],"tags":[]}},"changes":{"source":"api","count":0}}',
    '"--help" is not a layer name'
  ],
  [
    'a line break',
    '{"layers":{"a\\n::error::x":{"build":true,"reasons":[],"tags":[]}},"changes":{"source":"api","count":0}}',
    '"a\\n::error::x" is not a layer name'
  ]
])('a plan whose layer is named %s is refused', (_what, json, message) => {
  const read = (): void => check(parsePlanInput(json))
  expect(read).toThrow(message)
})

test('a layer "constructor" added to a real plan is named', () => {
  const json = planToJson(made()) as { layers: Record<string, unknown> }
  Object.defineProperty(json.layers, 'constructor', { value: json.layers.app, enumerable: true })
  expect(() => check(parsePlanInput(JSON.stringify(json)))).toThrow(
    `${PREFIX}it names layer "constructor", which the config has not`
  )
})

// SPEC 4a: a plan made with input digests carries input tags and, for a reused layer, `same-inputs`.
describe('input tags and same-inputs', () => {
  const INPUTS = `sha256:${'1234abcd'.repeat(8)}`
  const withInputs = (): Tampered => {
    const p = made()
    p.layers.tooling.inputs = INPUTS
    p.layers.tooling.tags.push(`${IMAGE}:tooling-inputs-1234abcd1234abcd`)
    return p
  }
  test('the input tag of the layer’s own input digest is one of its tags', () => {
    expect(() => check(withInputs())).not.toThrow()
  })

  test.each<[string, (p: Tampered) => void, string]>([
    [
      'an input tag of other inputs',
      p => p.layers.tooling.tags.push(`${IMAGE}:tooling-inputs-ffffffffffffffff`),
      `layer "tooling" tag "${IMAGE}:tooling-inputs-ffffffffffffffff" is not one of the layer's tags`
    ],
    [
      'inputs that are not a digest',
      p => (p.layers.tooling.inputs = 'sha256:../x'),
      'layer "tooling" inputs "sha256:../x" is not an input digest'
    ],
    [
      'same-inputs in another repository',
      p => (p.layers.tooling.sameInputs = `evil.io/x:tooling-inputs-1234abcd1234abcd@${DIGEST}`),
      `layer "tooling" same-inputs "evil.io/x:tooling-inputs-1234abcd1234abcd@${DIGEST}" is not in the layer's repository`
    ],
    [
      'same-inputs without a digest',
      p => (p.layers.tooling.sameInputs = `${IMAGE}:tooling-inputs-1234abcd1234abcd`),
      `layer "tooling" same-inputs "${IMAGE}:tooling-inputs-1234abcd1234abcd" is not one of the layer's tags`
    ],
    [
      'same-inputs under another tag of the layer',
      p => (p.layers.tooling.sameInputs = `${IMAGE}:tooling-stable@${DIGEST}`),
      `layer "tooling" same-inputs "${IMAGE}:tooling-stable@${DIGEST}" is not one of the layer's tags`
    ]
  ])('%s is refused', (_what, tamper, message) => {
    const p = withInputs()
    tamper(p)
    expect(() => check(p)).toThrow(PREFIX + message)
  })

  test('same-inputs under the layer’s input tag, pinned by digest, is followed', () => {
    const p = withInputs()
    p.layers.tooling.sameInputs = `${IMAGE}:tooling-inputs-1234abcd1234abcd@${DIGEST}`
    expect(() => check(p)).not.toThrow()
  })
})

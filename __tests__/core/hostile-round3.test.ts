// Hostile input, round three (issue 20 point 9): each case gets a clear error or the safe behaviour.
import { describe, expect, test } from '@jest/globals'
import { config, eventContext, from, IMAGE, layer } from '../../__fixtures__/layers.js'
import { parseConfig } from '../../src/core/config/index.js'
import { requirePullRequest } from '../../src/core/event-check.js'
import { inputTag } from '../../src/core/input-digest.js'
import { checkLayers, prepareLayers } from '../../src/core/layer-reads.js'
import type { LayerTexts } from '../../src/core/layer-reads.js'
import { checkPlan } from '../../src/core/plan-check.js'
import { decide, parsePlanInput, planToJson } from '../../src/core/plan.js'
import { layerTags, sanitizeTag } from '../../src/core/tags.js'
import type { EventContext, LayerConfig, Plan } from '../../src/core/types.js'

const THREE = config([
  layer('base'),
  layer('tooling', { from: from('base') }),
  layer('app', { from: from('tooling') })
])
const MAIN = eventContext()
const onBranch = (branch: string): EventContext =>
  eventContext({ ref: `refs/heads/${branch}`, branch, isDefaultBranch: false })
const onTag = (tag: string): EventContext =>
  eventContext({ ref: `refs/tags/${tag}`, branch: undefined, tag, isDefaultBranch: false })

function plan(ctx: EventContext, over: { deleted?: boolean } = {}): Plan {
  return decide({
    config: THREE,
    ctx,
    changes: { source: 'api', files: [{ path: 'x', status: 'modified' }] },
    force: ['base'],
    stableExists: { base: true, tooling: true, app: true },
    ...over
  })
}
const roundTrip = (p: Plan, patch: (json: Record<string, unknown>) => void = () => undefined): Plan => {
  const json = planToJson(p) as Record<string, unknown>
  patch(json)
  return parsePlanInput(JSON.stringify(json))
}

describe('a plan input cannot switch the kind of run', () => {
  test('"deleted": true on a push that deleted nothing is refused', () => {
    const tampered = roundTrip(plan(MAIN), j => (j.deleted = true))
    expect(tampered.deleted).toBe(true)
    expect(() => checkPlan(tampered, THREE, MAIN, false)).toThrow(
      'the plan input does not match .github/strata.yml: it says "deleted": true, and this step’s event did not delete a branch'
    )
  })

  test('"deleted": true with layers that build and foreign refs is refused even on a deleted branch', () => {
    const tampered = roundTrip(plan(MAIN), j => {
      j.deleted = true
      ;(j.layers as Record<string, { tags: string[] }>).app.tags = ['evil.io/x:latest']
    })
    expect(() => checkPlan(tampered, THREE, MAIN, true)).toThrow(
      'layer "base" builds or names images in a plan for a deleted branch'
    )
  })

  test('a plan without "deleted" on a step whose push deleted the branch is refused', () => {
    expect(() => checkPlan(roundTrip(plan(MAIN)), THREE, MAIN, true)).toThrow(
      'this push deleted the branch, and the plan does not say so'
    )
  })

  test('the real plan of a deleted branch is followed', () => {
    expect(() => checkPlan(roundTrip(plan(MAIN, { deleted: true })), THREE, MAIN, true)).not.toThrow()
  })
})

describe('branch and git tag names never take the tags Strata gives its own images', () => {
  const allTags = (ctx: EventContext): string[] => Object.values(plan(ctx).layers).flatMap(d => d.tags)
  // What Strata owns in this repository on any run: stable tags, latest, pull request and input tags.
  const owned = (t: string): boolean =>
    /:(base-stable|tooling-stable|latest|stable)$/.test(t) ||
    /:pr-\d+$/.test(t) ||
    /:(base|tooling|app)-inputs-[0-9a-f]{16}$/.test(t) ||
    /:(nightly|sha)-/.test(t) ||
    /:\d+(\.\d+){0,2}$/.test(t)

  test.each([
    'tooling-stable',
    'base-stable',
    'stable',
    'app-stable',
    'latest',
    'pr-7',
    `app-inputs-${'0'.repeat(16)}`,
    `base-inputs-${'a'.repeat(16)}`,
    '1',
    '1.2',
    '1.2.3',
    'nightly-20250601',
    'sha-abc1234'
  ])('a push to branch %j falls back to branch-<name>', branch => {
    const tags = allTags(onBranch(branch))
    expect(tags.filter(owned)).toEqual([])
    expect(tags).toContain(`${IMAGE}:${sanitizeTag(`branch-${branch}`)}`)
  })

  test.each(['latest', 'pr-7', 'base-stable', `app-inputs-${'0'.repeat(16)}`])(
    'a push of git tag %j falls back to tag-<name>',
    tag => {
      const tags = allTags(onTag(tag))
      expect(tags.filter(owned)).toEqual([])
      expect(tags).toContain(`${IMAGE}:tag-${tag}`)
    }
  )
})

describe('a pull request event must carry its pull request', () => {
  test.each([
    ['no pull_request', { number: 7 }, 'missing'],
    ['an empty pull_request', { pull_request: {} }, 'an object'],
    ['a pull_request that is null', { pull_request: null }, 'null']
  ])('%s is refused, naming the field', (_what, payload, got) => {
    for (const event of ['pull_request', 'pull_request_target']) {
      expect(() => requirePullRequest(event, payload)).toThrow(
        `the ${event} payload is not valid: "pull_request" is ${got}, expected the pull request object`
      )
    }
  })

  test('a push needs none', () => {
    expect(() => requirePullRequest('push', { ref: 'refs/heads/main' })).not.toThrow()
  })
})

describe('no tag longer than 128 characters is planned', () => {
  test('a 300-character branch: every tag fits, the long one ends in 7 hex of its sha256', () => {
    const tags = allRefs(onBranch(`feature/${'x'.repeat(300)}`)).map(t => t.slice(IMAGE.length + 1))
    for (const t of tags) expect(t.length).toBeLessThanOrEqual(128)
    expect(tags.some(t => /^feature-x{112}-[0-9a-f]{7}$/.test(t))).toBe(true)
  })

  test('an input tag of a long layer name is sanitized as SPEC 5 says', () => {
    const tag = inputTag('l'.repeat(110), `sha256:${'a'.repeat(64)}`)
    expect(tag).toHaveLength(128)
    expect(tag).toMatch(/^l{110}-inputs-a{2}-[0-9a-f]{7}$/)
  })

  test('a layer name over 100 characters is a config error', () => {
    const name = `l${'x'.repeat(100)}`
    expect(() =>
      parseConfig(
        `version: 1\nimage: ${IMAGE}\nlayers:\n  ${name}: { dockerfile: Dockerfile }\n`,
        'strata.yml'
      )
    ).toThrow(`layer name "${name.slice(0, 40)}…" is 101 characters long`)
  })

  function allRefs(ctx: EventContext): string[] {
    return Object.values(plan(ctx).layers).flatMap(d => [...d.tags, ...(d.stable ? [d.stable] : [])])
  }
})

test('a tag template with no value on this event that is the only one is an error, also on the default branch', () => {
  const app = layer('app', { tags: ['pr-{pr}'] })
  expect(() => layerTags(app, MAIN, { isLeaf: true })).toThrow(
    'layer "app": none of its tags (pr-{pr}) has a value on push'
  )
  // With one that has a value, the other is skipped as SPEC 5 says.
  expect(layerTags(layer('app', { tags: ['pr-{pr}', '{sha7}'] }), MAIN, { isLeaf: true }).versioned).toEqual([
    MAIN.sha.slice(0, 7)
  ])
})

describe('what a Dockerfile and build-args say about the parent', () => {
  const BASE = 'FROM scratch\nCOPY a.txt /\n'
  function reads(layers: LayerConfig[], dockerfiles: Record<string, string>, stepArgs = {}) {
    const cfg = config(layers)
    const texts: Record<string, LayerTexts> = {}
    for (const l of layers)
      texts[l.name] = { dockerfile: dockerfiles[l.name], dockerignore: { path: '.dockerignore' } }
    return checkLayers(cfg, prepareLayers(cfg, texts, stepArgs), [
      'Dockerfile.base',
      'Dockerfile.app',
      'a.txt'
    ])
  }

  test('a layer build-arg that sets the parent ARG is an error naming the fix', () => {
    const r = reads(
      [layer('base'), layer('app', { from: from('base'), buildArgs: { BASE_IMAGE: 'evil:1' } })],
      {
        base: BASE,
        app: 'ARG BASE_IMAGE\nFROM ${BASE_IMAGE}\nCOPY --link a.txt /\n'
      }
    )
    expect(r.errors).toEqual([
      'layer "app" build-args in .github/strata.yml set BASE_IMAGE, the ARG through which Strata passes parent ' +
        'layer "base"\'s image to layer "app": remove BASE_IMAGE from build-args (to build on another image, ' +
        "change the layer's `from`)"
    ])
  })

  test('the step’s build-args setting it is an error too', () => {
    const r = reads(
      [layer('base'), layer('app', { from: from('base') })],
      { base: BASE, app: 'ARG BASE_IMAGE\nFROM ${BASE_IMAGE}\nCOPY --link a.txt /\n' },
      { BASE_IMAGE: 'evil:1' }
    )
    expect(r.errors).toEqual([
      expect.stringMatching(/^the step’s build-args \(or --build-arg\) set BASE_IMAGE/)
    ])
  })

  test('a parent taken from another ARG: the FROM as written, and the map form of `from` first', () => {
    const r = reads([layer('base'), layer('app', { from: from('base') })], {
      base: BASE,
      app: 'ARG OWNER=jupyter\nARG ROOT_IMAGE=$OWNER/docker-stacks-foundation\nFROM $ROOT_IMAGE\nCOPY --link a.txt /\n'
    })
    expect(r.errors).toEqual([
      'Dockerfile.app:3:1: FROM $ROOT_IMAGE does not use ARG BASE_IMAGE, so layer "app" is not built on layer ' +
        '"base": it takes its parent from ARG ROOT_IMAGE: write `from: {base: ROOT_IMAGE}` for layer "app" in ' +
        '.github/strata.yml (or write ARG BASE_IMAGE before it and FROM ${BASE_IMAGE})'
    ])
  })

  test('a # syntax= frontend other than Docker’s: derived inputs may be wrong (a warning)', () => {
    const other = reads([layer('base')], { base: `# syntax=example.com/other/frontend:1\n${BASE}` })
    expect(other.warnings).toEqual([
      "Dockerfile.base:1:1: # syntax=example.com/other/frontend:1 is not Docker's Dockerfile frontend: it may read " +
        'the file its own way, so the inputs Strata derived for layer "base" may be wrong; list them in `paths`'
    ])
    for (const docker of [
      'docker/dockerfile:1',
      'docker.io/docker/dockerfile:1.7',
      'docker/dockerfile-upstream:master'
    ])
      expect(reads([layer('base')], { base: `# syntax=${docker}\n${BASE}` }).warnings).toEqual([])
  })

  test('COPY without --link after a RUN: no warning (--link cannot help there)', () => {
    const r = reads([layer('base'), layer('app', { from: from('base') })], {
      base: BASE,
      app: 'ARG BASE_IMAGE\nFROM ${BASE_IMAGE}\nRUN true\nCOPY a.txt /\n'
    })
    expect(r.warnings).toEqual([])
  })
})

describe('several final images in one repository', () => {
  const base = layer('base')
  const leaves = (over: Partial<LayerConfig>) => [
    base,
    layer('api', { from: from('base'), ...over }),
    layer('web', { from: from('base'), ...over })
  ]
  const PR = eventContext({
    eventName: 'pull_request',
    ref: 'refs/pull/7/merge',
    branch: 'feature',
    isDefaultBranch: false,
    pr: { number: 7, headSha: MAIN.sha, headRef: 'feature', baseSha: MAIN.sha, baseRef: 'main', fork: false }
  })
  const run = (layers: LayerConfig[], ctx: EventContext) =>
    decide({
      config: config(layers),
      ctx,
      changes: { source: 'none', files: [] },
      force: [],
      stableExists: {}
    })

  test('the collision error suggests a scheme that keeps pr-{pr} and latest per image', () => {
    expect(() => run(leaves({}), MAIN)).toThrow(
      'For several final images, their own `image` keeps `pr-{pr}` and `latest` per image (e.g. image: ' +
        `${IMAGE}-web for layer "web"); in one repository, give each: tags: ['{layer}-{sha7}', '{layer}-pr-{pr}'] ` +
        "and stable-tag: '{layer}-latest'"
    )
  })

  test('the suggested one-repository scheme plans on a push to main, a pull request and a release tag', () => {
    const scheme = leaves({ tags: ['{layer}-{sha7}', '{layer}-pr-{pr}'], stableTag: '{layer}-latest' })
    const sha7 = MAIN.sha.slice(0, 7)
    expect(run(scheme, MAIN).layers.web.tags).toEqual([`${IMAGE}:web-${sha7}`, `${IMAGE}:web-latest`])
    expect(run(scheme, PR).layers.web.tags).toEqual([`${IMAGE}:web-${sha7}`, `${IMAGE}:web-pr-7`])
    expect(run(scheme, onTag('v1.2.3')).layers.api.tags).toEqual([`${IMAGE}:api-${sha7}`])
  })

  test('their own images keep the default pr-N and latest', () => {
    const own = [
      base,
      layer('api', { from: from('base'), image: `${IMAGE}-api` }),
      layer('web', { from: from('base'), image: `${IMAGE}-web` })
    ]
    expect(run(own, MAIN).layers.web.tags).toContain(`${IMAGE}-web:latest`)
    expect(run(own, PR).layers.api.tags).toContain(`${IMAGE}-api:pr-7`)
  })
})

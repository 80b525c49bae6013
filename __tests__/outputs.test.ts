// The action's outputs from a real plan: decide() over a parsed config and a real event fixture.
import { mkdtemp, readFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { loadEvent } from '../__fixtures__/events/index.js'
import type { BuildResult } from '../src/core/types.js'
import { parseConfig } from '../src/core/config/index.js'
import { readEvent } from '../src/core/event.js'
import { decide, parsePlanInput } from '../src/core/plan.js'
import type { ChangeSet, DecisionDraft, Plan, StrataConfig } from '../src/core/types.js'
import {
  buildOutputName,
  computeOutputs,
  digestOf,
  leafLayer,
  MAX_CHANGED_FILES,
  planFileContent,
  withFinalRefs,
  writePlanFile
} from '../src/outputs.js'

// Two leaves (`app-web` last in config order; `worker` in its own repository, as two leaves with the
// default tags must be), a hyphenated parent.
const CONFIG = `version: 1
image: ghcr.io/acme/sindri
layers:
  base:
    dockerfile: Dockerfile.base
    paths: [Dockerfile.base]
  dev-tools:
    dockerfile: Dockerfile.tools
    from: base
    paths: [tools/**]
  worker:
    image: ghcr.io/acme/worker
    dockerfile: Dockerfile.worker
    from: dev-tools
    paths: [worker/**]
  app-web:
    dockerfile: Dockerfile
    from: dev-tools
    paths: [web/**]
`
const D1 = `sha256:${'1'.repeat(64)}`
const D2 = `sha256:${'2'.repeat(64)}`
const D3 = `sha256:${'3'.repeat(64)}`

const config: StrataConfig = parseConfig(CONFIG, '.github/strata.yml')
const { eventName, payload, env } = loadEvent('pull_request')
const ctx = readEvent(eventName, payload, env, new Date('2025-06-01T12:00:00Z'))

function planFor(files: string[]): Plan {
  const changes: ChangeSet = {
    source: 'api',
    files: files.map(path => ({ path, status: 'modified' })),
    base: ctx.pr?.baseSha,
    head: ctx.sha
  }
  const plan = decide({
    config,
    ctx,
    changes,
    force: [],
    stableExists: { base: true, 'dev-tools': true, worker: true, 'app-web': true }
  })
  // As pipeline.makePlan does: reused layers pinned to the digest their stable tag had.
  for (const d of Object.values(plan.layers) as DecisionDraft[])
    if (!d.build && d.stable) d.ref = `${d.stable}@${D1}`
  return plan
}

test.each([
  ['base', 'build_base'],
  ['dev-tools', 'build_dev_tools'],
  ['a-b-c', 'build_a_b_c']
])('[%#] %s → %s', (layer, name) => {
  expect(buildOutputName(layer)).toBe(name)
})

test('the leaf is the last layer in config order that no layer builds FROM', () => {
  expect(leafLayer(config)).toBe('app-web')
})

test.each([
  [`ghcr.io/a/b:latest@${D2}`, D2],
  ['ghcr.io/a/b:latest', undefined],
  [undefined, undefined]
])('[%#] digestOf(%s) → %s', (ref, digest) => {
  expect(digestOf(ref)).toBe(digest)
})

describe('plan mode: nothing built yet', () => {
  const plan = planFor(['web/index.html', 'README.md'])
  const out = computeOutputs(config, plan, ['README.md', 'web/index.html'])

  test('build_<layer> says which layers build, with - as _', () => {
    expect(out).toMatchObject({
      build_base: 'false',
      build_dev_tools: 'false',
      build_worker: 'false',
      build_app_web: 'true'
    })
  })

  test('reused layers are digest-pinned; a layer to build names the tag its build pushes', () => {
    expect(out.base_ref).toBe(`ghcr.io/acme/sindri:base-stable@${D1}`)
    expect(out['dev-tools_ref']).toBe(`ghcr.io/acme/sindri:dev-tools-stable@${D1}`)
    expect(out['app-web_ref']).toBe(plan.layers['app-web'].tags[0])
    expect(out['app-web_ref']).toMatch(/^ghcr\.io\/acme\/sindri:pr-42-f6010f8$/)
    expect(out.image_ref).toBe(out['app-web_ref'])
    expect(out.digest).toBe('')
  })

  test('plan is JSON that a later step reads back as the same decision', () => {
    const back = parsePlanInput(out.plan)
    expect(Object.keys(back.layers)).toEqual(config.order)
    expect(back.layers['app-web']).toMatchObject({ build: true, reasons: ['1 changed file matches'] })
    expect(back.layers.base).toMatchObject({ build: false, ref: `ghcr.io/acme/sindri:base-stable@${D1}` })
    expect(back.changes).toEqual({ source: 'api', count: 2 })
    expect(back.head).toBe('f6010f8792b5f4799a1e406c3f9f7e1a8ee140d5')
  })

  test('changed_files is a JSON array of the paths', () => {
    expect(JSON.parse(out.changed_files)).toEqual(['README.md', 'web/index.html'])
  })
})

describe('build mode: refs of what was built', () => {
  const plan = planFor(['tools/x.sh'])
  const ref = (tag: string, d: string) => `${tag}@${d}`
  const build: BuildResult = {
    commands: [],
    layers: {
      base: { name: 'base', status: 'reused', ref: plan.layers.base.ref, reasons: [] },
      'dev-tools': {
        name: 'dev-tools',
        status: 'built',
        ref: ref(plan.layers['dev-tools'].tags[0], D2),
        digest: D2,
        reasons: ['1 changed file matches']
      },
      worker: { name: 'worker', status: 'failed', error: 'RUN make: exit 2', reasons: [] },
      'app-web': {
        name: 'app-web',
        status: 'built',
        ref: ref(plan.layers['app-web'].tags[0], D3),
        digest: D3,
        reasons: ['parent dev-tools rebuilt']
      }
    }
  }
  const out = computeOutputs(config, plan, ['tools/x.sh'], build)

  test('built layers carry their new digest; image_ref and digest are the leaf', () => {
    expect(out['dev-tools_ref']).toBe(`ghcr.io/acme/sindri:dev-tools-pr-42-f6010f8@${D2}`)
    expect(out.image_ref).toBe(`ghcr.io/acme/sindri:pr-42-f6010f8@${D3}`)
    expect(out.digest).toBe(D3)
    expect(out.build_worker).toBe('true')
  })

  test('a failed layer has no ref', () => {
    expect(out.worker_ref).toBe('')
    expect(withFinalRefs(plan, build).layers.worker.ref).toBeUndefined()
  })

  test('the plan output carries the final refs', () => {
    expect(parsePlanInput(out.plan).layers['app-web'].ref).toBe(out.image_ref)
  })
})

describe('large change sets', () => {
  const paths = Array.from({ length: 1500 }, (_, i) => `web/f-${String(i).padStart(4, '0')}.txt`)
  const plan = planFor(paths)

  test('changed_files stops at 1000 and the plan output keeps few matches', () => {
    const out = computeOutputs(config, plan, paths)
    expect(JSON.parse(out.changed_files)).toHaveLength(MAX_CHANGED_FILES)
    expect(JSON.parse(out.changed_files)[999]).toBe(paths[999])
    const json = JSON.parse(out.plan)
    expect(json.layers['app-web'].matches.length).toBeLessThanOrEqual(20)
    expect(json.changes.count).toBe(1500)
    expect(out.plan.length).toBeLessThan(10_000)
  })

  test('plan-file holds every changed file and every match', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'strata-outputs-'))
    const file = await writePlanFile(dir, plan, paths)
    expect(file).toBe(join(dir, 'strata-plan.json'))
    const json = JSON.parse(await readFile(file, 'utf8'))
    expect(json.changed_files).toEqual(paths)
    expect(json.layers['app-web'].matches).toHaveLength(1500)
    expect(json.layers['app-web'].matches[0]).toEqual({ path: paths[0], pattern: 'web/**' })
    // The file is a plan too: a later step may pass its content as the `plan` input.
    expect(parsePlanInput(planFileContent(plan, paths)).layers['app-web'].build).toBe(true)
  })
})

test('file names reach outputs only inside JSON', () => {
  const hostile = 'web/$(touch pwned)\n"quote".txt'
  const out = computeOutputs(config, planFor([hostile]), [hostile])
  expect(JSON.parse(out.changed_files)).toEqual([hostile])
  expect(out.changed_files).not.toContain('\n')
  const plain = Object.entries(out).filter(([name]) => name !== 'plan' && name !== 'changed_files')
  expect(plain.filter(([, value]) => value.includes('pwned'))).toEqual([])
})

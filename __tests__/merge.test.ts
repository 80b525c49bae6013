// mode: merge and the platform step's checks, against a fake Registry that records every call: one
// index per layer under its versioned tags, then the moving tags, and nothing at all when a platform
// is missing or an index cannot be put.
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Buildx } from '../src/adapters/buildx.js'
import { parseConfig } from '../src/core/config/index.js'
import { readEvent } from '../src/core/event.js'
import { decide, planToJson } from '../src/core/plan.js'
import type { PlatformManifest, Plan, Registry } from '../src/core/types.js'
import type { PlanSettings } from '../src/core/settings.js'
import { runPipeline } from '../src/run.js'
import { loadEvent } from '../__fixtures__/events/index.js'
import {
  mergePlatforms,
  platformOutputs,
  platformStepOutputs,
  platformStepProblem
} from '../src/merge/merge.js'
import type { BuildResult } from '../src/core/types.js'
import { config, eventContext, from, IMAGE, layer } from '../__fixtures__/layers.js'
import { recordingLog } from '../__fixtures__/log.js'
import { createGit } from '../src/adapters/git.js'
import { createWorkspaceFiles } from '../src/adapters/workspace-files.js'

const A = `sha256:${'a'.repeat(64)}`
const B = `sha256:${'b'.repeat(64)}`
const INDEX = (n: number): string => `sha256:${String(n).repeat(64)}`

type Call = ['putIndex', PlatformManifest[], string[]] | ['retag', string, string[]]

/** A registry that answers putIndex with INDEX(1), INDEX(2), … in call order, or fails for `failPut` tags. */
function fakeRegistry(opts: { failPut?: string; failRetag?: boolean } = {}): {
  registry: Registry
  calls: Call[]
} {
  const calls: Call[] = []
  let n = 0
  const registry: Registry = {
    inspect: async () => null,
    retag: async (source, targets) => {
      calls.push(['retag', source, targets])
      if (opts.failRetag) throw new Error('MANIFEST_INVALID')
    },
    labels: async () => null,
    putIndex: async (manifests: PlatformManifest[], tags: string[]) => {
      calls.push(['putIndex', manifests, tags])
      if (opts.failPut && tags.includes(opts.failPut)) throw new Error('denied: push access')
      return INDEX(++n)
    }
  }
  return { registry, calls }
}

const TWO = ['linux/amd64', 'linux/arm64']
const cfg = config([layer('base', { platforms: TWO }), layer('app', { from: from('base'), platforms: TWO })])
const baseTags = [`${IMAGE}:base-3f2a9c1`, `${IMAGE}:base-stable`]
const appTags = [`${IMAGE}:main-3f2a9c1`, `${IMAGE}:latest`]
const plan = (selected: string[]): Plan => ({
  layers: {
    base: {
      build: true,
      reasons: ['forced'],
      matches: [],
      tags: baseTags,
      selected: selected.includes('base')
    },
    app: { build: true, reasons: ['always'], matches: [], tags: appTags, selected: selected.includes('app') }
  },
  changes: { source: 'none', count: 0 },
  event: 'push'
})
const both = [
  { platform: 'linux/amd64', digest: A },
  { platform: 'linux/arm64', digest: B }
]
const manifests = [
  { platform: 'linux/amd64', digest: A },
  { platform: 'linux/arm64', digest: B }
]
const run = (
  p: Plan,
  digests: typeof both,
  registry: Registry,
  over: { push?: boolean; dryRun?: boolean } = {}
) =>
  mergePlatforms(
    cfg,
    p,
    eventContext(),
    { digests, push: over.push ?? true, dryRun: over.dryRun ?? false },
    { registry, log: recordingLog() }
  )

describe('mergePlatforms', () => {
  test('one layer: its index under the versioned tag, then the moving tag moved to that index', async () => {
    const { registry, calls } = fakeRegistry()
    const result = await run(plan(['base']), both, registry)
    expect(calls).toEqual([
      ['putIndex', manifests, [baseTags[0]]],
      ['retag', `${baseTags[0]}@${INDEX(1)}`, [baseTags[1]]]
    ])
    expect(result.failed).toBeUndefined()
    expect(result.layers.base).toMatchObject({
      status: 'built',
      ref: `${baseTags[0]}@${INDEX(1)}`,
      digest: INDEX(1)
    })
    expect(result.layers.app.status).toBe('not-selected')
  })

  test('two layers: both indexes are put before any moving tag moves', async () => {
    const { registry, calls } = fakeRegistry()
    const named = [...both.map(d => ({ ...d, layer: 'base' })), ...both.map(d => ({ ...d, layer: 'app' }))]
    const result = await run(plan(['base', 'app']), named, registry)
    expect(calls.map(c => c[0])).toEqual(['putIndex', 'putIndex', 'retag', 'retag'])
    expect(calls.slice(2)).toEqual([
      ['retag', `${baseTags[0]}@${INDEX(1)}`, [baseTags[1]]],
      ['retag', `${appTags[0]}@${INDEX(2)}`, [appTags[1]]]
    ])
    expect(result.layers.app.ref).toBe(`${appTags[0]}@${INDEX(2)}`)
  })

  test.each([
    [
      'a platform is missing',
      [both[0]],
      {},
      'nothing merged, no tag moved: base: no digest for linux/arm64: its platform job failed or did not run'
    ],
    [
      'the run does not push',
      both,
      { push: false },
      'mode: merge puts an image index in the registry, but this run does not push'
    ]
  ])('%s: throws and calls the registry not once', async (_, digests, over, message) => {
    const { registry, calls } = fakeRegistry()
    await expect(run(plan(['base']), digests, registry, over)).rejects.toThrow(message)
    expect(calls).toEqual([])
  })

  test("one layer's index fails: the step fails and no moving tag moves, not even the other layer's", async () => {
    const { registry, calls } = fakeRegistry({ failPut: appTags[0] })
    const named = [...both.map(d => ({ ...d, layer: 'base' })), ...both.map(d => ({ ...d, layer: 'app' }))]
    const result = await run(plan(['base', 'app']), named, registry)
    expect(calls.filter(c => c[0] === 'retag')).toEqual([])
    expect(result.failed).toBe('app')
    expect(result.layers.app).toMatchObject({ status: 'failed', error: 'index not put: denied: push access' })
    expect(result.layers.app.ref).toBeUndefined()
  })

  test('a moving tag that cannot move fails the step, naming the layer', async () => {
    const { registry } = fakeRegistry({ failRetag: true })
    const result = await run(plan(['base']), both, registry)
    expect(result.failed).toBe('base')
    expect(result.layers.base.error).toBe('moving tags not moved: MANIFEST_INVALID')
  })

  test('dry run: says what it would put and move, calls nothing', async () => {
    const { registry, calls } = fakeRegistry()
    const log = recordingLog()
    await mergePlatforms(
      cfg,
      plan(['base']),
      eventContext(),
      { digests: both, push: true, dryRun: true },
      { registry, log }
    )
    expect(calls).toEqual([])
    expect(log.lines).toEqual(
      expect.arrayContaining([
        `info: Would put an index of linux/amd64 ${A}, linux/arm64 ${B} under ${baseTags[0]}`,
        `info: Would then move ${baseTags[1]} to it`
      ])
    )
  })
})

describe('platformStepProblem', () => {
  const step = { platform: 'linux/arm64', plan: '{}', push: true }
  test('a plan, push and a platform of the layer: no problem', () => {
    expect(platformStepProblem(cfg, plan(['base']), step)).toBeUndefined()
  })

  test.each([
    ['no plan', { ...step, plan: undefined }, 'the platform input (linux/arm64) needs the `plan` input'],
    ['no push', { ...step, push: false }, 'this run does not push'],
    [
      'a platform the layer is not built for',
      { ...step, platform: 'linux/s390x' },
      'layer "base" is built for linux/amd64, linux/arm64, not linux/s390x'
    ],
    [
      'the platforms input leaves it out',
      { ...step, platforms: ['linux/amd64'] },
      'layer "base" is built for linux/amd64, not linux/arm64'
    ]
  ])('[%#] %s', (_, s, want) => {
    expect(platformStepProblem(cfg, plan(['base']), s)).toContain(want)
  })
})

describe('platform step outputs', () => {
  const result = (...built: [string, string][]): BuildResult => ({
    commands: [],
    layers: Object.fromEntries([
      ...built.map(([name, digest]) => [name, { name, status: 'built' as const, digest, reasons: [] }]),
      ['other', { name: 'other', status: 'not-selected' as const, reasons: [] }]
    ])
  })
  test.each([
    ['one layer built', result(['base', A]), { digests: `{"base":{"linux/arm64":"${A}"}}`, digest: A }],
    [
      'two layers built: no single digest',
      result(['base', A], ['app', B]),
      { digests: `{"base":{"linux/arm64":"${A}"},"app":{"linux/arm64":"${B}"}}`, digest: '' }
    ],
    ['nothing built', result(), { digests: '{}', digest: '' }]
  ])('digest and digests of a platform step: %s', (_, build, want) => {
    expect(platformStepOutputs(build, 'linux/arm64')).toEqual(want)
  })

  test.each([
    [
      'runners for both platforms',
      { 'linux/amd64': 'ubuntu-latest', 'linux/arm64': 'ubuntu-24.04-arm' },
      {
        platforms: '["linux/amd64","linux/arm64"]',
        matrix:
          '{"include":[{"platform":"linux/amd64","runner":"ubuntu-latest","slug":"linux-amd64"},' +
          '{"platform":"linux/arm64","runner":"ubuntu-24.04-arm","slug":"linux-arm64"}]}'
      },
      ['info: One job per platform: linux/amd64 on ubuntu-latest, linux/arm64 on ubuntu-24.04-arm']
    ],
    [
      'a platform without a runner: one job, with a warning saying why',
      { 'linux/amd64': 'ubuntu-latest' },
      { platforms: '["linux/amd64","linux/arm64"]', matrix: '' },
      ['warning: every platform builds in one job (QEMU): no runner for linux/arm64 in the runners input']
    ],
    [
      'no runners asked for: no matrix, nothing said',
      {},
      { platforms: '["linux/amd64","linux/arm64"]', matrix: '' },
      []
    ]
  ])('%s', (_, runners, want, said) => {
    const log = recordingLog()
    expect(platformOutputs(cfg, plan(['base']), { runners, push: true }, log)).toEqual(want)
    expect(log.lines).toEqual(said)
  })
})

describe('runPipeline: the platform step and the merge follow one plan', () => {
  const yml = `version: 1
image: ghcr.io/acme/sindri
defaults:
  platforms: [linux/amd64, linux/arm64]
layers:
  base:
    dockerfile: Dockerfile
`
  const ws = mkdtempSync(join(tmpdir(), 'strata-merge-pipeline-'))
  const files = () => createWorkspaceFiles(ws, createGit(ws))
  mkdirSync(join(ws, '.github'))
  writeFileSync(join(ws, '.github/strata.yml'), yml)
  writeFileSync(join(ws, 'Dockerfile'), 'FROM scratch\n')
  const { eventName, payload, env } = loadEvent('push')
  const now = new Date('2025-06-01T12:00:00Z')
  const given = decide({
    config: parseConfig(yml, '.github/strata.yml'),
    ctx: readEvent(eventName, payload, env, now),
    changes: { source: 'none', files: [] },
    force: 'all',
    stableExists: {}
  })
  const settings = (over: Partial<PlanSettings>): PlanSettings => ({
    mode: 'build',
    workspace: ws,
    configPath: '.github/strata.yml',
    eventName,
    payload,
    env,
    now,
    plan: JSON.stringify(planToJson(given)),
    force: [],
    push: true,
    buildArgs: {},
    dryRun: false,
    runnerTemp: ws,
    buildEnv: {},
    ...over
  })
  /** Any build or registry call fails the test: these steps must stop before either. */
  const refuse = (): never => {
    throw new Error('called')
  }
  const buildx: Buildx = { version: refuse, inspectBuilder: async () => refuse(), bake: refuse, push: refuse }
  const { registry, calls } = fakeRegistry()

  test.each([
    [
      'merge without a plan',
      { mode: 'merge' as const, plan: undefined },
      'mode: merge needs the `plan` input'
    ],
    [
      'a platform step without a plan',
      { platform: 'linux/arm64', plan: undefined },
      'the platform input (linux/arm64) needs the `plan` input'
    ],
    [
      'a platform step that does not push',
      { platform: 'linux/arm64', push: false },
      'pushes the image by digest for a `mode: merge` step, but this run does not push'
    ],
    [
      'a platform the layer is not built for',
      { platform: 'linux/s390x' },
      'layer "base" is built for linux/amd64, linux/arm64, not linux/s390x'
    ],
    [
      'a merge with one platform missing',
      { mode: 'merge' as const, digests: [{ platform: 'linux/amd64', digest: A }] },
      'nothing merged, no tag moved: base: no digest for linux/arm64'
    ]
  ])('%s: refused before any build or registry call', async (_, over, message) => {
    await expect(
      runPipeline(settings(over), { log: recordingLog(), registry, buildx, files: files() })
    ).rejects.toThrow(message)
    expect(calls).toEqual([])
  })

  test('a merge of both platforms puts the index and reports it as the layer’s ref', async () => {
    const mine = fakeRegistry()
    const digests = [
      { platform: 'linux/amd64', digest: A },
      { platform: 'linux/arm64', digest: B }
    ]
    const out = await runPipeline(settings({ mode: 'merge', digests }), {
      log: recordingLog(),
      registry: mine.registry,
      files: files()
    })
    // A leaf pushed to main: main-<sha7> is versioned, latest moves.
    const tag = `ghcr.io/acme/sindri:main-${readEvent(eventName, payload, env, now).sha.slice(0, 7)}`
    expect(mine.calls).toEqual([
      ['putIndex', manifests, [tag]],
      ['retag', `${tag}@${INDEX(1)}`, ['ghcr.io/acme/sindri:latest']]
    ])
    expect(out.mode === 'merge' && out.build.layers.base).toMatchObject({
      ref: `${tag}@${INDEX(1)}`,
      digest: INDEX(1)
    })
  })
})

// executePlan() with fake Buildx and Registry implementations: what runs in which order, which
// layers a failure skips, and that no moving tag moves after a failure (the real stack is
// exercised by build.itg.test.ts; these pin the runner's own decisions).
import { mkdtemp, readFile, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import type { BakeRun, Buildx } from '../src/adapters/buildx.js'
import type { BuildOptions } from '../src/build/types.js'
import { executePlan } from '../src/build/build.js'
import { decide, pinReused } from '../src/core/plan.js'
import type { Plan, Registry, StrataConfig } from '../src/core/types.js'
import { IMAGE, config, eventContext, from, layer } from '../__fixtures__/layers.js'
import { recordingLog } from '../__fixtures__/log.js'

const fixtures = join(dirname(fileURLToPath(import.meta.url)), '../__fixtures__')
const D = (c: string): string => `sha256:${c.repeat(64)}`

/** A Buildx whose bake prints `lines`, exits with `exitCode` and reports `digests`; every call in `events`. */
function fakeBuildx(
  events: string[],
  run: Partial<BakeRun> & { lines?: string[]; driver?: string } = {},
  pushed?: Record<string, string>
): Buildx {
  const stored: Record<string, string> = {}
  return {
    version: async () => '0.13.1',
    inspectBuilder: async () => ({
      name: 'default',
      driver: run.driver ?? 'docker',
      buildkitVersion: 'v0.13.1',
      canExportCache: true
    }),
    bake: async (argv, o) => {
      events.push(`bake ${argv.slice(argv.indexOf('--metadata-file') + 2).join(' ')}`)
      for (const line of run.lines ?? []) o?.onLine?.(line)
      // What a push after the session finds: each target's first tag holds its digest.
      const definition = JSON.parse(await readFile(argv[argv.indexOf('--file') + 1], 'utf8')) as {
        target: Record<string, { tags: string[] }>
      }
      for (const [name, t] of Object.entries(definition.target)) stored[t.tags[0]] = run.digests?.[name] ?? ''
      return { exitCode: run.exitCode ?? 0, durationMs: 5, digests: run.digests ?? {} }
    },
    push: async ref => {
      events.push(`push ${ref}`)
      if (pushed && stored[ref]) pushed[ref] = stored[ref]
      return { exitCode: 0 }
    }
  }
}

/** A registry of `tags` (full ref → digest) that records look-ups and moves; the first move onto `failOn` throws. */
function fakeRegistry(events: string[], tags: Record<string, string>, failOn?: string): Registry {
  let fail = failOn
  return {
    inspect: async ref => {
      events.push(`inspect ${ref}`)
      return tags[ref] ? { digest: tags[ref] } : null
    },
    retag: async (source, targets) => {
      events.push(`retag ${source} → ${targets.join(' ')}`)
      if (fail && targets.includes(fail)) {
        fail = undefined
        throw new Error(`registry said no to ${failOn}`)
      }
      for (const t of targets) tags[t] = source.slice(source.indexOf('@') + 1)
    },
    labels: async () => null,
    putIndex: async () => {
      throw new Error('the build never puts an index')
    }
  }
}

const three = (tooling = 'Dockerfile.tooling'): StrataConfig =>
  config([
    layer('base'),
    layer('tooling', { dockerfile: tooling, from: from('base') }),
    layer('app', { from: from('tooling') })
  ])

async function workspace(): Promise<string> {
  const ws = await mkdtemp(join(tmpdir(), 'strata-runner-ws-'))
  for (const f of ['Dockerfile.base', 'Dockerfile.tooling', 'Dockerfile.app', 'Dockerfile.fail']) {
    await writeFile(join(ws, f), await readFile(join(fixtures, 'images', f)))
  }
  return ws
}

const ctx = eventContext()
const s7 = ctx.sha.slice(0, 7)

function planFor(
  cfg: StrataConfig,
  stable: Record<string, string>,
  changed: string[],
  force: string[] = []
): Plan {
  const decided = decide({
    config: cfg,
    ctx,
    changes: { source: 'api', files: changed.map(path => ({ path, status: 'modified' as const })) },
    force,
    stableExists: Object.fromEntries(cfg.order.map(n => [n, n in stable]))
  })
  return pinReused(decided, stable)
}

async function run(
  cfg: StrataConfig,
  plan: Plan,
  buildx: Buildx,
  registry: Registry,
  over: Partial<BuildOptions> = {}
): ReturnType<typeof executePlan> {
  const runnerTemp = await mkdtemp(join(tmpdir(), 'strata-runner-tmp-'))
  return executePlan(
    cfg,
    plan,
    ctx,
    { push: true, dryRun: false, buildArgs: {}, runnerTemp, env: {}, workspace: await workspace(), ...over },
    { buildx, registry, log: recordingLog() }
  )
}

const STABLE = { base: D('1'), tooling: D('2'), app: D('3') }
const STABLE_TAGS = {
  [`${IMAGE}:base-stable`]: D('1'),
  [`${IMAGE}:tooling-stable`]: D('2'),
  [`${IMAGE}:latest`]: D('3')
}

test('a tooling change: one bake for tooling and app, then the moving tags, onto the built digests', async () => {
  const events: string[] = []
  const tags = { ...STABLE_TAGS }
  const cfg = three()
  const r = await run(
    cfg,
    planFor(cfg, STABLE, [], ['tooling']),
    fakeBuildx(events, { digests: { tooling: D('b'), app: D('c') }, driver: 'docker-container' }),
    fakeRegistry(events, tags)
  )
  expect(r.failed).toBeUndefined()
  expect(events.filter(e => e.startsWith('bake') || e.startsWith('retag'))).toEqual([
    'bake tooling app',
    `retag ${IMAGE}:tooling-${s7}@${D('b')} → ${IMAGE}:tooling-stable`,
    `retag ${IMAGE}:main-${s7}@${D('c')} → ${IMAGE}:latest`
  ])
  // Each moving tag's digest was read before any moved.
  const firstRetag = events.findIndex(e => e.startsWith('retag'))
  expect(events.indexOf(`inspect ${IMAGE}:tooling-stable`)).toBeLessThan(firstRetag)
  expect(events.indexOf(`inspect ${IMAGE}:latest`)).toBeLessThan(firstRetag)
  expect(r.bake?.definition.target.app).toMatchObject({
    args: { TOOLING_IMAGE: 'strata-layer-tooling' },
    contexts: { 'strata-layer-tooling': 'target:tooling' },
    tags: [`${IMAGE}:main-${s7}`]
  })
  expect(r.bake?.definition.target.tooling.contexts).toEqual({
    'strata-layer-base': `docker-image://${IMAGE}:base-stable@${D('1')}`
  })
  expect(tags).toEqual({ ...STABLE_TAGS, [`${IMAGE}:tooling-stable`]: D('b'), [`${IMAGE}:latest`]: D('c') })
  expect(Object.values(r.layers).map(l => [l.name, l.status, l.ref])).toEqual([
    ['base', 'reused', `${IMAGE}:base-stable@${D('1')}`],
    ['tooling', 'built', `${IMAGE}:tooling-${s7}@${D('b')}`],
    ['app', 'built', `${IMAGE}:main-${s7}@${D('c')}`]
  ])
})

test('docker driver, parent and child in one session: stored, then pushed parents first, then tags moved', async () => {
  const events: string[] = []
  const tags: Record<string, string> = { ...STABLE_TAGS }
  const cfg = three()
  const r = await run(
    cfg,
    planFor(cfg, STABLE, [], ['base']),
    fakeBuildx(events, { digests: { base: D('a'), tooling: D('b'), app: D('c') } }, tags),
    fakeRegistry(events, tags)
  )
  expect(r.failed).toBeUndefined()
  for (const name of ['base', 'tooling', 'app']) {
    expect(r.bake?.definition.target[name].output).toEqual(['type=image,push=false'])
  }
  // One push at a time, parents first: a child's push finds its parent's layers already there.
  expect(events.filter(e => /^(bake|push|retag)/.test(e))).toEqual([
    'bake base tooling app',
    `push ${IMAGE}:base-${s7}`,
    `push ${IMAGE}:tooling-${s7}`,
    `push ${IMAGE}:main-${s7}`,
    `retag ${IMAGE}:base-${s7}@${D('a')} → ${IMAGE}:base-stable`,
    `retag ${IMAGE}:tooling-${s7}@${D('b')} → ${IMAGE}:tooling-stable`,
    `retag ${IMAGE}:main-${s7}@${D('c')} → ${IMAGE}:latest`
  ])
  expect(r.commands.filter(c => c[1] === 'push')).toEqual([
    ['docker', 'push', '--quiet', '--', `${IMAGE}:base-${s7}`],
    ['docker', 'push', '--quiet', '--', `${IMAGE}:tooling-${s7}`],
    ['docker', 'push', '--quiet', '--', `${IMAGE}:main-${s7}`]
  ])
  expect(Object.values(r.layers).map(l => [l.name, l.status, l.ref])).toEqual([
    ['base', 'built', `${IMAGE}:base-${s7}@${D('a')}`],
    ['tooling', 'built', `${IMAGE}:tooling-${s7}@${D('b')}`],
    ['app', 'built', `${IMAGE}:main-${s7}@${D('c')}`]
  ])
})

test('docker driver: a push that fails fails its layer, pushes nothing after it and moves no tag', async () => {
  const events: string[] = []
  const tags: Record<string, string> = { ...STABLE_TAGS }
  const cfg = three()
  const buildx = fakeBuildx(events, { digests: { base: D('a'), tooling: D('b'), app: D('c') } }, tags)
  buildx.push = async ref => {
    events.push(`push ${ref}`)
    return { exitCode: 1, lastErrorLine: 'denied: requested access to the resource is denied' }
  }
  const r = await run(cfg, planFor(cfg, STABLE, [], ['base']), buildx, fakeRegistry(events, tags))
  expect(r.failed).toBe('base')
  expect(events.filter(e => /^(push|retag)/.test(e))).toEqual([`push ${IMAGE}:base-${s7}`])
  expect(Object.values(r.layers).map(l => [l.name, l.status])).toEqual([
    ['base', 'failed'],
    ['tooling', 'failed'],
    ['app', 'failed']
  ])
  expect(r.layers.tooling.error).toBe('not pushed: the push of base failed first')
  expect(tags).toEqual(STABLE_TAGS)
})

test('a session whose connection to the builder dropped runs once more, and its layers are built', async () => {
  const events: string[] = []
  const tags = { ...STABLE_TAGS }
  const cfg = three()
  const lost =
    'ERROR: failed to solve: Unavailable: rpc error: code = Unavailable desc = rpc error: code = Unavailable ' +
    'desc = connection error: desc = "transport: Error while dialing: only one connection allowed"'
  const dropped = fakeBuildx(events, { lines: [lost], exitCode: 1 })
  const healthy = fakeBuildx(events, {
    digests: { tooling: D('b'), app: D('c') },
    driver: 'docker-container'
  })
  let calls = 0
  const buildx: Buildx = { ...healthy, bake: (argv, o) => (calls++ === 0 ? dropped : healthy).bake(argv, o) }
  const r = await run(cfg, planFor(cfg, STABLE, [], ['tooling']), buildx, fakeRegistry(events, tags))
  expect(r.failed).toBeUndefined()
  expect(events.filter(e => e.startsWith('bake'))).toEqual(['bake tooling app', 'bake tooling app'])
  expect(Object.values(r.layers).map(l => [l.name, l.status])).toEqual([
    ['base', 'reused'],
    ['tooling', 'built'],
    ['app', 'built']
  ])
})

test('a session that fails for another reason is not run again', async () => {
  const events: string[] = []
  const cfg = three('Dockerfile.fail')
  const lines = (await readFile(join(fixtures, 'bake', 'fail-named-after-target.txt'), 'utf8')).split('\n')
  await run(
    cfg,
    planFor(cfg, STABLE, [], ['base']),
    fakeBuildx(events, { lines, exitCode: 1 }),
    fakeRegistry(events, { ...STABLE_TAGS })
  )
  expect(events.filter(e => e.startsWith('bake'))).toEqual(['bake base tooling app'])
})

test('a failing target: its descendants skipped, what bake cancelled said so, and no moving tag moves', async () => {
  const events: string[] = []
  const tags = { ...STABLE_TAGS }
  const cfg = three('Dockerfile.fail')
  const lines = (await readFile(join(fixtures, 'bake', 'fail-named-after-target.txt'), 'utf8')).split('\n')
  const r = await run(
    cfg,
    planFor(cfg, STABLE, [], ['base']),
    fakeBuildx(events, { lines, exitCode: 1 }),
    fakeRegistry(events, tags)
  )
  expect(r.failed).toBe('tooling')
  expect(Object.values(r.layers).map(l => [l.name, l.status, l.error])).toEqual([
    ['base', 'skipped', 'cancelled: bake stops every target of the session when one fails (tooling)'],
    [
      'tooling',
      'failed',
      'buildx failed with: ERROR: failed to solve: process "/bin/sh -c echo \\"this layer fails on purpose\\" && false" did not complete successfully: exit code: 1'
    ],
    ['app', 'skipped', 'parent tooling failed']
  ])
  expect(r.layers.app.reasons).toEqual(['parent tooling rebuilt', 'parent tooling failed'])
  expect(events.filter(e => e.startsWith('retag'))).toEqual([])
  expect(tags).toEqual(STABLE_TAGS)
})

test.each<[string, boolean, string, string | undefined]>([
  ['in the registry under its tag: built', true, 'built', undefined],
  [
    'not in the registry (stopped before its push): cancelled',
    false,
    'skipped',
    'cancelled: bake stops every target of the session when one fails (tooling)'
  ]
])('a failed session: a target whose export finished, %s', async (_why, inRegistry, status, error) => {
  const events: string[] = []
  const cfg = three('Dockerfile.fail')
  const capture = await readFile(join(fixtures, 'bake', 'fail-named-after-target.txt'), 'utf8')
  const lines = capture.replace('#13 CANCELED', '#13 DONE 0.3s').split('\n')
  const exported = 'sha256:6f7ad9ce200678a393811fc5b27e54a6d736b27623c1edf7f0c884acd1eb6d3d'
  const tags: Record<string, string> = inRegistry ? { [`${IMAGE}:base-${s7}`]: exported } : {}
  const r = await run(
    cfg,
    planFor(cfg, {}, [], ['base']),
    fakeBuildx(events, { lines, exitCode: 1, driver: 'docker-container' }),
    fakeRegistry(events, tags)
  )
  expect(r.failed).toBe('tooling')
  expect([r.layers.base.status, r.layers.base.error]).toEqual([status, error])
  expect(r.layers.base.digest).toBe(inRegistry ? exported : undefined)
  expect(events.filter(e => e.startsWith('retag'))).toEqual([])
})

test('a parent that is in no registry fails before the session; its child is skipped, the rest still builds', async () => {
  const events: string[] = []
  const cfg = config([
    layer('base'),
    layer('app', { from: from('base') }),
    layer('docs', { dockerfile: 'Dockerfile.app', image: `${IMAGE}-docs` })
  ])
  // base is built by another job of this run (not selected here) and has pushed nothing yet.
  const decided = decide({
    config: cfg,
    ctx,
    changes: { source: 'api', files: [] },
    force: 'all',
    selected: ['app', 'docs'],
    stableExists: {}
  })
  const pushed: Record<string, string> = {}
  const r = await run(
    cfg,
    decided,
    fakeBuildx(events, { digests: { docs: D('d') } }, pushed),
    fakeRegistry(events, pushed)
  )
  expect(r.failed).toBe('app')
  expect(r.layers.app.error).toBe(
    `parent layer "base" has no image: ${IMAGE}:base-${s7} and ${IMAGE}:base-stable not found in the registry; ` +
      'build it first (force: base) or let its own job push it'
  )
  expect(events.filter(e => e.startsWith('bake'))).toEqual(['bake docs'])
  expect(r.layers.docs.status).toBe('built')
  expect(events.filter(e => e.startsWith('retag'))).toEqual([])
})

test('one move fails after others succeeded: the moved tags go back to their plan-time digests', async () => {
  const events: string[] = []
  const tags: Record<string, string> = {
    [`${IMAGE}:base-stable`]: D('1'),
    [`${IMAGE}:tooling-stable`]: D('2')
  }
  const cfg = three()
  const r = await run(
    cfg,
    planFor(cfg, { base: D('1'), tooling: D('2') }, [], ['base']),
    fakeBuildx(events, {
      digests: { base: D('a'), tooling: D('b'), app: D('c') },
      driver: 'docker-container'
    }),
    fakeRegistry(events, tags, `${IMAGE}:tooling-stable`)
  )
  expect(r.failed).toBe('tooling')
  expect(r.promotion).toEqual({
    restored: [`${IMAGE}:base-stable`, `${IMAGE}:tooling-stable`],
    leftMoved: [
      `${IMAGE}:latest (it did not exist before this run and a tag cannot be removed without deleting its image)`
    ]
  })
  expect(r.layers.tooling.error).toBe(
    `moving tags not moved: registry said no to ${IMAGE}:tooling-stable; put back: ${IMAGE}:base-stable, ` +
      `${IMAGE}:tooling-stable; not put back: ${IMAGE}:latest (it did not exist before this run and a tag ` +
      'cannot be removed without deleting its image)'
  )
  expect(tags[`${IMAGE}:base-stable`]).toBe(D('1'))
  expect(tags[`${IMAGE}:latest`]).toBe(D('c'))
})

test('push by digest (docker driver: under a platform tag): the platform manifest digest in the result, nothing moved', async () => {
  const events: string[] = []
  const cfg = config([layer('app', { platforms: ['linux/amd64', 'linux/arm64'] })])
  const r = await run(
    cfg,
    planFor(cfg, {}, []),
    fakeBuildx(events, { digests: { app: D('e') } }),
    fakeRegistry(events, {}),
    { pushByDigest: true, platforms: ['linux/arm64'] }
  )
  expect(r.bake?.definition.target.app).toMatchObject({
    tags: [`${IMAGE}:main-3f2a9c1-linux-arm64`],
    platforms: ['linux/arm64'],
    output: ['type=image,push=true'],
    attest: ['type=provenance,disabled=true']
  })
  expect(r.layers.app).toMatchObject({
    status: 'built',
    digest: D('e'),
    platform: 'linux/arm64',
    ref: `${IMAGE}@${D('e')}`
  })
  expect(events.filter(e => e.startsWith('retag'))).toEqual([])
  const twoPlatforms = await run(cfg, planFor(cfg, {}, []), fakeBuildx(events), fakeRegistry(events, {}), {
    pushByDigest: true
  })
  expect(twoPlatforms.layers.app.error).toBe(
    'layer "app": a push by digest builds one platform, not linux/amd64, linux/arm64: give the platforms input ' +
      'one platform (the merge step puts the platforms together)'
  )
})

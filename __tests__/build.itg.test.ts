// executePlan() on the real stack (scripts/stack.sh): real buildx builds pushed to the registry on
// localhost:5000, checked against the registry's own tags and digests. One bootstrap is shared by
// the scenarios of the base → tooling → app repository, which run in order like successive runs.
import { randomBytes } from 'node:crypto'
import { existsSync } from 'node:fs'
import { mkdtemp, readFile, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Buildx } from '../src/adapters/buildx.js'
import { createBuildx } from '../src/adapters/buildx.js'
import { createLocalCache } from '../src/adapters/cache.js'
import { createRegistry } from '../src/adapters/registry.js'
import type { BuildOptions } from '../src/build/types.js'
import type { BuildResult } from '../src/core/types.js'
import { executePlan } from '../src/build/build.js'
import { parseConfig } from '../src/core/config/index.js'
import type { BakeTarget } from '../src/core/bake.js'
import { decide, pinReused } from '../src/core/plan.js'
import { layerTags } from '../src/core/tags.js'
import type { EventContext, Logger, Plan, StrataConfig } from '../src/core/types.js'
import {
  classicDockerd,
  digestOf,
  docker,
  layersOf,
  makeWorkspace,
  platformsOf,
  rawManifest,
  uniqueRepo
} from '../__fixtures__/images/index.js'
import { registryTags } from '../__fixtures__/registry-proxy.js'

const REGISTRY = 'http://127.0.0.1:5000'
/** Per test: a few real builds each (jest's testTimeout is not a per-project option). */
const LONG = 300000

interface Recorded extends Logger {
  lines: string[]
  /** Log lines by the group they were written in. */
  groups: Record<string, string[]>
}

function recorder(): Recorded {
  const lines: string[] = []
  const groups: Record<string, string[]> = {}
  let current: string | undefined
  const add = (m: string): void => {
    lines.push(m)
    if (current) groups[current].push(m)
  }
  return {
    lines,
    groups,
    info: m => add(`info: ${m}`),
    notice: m => add(`notice: ${m}`),
    warning: m => add(`warning: ${m}`),
    async group(name, fn) {
      if (current) throw new Error(`group ${name} opened inside group ${current}`)
      current = name
      groups[name] = []
      try {
        return await fn()
      } finally {
        current = undefined
      }
    }
  }
}

const sha = (): string => randomBytes(20).toString('hex')

function pushToMain(): EventContext {
  return {
    eventName: 'push',
    owner: 'acme',
    repo: 'sindri',
    ref: 'refs/heads/main',
    sha: sha(),
    defaultBranch: 'main',
    branch: 'main',
    isDefaultBranch: true,
    time: new Date()
  }
}

function pullRequest(n: number, fork = false): EventContext {
  const head = sha()
  return {
    eventName: 'pull_request',
    owner: 'acme',
    repo: 'sindri',
    ref: `refs/pull/${n}/merge`,
    sha: head,
    defaultBranch: 'main',
    branch: 'feature/x',
    pr: { number: n, headSha: head, headRef: 'feature/x', baseSha: sha(), baseRef: 'main', fork },
    isDefaultBranch: false,
    time: new Date()
  }
}

function threeLayers(image: string, tooling = 'Dockerfile.tooling'): StrataConfig {
  return parseConfig(
    [
      'version: 1',
      `image: ${image}`,
      'layers:',
      '  base:',
      '    dockerfile: Dockerfile.base',
      '    paths: [Dockerfile.base, base.txt]',
      '  tooling:',
      `    dockerfile: ${tooling}`,
      '    from: base',
      '    paths: [Dockerfile.tooling, tooling.txt]',
      '  app:',
      '    dockerfile: Dockerfile.app',
      '    from: tooling',
      '    paths: [Dockerfile.app, app.txt]'
    ].join('\n'),
    '.github/strata.yml'
  )
}

interface Run {
  plan: Plan
  result: BuildResult
  log: Recorded
  /** The Buildx adapter's docker processes (`buildx bake`, `push`). */
  processes: string[]
}

/** One run as the pipeline does it: stable tags looked up, decide(), reused layers pinned, executePlan(). */
async function strata(
  config: StrataConfig,
  ws: string,
  ctx: EventContext,
  changed: string[],
  o: Partial<BuildOptions> & {
    force?: string[] | 'all'
    dockerHost?: string
    mask?: (secret: string) => void
  } = {}
): Promise<Run> {
  const env = o.dockerHost ? { DOCKER_HOST: o.dockerHost } : {}
  const registry = createRegistry({ env })
  const real = createBuildx({ env })
  const processes: string[] = []
  const buildx: Buildx = {
    ...real,
    bake: (argv, opts) => (processes.push(argv.slice(0, 2).join(' ')), real.bake(argv, opts)),
    push: ref => (processes.push('push'), real.push(ref))
  }
  const parents = new Set(config.layers.flatMap(l => l.from.map(p => p.layer)))
  const stable: Record<string, string> = {}
  for (const l of config.layers) {
    stable[l.name] = `${l.image}:${layerTags(l, ctx, { isLeaf: !parents.has(l.name) }).stable}`
  }
  const found = Object.fromEntries(
    await Promise.all(config.order.map(async n => [n, await registry.inspect(stable[n])] as const))
  )
  const decided = decide({
    config,
    ctx,
    changes: { source: 'api', files: changed.map(path => ({ path, status: 'modified' as const })) },
    force: o.force ?? [],
    stableExists: Object.fromEntries(config.order.map(n => [n, found[n] !== null]))
  })
  const plan = pinReused(decided, Object.fromEntries(config.order.map(n => [n, found[n]?.digest])))
  const log = recorder()
  const result = await executePlan(
    config,
    plan,
    ctx,
    {
      push: o.push ?? true,
      dryRun: o.dryRun ?? false,
      platforms: o.platforms,
      buildArgs: o.buildArgs ?? {},
      runnerTemp: o.runnerTemp ?? (await mkdtemp(join(tmpdir(), 'strata-runner-'))),
      env: {},
      secretValues: process.env,
      workspace: ws,
      builder: o.builder,
      inputLabels: o.inputLabels
    },
    // The real adapters, as wire() makes them for a run (the local cache's store among them).
    { buildx, registry, log, mask: o.mask, cache: createLocalCache(log) }
  )
  return { plan, result, log, processes }
}

/** The bake target of a layer in the session's definition. */
const targetOf = (r: Run, name: string): BakeTarget => {
  const t = r.result.bake?.definition.target[name]
  if (!t) throw new Error(`no bake target ${name}`)
  return t
}

/** What failed, with every layer's error: on a failure the assertion shows BuildKit's own words. */
const failures = (r: Run) => ({
  failed: r.result.failed,
  errors: Object.values(r.result.layers).flatMap(l => (l.error ? [`${l.name}: ${l.error}`] : []))
})

const built = (r: Run): string[] =>
  Object.values(r.result.layers)
    .filter(l => l.status === 'built')
    .map(l => l.name)

/** tag → digest of every tag in the repository, from the registry itself. */
async function registryState(image: string): Promise<Record<string, string | undefined>> {
  const name = image.replace(/^localhost:5000\//, '')
  const tags = await registryTags(REGISTRY, name)
  const digests = await Promise.all(tags.map(t => digestOf(`${image}:${t}`)))
  return Object.fromEntries(tags.map((t, i) => [t, digests[i]]))
}

const moving = (state: Record<string, string | undefined>) => ({
  'base-stable': state['base-stable'],
  'tooling-stable': state['tooling-stable'],
  latest: state.latest
})

describe('base → tooling → app on one repository, run after run', () => {
  const image = uniqueRepo('strata')
  const config = threeLayers(image)
  let ws: string
  let boot: Run
  let bootCtx: EventContext

  // dockerd 26's BuildKit (docker driver) can fail the next sessions on a context after a session on it
  // that loaded its images (--load) or failed: "only one connection allowed" at the context's transfer,
  // every time, until dockerd restarts. Seen only in this engine: those two tests get a context of their
  // own (the same files), so the tests after them see the engine as a fresh runner has it.
  const isolated = (): Promise<string> => makeWorkspace()

  beforeAll(async () => {
    ws = await makeWorkspace()
    bootCtx = pushToMain()
    boot = await strata(config, ws, bootCtx, [])
  }, 300000)

  test(
    'bootstrap on an empty registry builds every layer, pushes versioned and stable tags',
    async () => {
      const s7 = bootCtx.sha.slice(0, 7)
      expect(failures(boot)).toEqual({ failed: undefined, errors: [] })
      expect(built(boot)).toEqual(['base', 'tooling', 'app'])
      expect(boot.plan.layers.base.reasons).toEqual(['no base-stable in registry'])
      expect(boot.plan.layers.app.reasons).toEqual(['parent tooling rebuilt', 'no latest in registry'])
      const state = await registryState(image)
      const { base, tooling, app } = boot.result.layers
      expect(state).toEqual({
        [`base-${s7}`]: base.digest,
        'base-stable': base.digest,
        [`tooling-${s7}`]: tooling.digest,
        'tooling-stable': tooling.digest,
        [`main-${s7}`]: app.digest,
        latest: app.digest
        // No cache-<layer> tag: single-stage Dockerfiles that are pushed carry their cache inline (SPEC 6).
      })
      expect(base.ref).toBe(`${image}:base-${s7}@${base.digest}`)
      // One bake session: children built FROM the parent's target in the same session.
      // Stored by the session, then pushed one at a time, parents first, so each layer goes up once.
      expect(boot.processes).toEqual(['buildx bake', 'push', 'push', 'push'])
      // app is linked to base too, which keeps base's session open until app has read it (buildx 0.13).
      expect(targetOf(boot, 'app').contexts).toEqual({
        'strata-layer-tooling': 'target:tooling',
        'strata-ancestor-base': 'target:base'
      })
      expect(boot.result.commands.map(c => c.slice(0, 3).join(' '))).toEqual([
        'docker buildx bake',
        'docker push --quiet',
        'docker push --quiet',
        'docker push --quiet'
      ])
      expect(boot.result.commands.slice(1).map(c => c.at(-1))).toEqual([
        `${image}:base-${s7}`,
        `${image}:tooling-${s7}`,
        `${image}:main-${s7}`
      ])
      expect(targetOf(boot, 'base').output).toEqual(['type=image,push=false'])
      expect(targetOf(boot, 'tooling')).toMatchObject({
        args: { BASE_IMAGE: 'strata-layer-base' },
        contexts: { 'strata-layer-base': 'target:base' },
        tags: [`${image}:tooling-${s7}`],
        output: ['type=image,push=false'],
        'cache-to': ['type=inline,ignore-error=true']
      })
      expect(targetOf(boot, 'tooling')['cache-from'][0]).toBe(`type=registry,ref=${image}:tooling-stable`)
      expect(boot.log.lines).toContain(
        'info: tooling: cache export inline (single-stage Dockerfile: the pushed image holds its cache inline, no mode=max export)'
      )
      // Each layer's log in its own group; the gha cache left out with one notice.
      expect(Object.keys(boot.log.groups)).toEqual(['Build base', 'Build tooling', 'Build app'])
      expect(Object.values(boot.log.groups).flat().join('\n')).toContain('COPY tooling.txt /etc/tooling.txt')
      expect(boot.log.groups['Build base'].join('\n')).toContain('[base] exporting to image')
      expect(boot.log.lines.filter(l => l.startsWith('notice: gha cache left out'))).toHaveLength(1)
      expect(base.totalSteps).toBeGreaterThanOrEqual(3) // COPY, RUN, COPY
      expect(app.durationMs).toBeGreaterThan(0)
    },
    LONG
  )

  test(
    'an app-only change builds only app, FROM the reused tooling digest',
    async () => {
      const before = await registryState(image)
      await writeFile(join(ws, 'app.txt'), `app ${sha()}\n`)
      const ctx = pushToMain()
      const r = await strata(config, ws, ctx, ['app.txt'])
      expect(built(r)).toEqual(['app'])
      expect(r.result.layers.tooling).toMatchObject({
        status: 'reused',
        ref: `${image}:tooling-stable@${before['tooling-stable']}`
      })
      expect(targetOf(r, 'app')).toMatchObject({
        args: { TOOLING_IMAGE: 'strata-layer-tooling' },
        contexts: {
          'strata-layer-tooling': `docker-image://${image}:tooling-stable@${before['tooling-stable']}`
        }
      })
      const after = await registryState(image)
      const app = r.result.layers.app.digest
      expect(after[`main-${ctx.sha.slice(0, 7)}`]).toBe(app)
      expect(moving(after)).toEqual({ ...moving(before), latest: app })
      // The app image really sits on tooling's layers.
      const toolingLayers = await layersOf(`${image}@${before['tooling-stable']}`)
      const appLayers = await layersOf(`${image}@${app}`)
      expect(appLayers.slice(0, toolingLayers.length)).toEqual(toolingLayers)
      expect(appLayers.length).toBe(toolingLayers.length + 2)
    },
    LONG
  )

  test(
    'a tooling change builds tooling and app, base is reused',
    async () => {
      const before = await registryState(image)
      await writeFile(join(ws, 'tooling.txt'), `tooling ${sha()}\n`)
      const r = await strata(config, ws, pushToMain(), ['tooling.txt'])
      expect(built(r)).toEqual(['tooling', 'app'])
      expect(r.plan.layers.app.reasons).toEqual(['parent tooling rebuilt'])
      // Exactly one docker build process for tooling and app together, and no imagetools.
      expect(r.processes).toEqual(['buildx bake', 'push', 'push'])
      expect(r.result.commands.map(c => c.slice(0, 3).join(' '))).toEqual([
        'docker buildx bake',
        'docker push --quiet',
        'docker push --quiet'
      ])
      expect(Object.keys(r.result.bake?.definition.target ?? {})).toEqual(['tooling', 'app'])
      const after = await registryState(image)
      expect(moving(after)).toEqual({
        'base-stable': before['base-stable'],
        'tooling-stable': r.result.layers.tooling.digest,
        latest: r.result.layers.app.digest
      })
      const baseLayers = await layersOf(`${image}@${before['base-stable']}`)
      expect((await layersOf(`${image}:tooling-stable`)).slice(0, baseLayers.length)).toEqual(baseLayers)
    },
    LONG
  )

  test(
    'a base change builds every layer',
    async () => {
      await writeFile(join(ws, 'base.txt'), `base ${sha()}\n`)
      const r = await strata(config, ws, pushToMain(), ['base.txt'])
      expect(built(r)).toEqual(['base', 'tooling', 'app'])
      const after = await registryState(image)
      expect(moving(after)).toEqual({
        'base-stable': r.result.layers.base.digest,
        'tooling-stable': r.result.layers.tooling.digest,
        latest: r.result.layers.app.digest
      })
    },
    LONG
  )

  test(
    'a docs-only change builds nothing and resolves every ref to the stable digests',
    async () => {
      const before = await registryState(image)
      const r = await strata(config, ws, pushToMain(), ['README.md', 'docs/usage.md'])
      expect(built(r)).toEqual([])
      expect(r.result.commands).toEqual([])
      expect(r.result.layers).toEqual({
        base: {
          name: 'base',
          status: 'reused',
          ref: `${image}:base-stable@${before['base-stable']}`,
          reasons: []
        },
        tooling: {
          name: 'tooling',
          status: 'reused',
          ref: `${image}:tooling-stable@${before['tooling-stable']}`,
          reasons: []
        },
        app: { name: 'app', status: 'reused', ref: `${image}:latest@${before.latest}`, reasons: [] }
      })
      expect(await registryState(image)).toEqual(before)
    },
    LONG
  )

  test(
    'a pull request pushes its PR tags and moves neither stable tags nor latest',
    async () => {
      const before = await registryState(image)
      await writeFile(join(ws, 'app.txt'), `app ${sha()}\n`)
      const ctx = pullRequest(7)
      const r = await strata(config, ws, ctx, ['app.txt'])
      expect(built(r)).toEqual(['app'])
      const app = r.result.layers.app.digest
      const after = await registryState(image)
      expect(after).toEqual({ ...before, [`pr-7-${ctx.sha.slice(0, 7)}`]: app, 'pr-7': app })
      expect(targetOf(r, 'app')['cache-to']).toEqual(['type=inline,ignore-error=true'])
    },
    LONG
  )

  test(
    'a fork pull request without push: --load, children FROM the local tag, nothing pushed',
    async () => {
      // A workspace of its own: see `isolated` above.
      const ws = await isolated()
      const before = await registryState(image)
      await writeFile(join(ws, 'tooling.txt'), `tooling ${sha()}\n`)
      const ctx = pullRequest(8, true)
      const r = await strata(config, ws, ctx, ['tooling.txt'], { push: false })
      expect(failures(r)).toEqual({ failed: undefined, errors: [] })
      expect(built(r)).toEqual(['tooling', 'app'])
      const toolingTag = `${image}:tooling-pr-8-${ctx.sha.slice(0, 7)}`
      expect(r.result.layers.tooling.ref).toBe(toolingTag)
      expect(targetOf(r, 'app')).toMatchObject({
        contexts: { 'strata-layer-tooling': 'target:tooling' },
        output: ['type=docker']
      })
      expect(targetOf(r, 'tooling').output).toEqual(['type=docker'])
      // Not pushed: no image carries the cache, so the gha/registry mode=max exports run (none here: no gha, no push to the registry cache).
      expect(r.log.lines).toContain('info: app: no cache export (not pushed: no image carries the cache)')
      expect(await registryState(image)).toEqual(before)
      // The images are in the local engine.
      const local = await docker([
        'image',
        'inspect',
        '--format',
        '{{.Id}}',
        `${image}:pr-8-${ctx.sha.slice(0, 7)}`
      ])
      expect(local.trim()).toMatch(/^sha256:/)
    },
    LONG
  )

  test(
    'a failing layer: descendants skipped, no moving tag moved, even of the layer that built',
    async () => {
      const ws = await isolated()
      const before = await registryState(image)
      await writeFile(join(ws, 'base.txt'), `base ${sha()}\n`)
      const ctx = pushToMain()
      const r = await strata(threeLayers(image, 'Dockerfile.fail'), ws, ctx, ['base.txt'])
      // On a mismatch the diff shows every layer's error: what the session did.
      expect(failures(r)).toMatchObject({ failed: 'tooling' })
      // The session stores images; what it finished (base, if its export did) is pushed after it.
      expect(r.processes).toEqual(
        r.result.layers.base.status === 'built' ? ['buildx bake', 'push'] : ['buildx bake']
      )
      // BuildKit names tooling's failing step after app, which asked for it: the error's Dockerfile tells.
      expect(r.result.layers.tooling).toMatchObject({
        status: 'failed',
        error: expect.stringMatching(/^buildx failed with: ERROR: .*exit code: 1/)
      })
      expect(r.result.layers.app).toMatchObject({ status: 'skipped', error: 'parent tooling failed' })
      expect(r.result.layers.app.reasons).toContain('parent tooling failed')
      expect(r.log.lines).toContain('warning: No moving tag moved: a layer of this step failed.')
      const after = await registryState(image)
      // bake stops the whole session: base is built and pushed only if its export finished first.
      const { base } = r.result.layers
      const baseTag = after[`base-${ctx.sha.slice(0, 7)}`]
      expect(
        base.status === 'built'
          ? { status: 'built', pushed: baseTag === base.digest }
          : {
              status: base.status,
              cancelled: /^cancelled: /.test(base.error ?? ''),
              pushed: baseTag !== undefined
            }
      ).toEqual(
        base.status === 'built'
          ? { status: 'built', pushed: true }
          : { status: 'skipped', cancelled: true, pushed: false }
      )
      expect(moving(after)).toEqual(moving(before))
      expect(after[`tooling-${ctx.sha.slice(0, 7)}`]).toBeUndefined()
    },
    LONG
  )

  test(
    'force all rebuilds every layer and moves every stable tag',
    async () => {
      const before = await registryState(image)
      const r = await strata(config, ws, pushToMain(), [], { force: 'all' })
      expect(failures(r)).toEqual({ failed: undefined, errors: [] })
      expect(built(r)).toEqual(['base', 'tooling', 'app'])
      expect(r.plan.layers.base.reasons).toEqual(['forced'])
      const after = await registryState(image)
      expect(moving(after)).toEqual({
        'base-stable': r.result.layers.base.digest,
        'tooling-stable': r.result.layers.tooling.digest,
        latest: r.result.layers.app.digest
      })
      expect(after.latest).not.toBe(before.latest)
    },
    LONG
  )

  test(
    'a dry run prints the commands and builds, pushes and tags nothing',
    async () => {
      const before = await registryState(image)
      const ctx = pushToMain()
      const r = await strata(config, ws, ctx, ['tooling.txt'], { dryRun: true })
      expect(r.processes).toEqual([])
      expect(r.result.commands.map(c => c.slice(0, 3).join(' '))).toEqual([
        'docker buildx bake',
        'docker push --quiet',
        'docker push --quiet'
      ])
      const toolingTag = `${image}:tooling-${ctx.sha.slice(0, 7)}`
      expect(r.log.lines).toContain(
        `info: Would push ${toolingTag} (tooling): docker push --quiet -- ${toolingTag}`
      )
      const file = r.result.bake?.file as string
      expect(r.result.commands[0]).toEqual([
        'docker',
        'buildx',
        'bake',
        '--progress=plain',
        '--file',
        file,
        '--metadata-file',
        file.replace(/strata-bake\.json$/, 'strata-bake-metadata.json'),
        'tooling',
        'app'
      ])
      expect(JSON.parse(await readFile(file, 'utf8'))).toEqual(r.result.bake?.definition)
      expect(targetOf(r, 'tooling').tags).toEqual([toolingTag])
      expect(r.log.lines).toContain(`info: Would run: docker ${r.result.commands[0].slice(1).join(' ')}`)
      expect(r.log.groups['Build tooling'].join('\n')).toContain(`"${toolingTag}"`)
      expect(r.log.lines).toContain(`info: Would move ${image}:tooling-stable → ${toolingTag}`)
      expect(await registryState(image)).toEqual(before)
    },
    LONG
  )
})

test(
  'a multi-platform layer (linux/amd64, linux/arm64) pushes an index with both',
  async () => {
    const image = uniqueRepo('multi')
    const ws = await makeWorkspace()
    const config = parseConfig(
      `version: 1\nimage: ${image}\nlayers:\n  app:\n    dockerfile: Dockerfile.copy\n    platforms: [linux/amd64, linux/arm64]\n    cache: [registry]\n`,
      '.github/strata.yml'
    )
    const r = await strata(config, ws, pushToMain(), [])
    expect(failures(r)).toEqual({ failed: undefined, errors: [] })
    expect(targetOf(r, 'app').platforms).toEqual(['linux/amd64', 'linux/arm64'])
    // The moving tag is the built index, byte for byte.
    expect(await digestOf(`${image}:latest`)).toBe(r.result.layers.app.digest)
    expect(await platformsOf(`${image}:latest`)).toEqual(['linux/amd64', 'linux/arm64'])
  },
  LONG
)

/** The digest the registry serves for `image:tag`, read over HTTP (the manifest's own bytes). */
async function httpDigest(image: string, tag: string): Promise<string | undefined> {
  const name = image.replace(/^localhost:5000\//, '')
  const res = await fetch(`${REGISTRY}/v2/${name}/manifests/${tag}`, {
    method: 'HEAD',
    headers: {
      accept: [
        'application/vnd.oci.image.index.v1+json',
        'application/vnd.oci.image.manifest.v1+json',
        'application/vnd.docker.distribution.manifest.list.v2+json',
        'application/vnd.docker.distribution.manifest.v2+json'
      ].join(', ')
    }
  })
  return res.ok ? (res.headers.get('docker-content-digest') ?? undefined) : undefined
}

test(
  'three layers for linux/amd64 and linux/arm64 in one session: every moving tag is the built index',
  async () => {
    const image = uniqueRepo('multi-chain')
    const ws = await makeWorkspace()
    // COPY-only children FROM their parent: any platform builds without emulation.
    await writeFile(
      join(ws, 'Dockerfile.on-base'),
      'ARG BASE_IMAGE\nFROM ${BASE_IMAGE}\nCOPY tooling.txt /tooling.txt\n'
    )
    await writeFile(
      join(ws, 'Dockerfile.on-tooling'),
      'ARG TOOLING_IMAGE\nFROM ${TOOLING_IMAGE}\nCOPY app.txt /app.txt\n'
    )
    const config = parseConfig(
      [
        'version: 1',
        `image: ${image}`,
        'defaults:',
        '  platforms: [linux/amd64, linux/arm64]',
        'layers:',
        '  base:',
        '    dockerfile: Dockerfile.copy',
        '  tooling:',
        '    dockerfile: Dockerfile.on-base',
        '    from: base',
        '  app:',
        '    dockerfile: Dockerfile.on-tooling',
        '    from: tooling'
      ].join('\n'),
      '.github/strata.yml'
    )
    const r = await strata(config, ws, pushToMain(), [])
    expect(failures(r)).toEqual({ failed: undefined, errors: [] })
    expect(r.processes).toEqual(['buildx bake'])
    const { base, tooling, app } = r.result.layers
    const moved = {
      'base-stable': await httpDigest(image, 'base-stable'),
      'tooling-stable': await httpDigest(image, 'tooling-stable'),
      latest: await httpDigest(image, 'latest')
    }
    expect(moved).toEqual({
      'base-stable': base.digest,
      'tooling-stable': tooling.digest,
      latest: app.digest
    })
    expect(await platformsOf(`${image}:latest`)).toEqual(['linux/amd64', 'linux/arm64'])
    // app sits on tooling, which sits on base: built FROM each other inside the session.
    const baseLayers = await layersOf(`${image}@${base.digest}`)
    const toolingLayers = await layersOf(`${image}@${tooling.digest}`)
    const appLayers = await layersOf(`${image}@${app.digest}`)
    expect(toolingLayers.slice(0, baseLayers.length)).toEqual(baseLayers)
    expect(appLayers.slice(0, toolingLayers.length)).toEqual(toolingLayers)
    expect(appLayers).toHaveLength(baseLayers.length + 2)
  },
  LONG
)

test(
  'labels and build args reach BuildKit as written: bake does not expand ${…} or %{…} in them',
  async () => {
    const image = uniqueRepo('literal')
    const ws = await makeWorkspace()
    const config = parseConfig(
      [
        'version: 1',
        `image: ${image}`,
        'layers:',
        '  app:',
        '    dockerfile: Dockerfile.copy',
        "    labels: { note: 'home is ${HOME}, %{if x}' }"
      ].join('\n'),
      '.github/strata.yml'
    )
    const r = await strata(config, ws, pullRequest(9), [], { push: false })
    expect(failures(r)).toEqual({ failed: undefined, errors: [] })
    const labels = JSON.parse(
      await docker([
        'image',
        'inspect',
        '--format',
        '{{json .Config.Labels}}',
        r.result.layers.app.ref as string
      ])
    ) as Record<string, string>
    expect(labels.note).toBe('home is ${HOME}, %{if x}')
  },
  LONG
)

test(
  "SPEC 4a's labels are the pushed manifest's annotations too, so a label check reads no config",
  async () => {
    const image = uniqueRepo('annotated')
    const ws = await makeWorkspace()
    const config = parseConfig(
      ['version: 1', `image: ${image}`, 'layers:', '  app:', '    dockerfile: Dockerfile.copy'].join('\n'),
      '.github/strata.yml'
    )
    const labels = {
      'dev.strata.inputs': `sha256:${'2'.repeat(64)}`,
      // JSON, with commas and quotes: a quoted CSV field of the output reaches BuildKit intact.
      'dev.strata.externals': '["docker.io/library/busybox:1.36@sha256:' + '3'.repeat(64) + '","x@sha256:y"]',
      'dev.strata.ref': 'main'
    }
    const r = await strata(config, ws, pushToMain(), [], { inputLabels: { app: labels } })
    expect(failures(r)).toEqual({ failed: undefined, errors: [] })
    const index = (await rawManifest(`${image}@${r.result.layers.app.digest}`)) as {
      manifests: { digest: string; platform: { os: string } }[]
    }
    const image1 = index.manifests.find(m => m.platform.os === 'linux') as { digest: string }
    const manifest = (await rawManifest(`${image}@${image1.digest}`)) as {
      annotations?: Record<string, string>
    }
    expect(manifest.annotations).toEqual(labels)
    const configLabels = JSON.parse(
      await docker([
        'image',
        'inspect',
        '--format',
        '{{json .Config.Labels}}',
        `${image}@${r.result.layers.app.digest}`
      ])
    ) as Record<string, string>
    expect(configLabels).toMatchObject(labels)
    // The registry adapter reads them back (assemble-requests.itg counts that it reads no config then).
    expect(await createRegistry({ env: {} }).labels(`${image}:latest`)).toEqual(labels)
  },
  LONG
)

describe('two platforms without push', () => {
  const config = (image: string): StrataConfig =>
    parseConfig(
      [
        'version: 1',
        `image: ${image}`,
        'defaults:',
        '  platforms: [linux/amd64, linux/arm64]',
        '  cache: [registry]',
        'layers:',
        '  base:',
        '    dockerfile: Dockerfile.copy',
        '  app:',
        '    dockerfile: Dockerfile.copy',
        '    from: base'
      ].join('\n'),
      '.github/strata.yml'
    )

  test(
    'the docker driver loads both platforms (--load) and the child builds FROM the local tag',
    async () => {
      const image = uniqueRepo('multi-load')
      const r = await strata(config(image), await makeWorkspace(), pushToMain(), [], { push: false })
      expect(failures(r)).toEqual({ failed: undefined, errors: [] })
      expect(built(r)).toEqual(['base', 'app'])
      for (const n of ['base', 'app']) expect(targetOf(r, n).output).toEqual(['type=docker'])
      const local = await docker([
        'image',
        'inspect',
        '--format',
        '{{.Id}}',
        r.result.layers.app.ref as string
      ])
      expect(local.trim()).toMatch(/^sha256:/)
    },
    LONG
  )

  test(
    'a driver that cannot load them keeps the results in the build cache; the child builds in the same session',
    async () => {
      const image = uniqueRepo('multi-cache')
      // An unknown builder: the dry run goes on with a driver that is not `docker`.
      const r = await strata(config(image), await makeWorkspace(), pushToMain(), [], {
        push: false,
        dryRun: true,
        builder: 'strata-no-such-builder'
      })
      expect(r.result.commands).toHaveLength(1)
      expect(targetOf(r, 'base').output).toEqual(['type=cacheonly'])
      expect(targetOf(r, 'app')).toMatchObject({
        output: ['type=cacheonly'],
        contexts: { 'strata-layer-base': 'target:base' }
      })
      expect(failures(r)).toEqual({ failed: undefined, errors: [] })
      expect(r.result.layers.base).toMatchObject({ status: 'built', ref: undefined })
      expect(r.result.layers.app).toMatchObject({ status: 'built', ref: undefined })
      expect(r.log.lines.some(l => l.includes('base: built for linux/amd64, linux/arm64 without push'))).toBe(
        true
      )
    },
    LONG
  )
})

test(
  'secrets: values masked, never on the command line or in the definition, an unset one warned',
  async () => {
    const image = uniqueRepo('secrets')
    const config = parseConfig(
      `version: 1\nimage: ${image}\nlayers:\n  app:\n    dockerfile: Dockerfile.copy\n    secrets: [STRATA_TEST_TOKEN, 'id=gh,env=STRATA_TEST_UNSET']\n`,
      '.github/strata.yml'
    )
    const value = `s3cr3t-${sha()}`
    process.env.STRATA_TEST_TOKEN = value
    delete process.env.STRATA_TEST_UNSET
    const masked: string[] = []
    try {
      const r = await strata(config, await makeWorkspace(), pushToMain(), [], {
        dryRun: true,
        builder: 'strata-no-such-builder',
        mask: m => masked.push(m)
      })
      expect(masked).toEqual([value])
      expect(JSON.stringify(r.result.commands)).not.toContain(value)
      expect(await readFile(r.result.bake?.file as string, 'utf8')).not.toContain(value)
      expect(targetOf(r, 'app').secret).toEqual([
        'id=STRATA_TEST_TOKEN,env=STRATA_TEST_TOKEN',
        'id=gh,env=STRATA_TEST_UNSET'
      ])
      expect(r.log.lines.filter(l => l.includes('STRATA_TEST_UNSET is not set'))).toHaveLength(1)
      expect(r.result.commands[0].slice(0, 5)).toEqual([
        'docker',
        'buildx',
        'bake',
        '--builder',
        'strata-no-such-builder'
      ])
      expect(r.log.lines.some(l => l.startsWith(`info: Would move ${image}:latest → ${image}:main-`))).toBe(
        true
      )
    } finally {
      delete process.env.STRATA_TEST_TOKEN
    }
  },
  LONG
)

test(
  'the local cache: buildx writes a fresh copy that replaces the old one; no cache service, one notice',
  async () => {
    const image = uniqueRepo('local')
    const ws = await makeWorkspace()
    const runnerTemp = await mkdtemp(join(tmpdir(), 'strata-runner-'))
    const config = parseConfig(
      `version: 1\nimage: ${image}\nlayers:\n  app:\n    dockerfile: Dockerfile.copy\n    paths: [app.txt]\n    cache: [local]\n`,
      '.github/strata.yml'
    )
    const dir = join(runnerTemp, 'strata-cache', 'app')
    for (const round of [1, 2]) {
      await writeFile(join(ws, 'app.txt'), `app ${round} ${sha()}\n`)
      const r = await strata(config, ws, pushToMain(), ['app.txt'], { runnerTemp })
      expect(failures(r)).toEqual({ failed: undefined, errors: [] })
      expect(targetOf(r, 'app')['cache-from']).toContain(`type=local,src=${dir}`)
      expect(targetOf(r, 'app')['cache-to']).toContain(
        `type=local,dest=${dir}-new,mode=max,ignore-error=true`
      )
      expect(existsSync(join(dir, 'index.json'))).toBe(true)
      expect(existsSync(`${dir}-new`)).toBe(false)
      expect(r.log.lines.filter(l => l.includes('local cache not kept between runs'))).toHaveLength(1)
    }
  },
  LONG
)

describe('the docker driver without the containerd image store', () => {
  let dockerd: { host: string; stop: () => Promise<void> }
  beforeAll(async () => {
    dockerd = await classicDockerd()
  }, 60000)
  afterAll(async () => dockerd?.stop())

  test(
    'gets inline cache instead of --cache-to, with one warning, and still builds and pushes',
    async () => {
      const image = uniqueRepo('classic')
      const ws = await makeWorkspace()
      const config = parseConfig(
        [
          'version: 1',
          `image: ${image}`,
          'defaults:',
          '  cache: [registry]',
          'layers:',
          '  base:',
          '    dockerfile: Dockerfile.base',
          '  app:',
          '    dockerfile: Dockerfile.tooling',
          '    from: base'
        ].join('\n'),
        '.github/strata.yml'
      )
      const ctx = pushToMain()
      // SPEC 4a's labels go on as annotations too, which this store cannot keep: they stay labels.
      const inputs = { 'dev.strata.inputs': `sha256:${'1'.repeat(64)}`, 'dev.strata.ref': 'main' }
      const r = await strata(config, ws, ctx, [], {
        dockerHost: dockerd.host,
        inputLabels: { base: inputs, app: inputs }
      })
      expect(failures(r)).toEqual({ failed: undefined, errors: [] })
      expect(built(r)).toEqual(['base', 'app'])
      // A Docker manifest has no annotations: the labels are read from the config.
      expect(await createRegistry({ env: {} }).labels(`${image}:latest`)).toMatchObject(inputs)
      const warnings = r.log.lines.filter(l => l.startsWith('warning:'))
      expect(warnings).toHaveLength(1)
      expect(warnings[0]).toContain('cannot export cache: no --cache-to, inline cache instead')
      for (const n of ['base', 'app'])
        expect(targetOf(r, n)['cache-to']).toEqual(['type=inline,ignore-error=true'])
      const state = await registryState(image)
      const { base, app } = r.result.layers
      expect(state[`main-${ctx.sha.slice(0, 7)}`]).toBe(app.digest)
      expect(state[`base-${ctx.sha.slice(0, 7)}`]).toBe(base.digest)
      // This builder pushes a single manifest (no provenance); the tag move puts those very bytes
      // under the moving tags, so they name the built digest (no index around it).
      for (const [tag, digest] of [
        ['latest', app.digest],
        ['base-stable', base.digest]
      ] as const) {
        expect(state[tag]).toBe(digest)
        expect((await rawManifest(`${image}:${tag}`)).manifests).toBeUndefined()
      }
    },
    LONG
  )
})

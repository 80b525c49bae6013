// executePlan(): build the plan's selected layers (parents first, independent ones side by side),
// then move the moving tags, only once every layer of this step succeeded (SPEC 7).
import * as core from '@actions/core'
import { rm } from 'node:fs/promises'
import { join } from 'node:path'
import type { Buildx, BuilderInfo } from './adapters/buildx.js'
import { describeBuildFailure } from './adapters/buildx.js'
import type { LocalCache } from './adapters/cache.js'
import { createLocalCache, localCacheKeys, swapLocalCache } from './adapters/cache.js'
import { buildArgv, outputOf, platformsOf, quoteCommand, secretEnv } from './core/buildx-args.js'
import { cacheFlags, ghaAvailability } from './core/cache-flags.js'
import { layerTags, parentLayers, sanitizeTag } from './core/tags.js'
import type { EventContext, LayerConfig, Logger, Plan, Registry, StrataConfig } from './core/types.js'

export interface BuildOptions {
  push: boolean
  dryRun: boolean
  builder?: string
  platforms?: string[]
  buildArgs: Record<string, string>
  runnerTemp: string
  env: Record<string, string | undefined>
  /** Repository root: Dockerfile and context paths are relative to it (default: the current directory). */
  workspace?: string
}

export interface LayerResult {
  name: string
  status: 'built' | 'reused' | 'failed' | 'skipped' | 'not-selected'
  ref?: string
  digest?: string
  durationMs?: number
  cachedSteps?: number
  totalSteps?: number
  /** From the build's progress: blobs fetched (parents, cache) and, where shown, pushed. */
  bytesPulled?: number
  bytesPushed?: number
  error?: string
  reasons: string[]
}

export interface BuildResult {
  layers: Record<string, LayerResult>
  /** The first layer that failed (or whose moving tags could not be moved). */
  failed?: string
  /** Every docker command, argv with `docker` first: what ran, or in a dry run what would run. */
  commands: string[][]
}

export interface BuildDeps {
  buildx: Buildx
  registry: Registry
  log: Logger
  /** The `local` cache; default: @actions/cache. */
  cache?: LocalCache
  /** Hides a secret value from the log; default: core.setSecret on a runner, nothing in a terminal. */
  mask?: (secret: string) => void
}

/** At most this many builds at once: the runner's 2 cores and BuildKit's own parallelism. */
const SIDE_BY_SIDE = 2

type Outcome = { ok: true } | { ok: false; failedLayer: string }

export async function executePlan(
  config: StrataConfig,
  plan: Plan,
  ctx: EventContext,
  opts: BuildOptions,
  deps: BuildDeps
): Promise<BuildResult> {
  const { buildx, registry, log } = deps
  const workspace = opts.workspace ?? process.cwd()
  const layers = new Map(config.layers.map(l => [l.name, l]))
  const parents = parentLayers(config.layers)
  const tagsOf = (l: LayerConfig) => layerTags(l, ctx, { isLeaf: !parents.has(l.name), parents })
  const result: BuildResult = { layers: {}, commands: [] }

  // Versioned tags go on the build; moving ones (stable, latest, pr-N, branch) move at the end.
  const split = (l: LayerConfig): { versioned: string[]; moving: string[] } => {
    const moving = new Set(tagsOf(l).moving.map(t => `${l.image}:${t}`))
    const tags = plan.layers[l.name]?.tags ?? []
    const versioned = tags.filter(t => !moving.has(t))
    return {
      versioned: versioned.length ? versioned : tags,
      moving: versioned.length ? tags.filter(t => moving.has(t)) : []
    }
  }

  const toBuild = config.order.filter(n => plan.layers[n]?.build && plan.layers[n].selected)
  for (const name of config.order) {
    const d = plan.layers[name]
    if (!d) continue
    const status = !d.build ? 'reused' : d.selected ? 'built' : 'not-selected'
    result.layers[name] = { name, status, ref: d.ref, reasons: [...d.reasons] }
  }
  // A parent's ref for a child: built here → its new image; else what the plan or registry says.
  const built = new Map<string, { ref: string; digest?: string }>()
  const resolved = new Map<string, Promise<string>>()
  // Built for several platforms without push on a driver that cannot load them: no image exists.
  const cacheOnly = new Map<string, string[]>()
  const parentRef = (name: string): Promise<string> => {
    const platforms = cacheOnly.get(name)
    if (platforms) {
      return Promise.reject(
        new Error(
          `parent layer "${name}" was built for ${platforms.join(', ')} without push, so it stays in the ` +
            'build cache and no image exists to build FROM: push (push: true), or build one platform ' +
            `(platforms: ${platforms[0]})`
        )
      )
    }
    const mine = built.get(name)
    if (mine) return Promise.resolve(mine.ref)
    if (!resolved.has(name)) resolved.set(name, resolveFromRegistry(name))
    return resolved.get(name) as Promise<string>
  }
  const resolveFromRegistry = async (name: string): Promise<string> => {
    const l = layers.get(name) as LayerConfig
    const d = plan.layers[name]
    if (d && !d.build && d.ref) return d.ref
    const stable = `${l.image}:${tagsOf(l).stable}`
    // Built by another job of this run: the tag its own step pushes, else the stable tag.
    const candidates = d?.build ? [split(l).versioned[0], stable] : [stable]
    for (const ref of candidates) {
      if (!ref) continue
      if (opts.dryRun) return ref
      const info = await registry.inspect(ref)
      if (info) return `${ref}@${info.digest}`
    }
    throw new Error(
      `parent layer "${name}" has no image: ${candidates.filter(Boolean).join(' and ')} not found in the registry; ` +
        `build it first (force: ${name}) or let its own job push it`
    )
  }

  // Layers that another step builds: their outputs name the image that step pushes (SPEC 4).
  // Looked up now, side by side with the builds, not after them.
  const others = config.order
    .filter(n => result.layers[n]?.status === 'not-selected')
    .map(n => ({
      n,
      ref: parentRef(n).then(
        ref => ({ ref }),
        (e: Error) => ({ error: e.message })
      )
    }))
  const finish = async (): Promise<BuildResult> => {
    for (const { n, ref } of others) {
      const got = await ref
      if ('ref' in got) result.layers[n].ref = got.ref
      else log.warning(`${n}: ${got.error}`)
    }
    return result
  }
  if (toBuild.length === 0) {
    log.info('Nothing to build in this step.')
    return finish()
  }

  const builder = await inspect(buildx, opts, log)
  const gha = ghaAvailability(opts.env, builder.buildkitVersion)
  const said = new Set<string>()
  const once = (say: (m: string) => void, m: string): void => {
    if (!said.has(m)) say(m)
    said.add(m)
  }
  const defaultBranch = sanitizeTag(ctx.defaultBranch)
  const branch = ctx.branch ? sanitizeTag(ctx.branch) : ctx.tag ? sanitizeTag(ctx.tag) : defaultBranch
  const localCache = deps.cache ?? createLocalCache(log)
  const oci = {
    source: `${opts.env.GITHUB_SERVER_URL ?? 'https://github.com'}/${ctx.owner}/${ctx.repo}`,
    revision: ctx.sha,
    created: ctx.time.toISOString()
  }
  log.info(
    `${opts.dryRun ? 'Would build' : 'Building'} ${toBuild.join(', ')} ` +
      `(${opts.push ? 'push' : 'no push: --load, children FROM the local tag'}) with builder ` +
      `${builder.name} (${builder.driver} driver, BuildKit ${builder.buildkitVersion ?? 'unknown'})`
  )

  const buildLayer = async (name: string, emit: (line: string) => void): Promise<boolean> => {
    const l = layers.get(name) as LayerConfig
    const r = result.layers[name]
    const { versioned } = split(l)
    maskSecrets(l, deps.mask ?? log.mask?.bind(log) ?? defaultMask, log)
    const parents: Record<string, string> = {}
    try {
      for (const p of l.from) parents[p.buildArg] = await parentRef(p.layer)
    } catch (e) {
      Object.assign(r, { status: 'failed', error: (e as Error).message })
      log.warning(`${name}: ${(e as Error).message}`)
      return false
    }
    const localDir = join(opts.runnerTemp, 'strata-cache', name)
    const flags = cacheFlags(
      l,
      {
        branch,
        defaultBranch,
        pushToDefault: ctx.isDefaultBranch,
        push: opts.push,
        localDir,
        inlineRef: `${l.image}:${tagsOf(l).stable}`
      },
      {
        ghaAvailable: gha.available,
        ghaWhy: gha.why,
        canExportCache: builder.canExportCache,
        builder: builder.name
      }
    )
    flags.notices.forEach(m => once(log.notice.bind(log), m))
    flags.warnings.forEach(m => once(log.warning.bind(log), m))
    const metadataFile = join(opts.runnerTemp, `strata-${name}-metadata.json`)
    const argv = buildArgv({
      layer: l,
      parents,
      tags: versioned,
      push: opts.push,
      platforms: opts.platforms,
      buildArgs: opts.buildArgs,
      oci,
      metadataFile,
      cache: flags,
      builder: opts.builder,
      driver: builder.driver
    })
    result.commands.push(['docker', ...argv])
    emit(`docker ${quoteCommand(argv)}`)
    const platforms = platformsOf(l, opts.platforms)
    const kept = outputOf(opts.push, platforms, builder.driver) === 'cache'
    if (kept) {
      log.warning(
        `${name}: built for ${platforms.join(', ')} without push: the ${builder.driver} driver cannot load ` +
          'several platforms into the local engine, so the result stays in the build cache only ' +
          `(push, or build one platform with the platforms input to get a local image)`
      )
    }
    if (opts.dryRun) {
      if (kept) cacheOnly.set(name, platforms)
      else built.set(name, { ref: versioned[0] })
      Object.assign(r, { status: 'built', ref: kept ? undefined : versioned[0] })
      return true
    }

    const keys = l.cache.includes('local')
      ? await localCacheKeys(workspace, l, branch, defaultBranch)
      : undefined
    if (keys) await localCache.restore(localDir, keys)
    await rm(metadataFile, { force: true })
    const run = await buildx.build(argv, { cwd: workspace, onLine: emit })
    const { durationMs, cachedSteps, totalSteps, bytesPulled, bytesPushed } = run
    Object.assign(r, { durationMs, cachedSteps, totalSteps, bytesPulled, bytesPushed })
    if (run.exitCode !== 0 || (opts.push && !run.digest)) {
      const error =
        run.exitCode !== 0 ? describeBuildFailure(run.lastErrorLine, l.image) : 'buildx wrote no digest'
      Object.assign(r, { status: 'failed', error })
      return false
    }
    if (keys && (await swapLocalCache(localDir))) await localCache.save(localDir, keys.key)
    if (kept) {
      cacheOnly.set(name, platforms)
      Object.assign(r, { status: 'built', ref: undefined })
      return true
    }
    // Without push the child must use the local tag: a digest-pinned FROM goes to the registry.
    const ref = opts.push ? `${versioned[0]}@${run.digest}` : versioned[0]
    built.set(name, { ref, digest: run.digest })
    Object.assign(r, { status: 'built', ref, digest: run.digest })
    return true
  }

  // One group at a time in the log: the build that finds the log free streams live; one that
  // starts while another holds it keeps its lines and prints its group when it gets the log.
  let logHeld = false
  const logQueue: (() => void)[] = []
  const lockLog = async (): Promise<void> => {
    if (!logHeld) logHeld = true
    else await new Promise<void>(res => logQueue.push(res))
  }
  const unlockLog = (): void => {
    const next = logQueue.shift()
    if (next) next()
    else logHeld = false
  }
  const inGroup = async (name: string): Promise<boolean> => {
    if (!logHeld) {
      logHeld = true
      try {
        return await log.group(`Build ${name}`, () => buildLayer(name, line => log.info(line)))
      } finally {
        unlockLog()
      }
    }
    const lines: string[] = []
    const ok = await buildLayer(name, line => lines.push(line))
    await lockLog()
    try {
      await log.group(`Build ${name}`, async () => lines.forEach(line => log.info(line)))
    } finally {
      unlockLog()
    }
    return ok
  }

  // Parents first; a layer waits for its parents of this step without holding a slot.
  let slots = SIDE_BY_SIDE
  const waiting: (() => void)[] = []
  const acquire = async (): Promise<void> => {
    if (slots > 0) slots--
    else await new Promise<void>(res => waiting.push(res))
  }
  const releaseSlot = (): void => {
    const next = waiting.shift()
    if (next) next()
    else slots++
  }
  const outcomes = new Map<string, Promise<Outcome>>()
  for (const name of toBuild) {
    const l = layers.get(name) as LayerConfig
    const parentsHere = l.from.map(p => p.layer).filter(p => outcomes.has(p))
    outcomes.set(
      name,
      (async (): Promise<Outcome> => {
        for (const p of parentsHere) {
          const o = await (outcomes.get(p) as Promise<Outcome>)
          if (!o.ok) {
            const reason = `parent ${o.failedLayer} failed`
            Object.assign(result.layers[name], { status: 'skipped', error: reason })
            result.layers[name].reasons.push(reason)
            log.warning(`${name}: not built: ${reason}`)
            return o
          }
        }
        await acquire()
        try {
          return (await inGroup(name)) ? { ok: true } : { ok: false, failedLayer: name }
        } finally {
          releaseSlot()
        }
      })()
    )
  }
  await Promise.all(outcomes.values())
  const firstFailed = toBuild.find(n => result.layers[n].status === 'failed')
  if (firstFailed) {
    result.failed = firstFailed
    for (const n of toBuild.filter(n => result.layers[n].status === 'failed')) {
      log.warning(`Layer ${n} failed: ${result.layers[n].error}`)
    }
    log.warning('No moving tag moved: a layer of this step failed.')
    return finish()
  }

  // Every layer of this step succeeded: move the moving tags, side by side, without pulling.
  if (opts.push) {
    const moves = toBuild
      .map(n => ({ name: n, moving: split(layers.get(n) as LayerConfig).moving }))
      .filter(m => m.moving.length)
    for (const m of moves) {
      const source = result.layers[m.name].ref as string
      const argv = ['buildx', 'imagetools', 'create', ...(opts.builder ? ['--builder', opts.builder] : [])]
      argv.push(...m.moving.flatMap(t => ['--tag', t]), source)
      result.commands.push(['docker', ...argv])
      log.info(`${opts.dryRun ? 'Would move' : 'Moving'} ${m.moving.join(', ')} → ${source}`)
      if (opts.dryRun) log.info(`docker ${quoteCommand(argv)}`)
    }
    if (!opts.dryRun) {
      const moved = await Promise.allSettled(
        moves.map(m => registry.retag(result.layers[m.name].ref as string, m.moving))
      )
      moved.forEach((o, i) => {
        if (o.status === 'rejected') {
          const name = moves[i].name
          result.layers[name].error = `moving tags not moved: ${(o.reason as Error).message ?? o.reason}`
          result.failed ??= name
          log.warning(`${name}: ${result.layers[name].error}`)
        }
      })
    }
  }
  return finish()
}

async function inspect(buildx: Buildx, opts: BuildOptions, log: Logger): Promise<BuilderInfo> {
  try {
    return await buildx.inspectBuilder(opts.builder)
  } catch (e) {
    if (!opts.dryRun) throw e
    log.warning(`${(e as Error).message}; the dry run assumes a builder that can export cache`)
    return { name: opts.builder ?? 'default', driver: 'unknown', canExportCache: true }
  }
}

/** On a runner, a masked value never reaches the log; in a terminal there is no log to hide it from. */
function defaultMask(secret: string): void {
  if (process.env.GITHUB_ACTIONS === 'true') core.setSecret(secret)
}

/** Masks the values of a layer's environment-variable secrets, and says which are not set. */
function maskSecrets(layer: LayerConfig, mask: (secret: string) => void, log: Logger): void {
  for (const s of layer.secrets) {
    const name = secretEnv(s)
    if (!name) continue
    const value = process.env[name]
    if (value) mask(value)
    else {
      log.warning(
        `${layer.name}: secret ${name} is empty: the environment variable ${name} is not set, so the build gets no ` +
          `such secret (set it on the step: env: ${name}: \${{ secrets.${name} }})`
      )
    }
  }
}

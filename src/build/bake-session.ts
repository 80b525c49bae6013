// One bake session (SPEC 7): writes the definition, runs it (or in a dry run prints it and the
// command), splits its log into one group a layer, and records each layer's outcome: built, the
// target that failed, its descendants skipped, and what bake cancelled around it.
import { mkdir, rm, writeFile } from 'node:fs/promises'
import { join, relative, resolve } from 'node:path'
import type { BakeRun, BuilderInfo } from '../adapters/buildx.js'
import { describeBuildFailure } from '../adapters/buildx.js'
import type { LocalCache } from '../adapters/cache.js'
import { localCacheKeys, swapLocalCache } from '../adapters/cache.js'
import type { Prepared } from './prepare.js'
import { failed, skipped, type Results, type StepOutcome } from './results.js'
import type { Run } from './types.js'
import type { BakeDefinition, BakeTarget } from '../core/bake.js'
import { bakeArgv, bakeDefinition, descendants, failedTarget } from '../core/bake.js'
import type { LayerStep } from '../core/build-steps.js'
import { builtRef } from '../core/build-steps.js'
import { quoteCommand } from '../core/buildx-args.js'
import { mapLimit } from '../core/limit.js'
import {
  BakeProgress,
  builderConnectionLost,
  pushServerError,
  registryServerError
} from '../core/progress.js'
import type { CacheScope, LayerConfig, LayerResult } from '../core/types.js'

/** What the session did: each of its layers' results, the bake command, and the definition it ran. */
export interface SessionOutcome extends StepOutcome {
  bake?: { file: string; definition: BakeDefinition }
}

/** Writes the definition, runs (or in a dry run prints) the bake, and returns each layer's outcome. */
export async function runSession(
  run: Run,
  prepared: Prepared,
  builder: BuilderInfo,
  results: Results
): Promise<SessionOutcome> {
  const { opts, deps } = run
  const { steps } = prepared
  if (!steps.length) return { results: [], commands: [] }
  const workspace = resolve(opts.workspace ?? process.cwd())
  const targets: Record<string, BakeTarget> = Object.fromEntries(steps.map(s => [s.name, s.target]))
  const definition = bakeDefinition(targets)
  const file = join(opts.runnerTemp, 'strata-bake.json')
  const metadataFile = join(opts.runnerTemp, 'strata-bake-metadata.json')
  const argv = bakeArgv({ file, metadataFile, targets: Object.keys(targets), builder: opts.builder })
  const ran = { commands: [['docker', ...argv]], bake: { file, definition } }
  await mkdir(opts.runnerTemp, { recursive: true })
  await writeFile(file, `${JSON.stringify(definition, null, 2)}\n`)
  const names = steps.map(s => s.name).join(', ')
  deps.log.info(
    `${opts.dryRun ? 'Would build' : 'Building'} ${names} in one bake session ` +
      `(${opts.pushByDigest ? 'push by digest' : opts.push ? 'push' : 'no push: load, children FROM the local tag'}) ` +
      `with builder ${builder.name} (${builder.driver} driver, BuildKit ${builder.buildkitVersion ?? 'unknown'})`
  )
  deps.log.info(`${opts.dryRun ? 'Would run' : 'Running'}: docker ${quoteCommand(argv)}`)
  if (opts.dryRun) {
    // What would run, one line a layer; the whole definition is in the file, not in the log.
    deps.log.info(`Bake definition: ${file} (${steps.length} ${steps.length === 1 ? 'target' : 'targets'})`)
    const out: LayerResult[] = []
    for (const s of steps) {
      const dockerfile = relative(workspace, s.target.dockerfile)
      await deps.log.group(`Build ${s.name}`, async () =>
        deps.log.info(`would build ${dockerfile}, tags ${JSON.stringify(s.target.tags)}`)
      )
      out.push({ ...results[s.name], status: 'built', ref: builtRef(s) })
    }
    return { ...ran, results: out }
  }
  const local = await restoreLocalCaches(run, steps, workspace)
  const { bake, progress } = await bakeWithRetry(run, prepared, argv, { workspace, metadataFile })
  const out = await recordOutcomes(run, steps, bake, progress, results)
  for (const s of steps) {
    await deps.log.group(`Build ${s.name}`, async () => progress.lines(s.name).forEach(l => deps.log.info(l)))
  }
  if (bake.exitCode !== 0) progress.session.forEach(l => deps.log.info(l))
  const built = new Set(out.filter(r => r.status === 'built').map(r => r.name))
  await mapLimit(local.dirs, 2, async ({ step, dir, key }) => {
    if (built.has(step.name) && (await swapLocalCache(dir))) await local.cache?.save(dir, key)
  })
  return { ...ran, results: out }
}

/**
 * The bake, once more when the connection to the builder dropped (the docker driver cannot dial it
 * again) or a registry answered with a server error: both pass, and nothing was moved yet.
 */
async function bakeWithRetry(
  run: Run,
  prepared: Prepared,
  argv: string[],
  at: { workspace: string; metadataFile: string }
): Promise<{ bake: BakeRun; progress: BakeProgress }> {
  await rm(at.metadataFile, { force: true })
  const first = await bakeOnce(run, prepared, argv, at.workspace)
  if (first.bake.exitCode === 0) return first
  if (builderConnectionLost(first.lines))
    run.deps.log.warning('the connection to the builder was lost during the session; running it once more')
  else if (registryServerError(first.lines))
    run.deps.log.warning('the registry answered the session with a server error (5xx); running it once more')
  else return first
  await rm(at.metadataFile, { force: true })
  return bakeOnce(run, prepared, argv, at.workspace)
}

/** One run of the bake command, its output split by target as it comes. */
async function bakeOnce(
  run: Run,
  prepared: Prepared,
  argv: string[],
  workspace: string
): Promise<{ bake: BakeRun; progress: BakeProgress; lines: string[] }> {
  const progress = new BakeProgress(
    prepared.steps.map(s => ({ name: s.name, parents: s.sessionParents, dockerfile: prepared.texts[s.name] }))
  )
  const lines: string[] = []
  const bake = await run.deps.buildx.bake(argv, {
    cwd: workspace,
    onLine: line => {
      lines.push(line)
      progress.add(line, Date.now())
    }
  })
  return { bake, progress, lines }
}

/** Each target's status, digest and figures; on a failed session, which target failed and what bake cancelled. */
async function recordOutcomes(
  run: Run,
  steps: LayerStep[],
  bake: BakeRun,
  progress: BakeProgress,
  results: Results
): Promise<LayerResult[]> {
  const session = steps.map(s => ({
    name: s.name,
    dockerfile: s.target.dockerfile,
    parents: s.sessionParents
  }))
  const culprit =
    bake.exitCode === 0
      ? undefined
      : (failedTarget(session, { target: progress.failedStep, dockerfile: progress.errorDockerfile }) ??
        steps.find(s => progress.exportOf(s.name)?.state !== 'done')?.name ??
        steps[0].name)
  const lost = new Set(culprit ? descendants(session, culprit) : [])
  const pushed = culprit
    ? await pushedAnyway(run, steps, progress, s => s.name !== culprit && !lost.has(s.name))
    : new Set<string>()
  return steps.map(s => {
    const c = progress.counter(s.name)
    const r: LayerResult = {
      ...results[s.name],
      durationMs: progress.durationOf(s.name) ?? bake.durationMs,
      cachedSteps: c.cached,
      totalSteps: c.total,
      bytesPulled: c.bytesPulled,
      bytesPushed: c.bytesPushed,
      cacheExports: c.cacheExports,
      ...(s.output === 'digest' && { platform: s.platforms[0] })
    }
    if (s.name === culprit) return failed(r, describeBuildFailure(progress.lastError, s.image))
    if (culprit && lost.has(s.name)) return skipped(r, culprit, run.deps.log)
    const exported = progress.exportOf(s.name)
    if (culprit && (exported?.state !== 'done' || (s.output === 'push' && !pushed.has(s.name)))) {
      const error = `cancelled: bake stops every target of the session when one fails (${culprit})`
      run.deps.log.warning(`${s.name}: ${error}`)
      return { ...r, status: 'skipped', error }
    }
    const digest = bake.digests[s.name] ?? (exported?.state === 'done' ? exported.digest : undefined)
    if (s.output !== 'load' && s.output !== 'cache' && !digest) return failed(r, 'buildx wrote no digest')
    return { ...r, status: 'built', digest, ref: builtRef(s, digest) }
  })
}

/**
 * A failed session writes no metadata, and an export the progress shows done may still have been
 * stopped before its push (the docker driver pushes in a vertex of its own): the registry is asked
 * which of the `spared` pushed targets it holds.
 */
async function pushedAnyway(
  run: Run,
  steps: LayerStep[],
  progress: BakeProgress,
  spared: (s: LayerStep) => boolean
): Promise<Set<string>> {
  const pushed = new Set<string>()
  const candidates = steps.filter(
    s => spared(s) && s.output === 'push' && progress.exportOf(s.name)?.state === 'done'
  )
  await Promise.all(
    candidates.map(async s => {
      const info = await run.deps.registry.inspect(s.tags[0]).catch(() => null)
      if (info && info.digest === progress.exportOf(s.name)?.digest) pushed.add(s.name)
    })
  )
  return pushed
}

/**
 * Images the session kept in the engine (`store`): pushed one after another, parents first, so that a
 * layer shared by several images goes up once (the next push finds its blobs there). Other tags of the
 * image are put over HTTP. A failed push fails its layer; later ones are not pushed.
 */
export async function pushStored(run: Run, steps: LayerStep[], results: Results): Promise<StepOutcome> {
  const out: StepOutcome = { results: [], commands: [] }
  let failedFirst: string | undefined
  for (const s of steps.filter(st => st.output === 'store')) {
    const r = results[s.name]
    if (r.status !== 'built') continue
    if (failedFirst) {
      out.results.push(failed(r, `not pushed: the push of ${failedFirst} failed first`))
      continue
    }
    out.commands.push(['docker', 'push', '--quiet', '--', s.tags[0]])
    if (run.opts.dryRun) {
      run.deps.log.info(`Would push ${s.tags[0]} (${s.name}): docker push --quiet -- ${s.tags[0]}`)
      continue
    }
    const pushed = await pushOne(run, s, r)
    out.results.push(pushed)
    if (pushed.status === 'failed') failedFirst = s.name
  }
  return out
}

/** One stored image pushed by the engine, then its other tags put over HTTP. */
async function pushOne(run: Run, s: LayerStep, r: LayerResult): Promise<LayerResult> {
  const { deps } = run
  const started = Date.now()
  deps.log.info(`Pushing ${s.tags[0]} (${s.name})`)
  let pushed = await deps.buildx.push(s.tags[0])
  if (pushed.exitCode !== 0 && pushServerError(pushed.lastErrorLine)) {
    deps.log.warning(
      `the registry answered the push of ${s.tags[0]} with a server error (5xx); pushing once more`
    )
    pushed = await deps.buildx.push(s.tags[0])
  }
  const info = pushed.exitCode === 0 ? await deps.registry.inspect(s.tags[0]).catch(() => null) : null
  if (!info) return failed(r, describeBuildFailure(pushed.lastErrorLine, s.image))
  const ref = `${s.tags[0]}@${info.digest}`
  const rest = s.tags.slice(1)
  const tagged = rest.length
    ? await deps.registry.retag(ref, rest).then(
        () => undefined,
        (e: Error) => e.message
      )
    : undefined
  if (tagged) return failed(r, `pushed as ${ref}, but not tagged: ${tagged}`)
  return { ...r, ref, digest: info.digest, durationMs: (r.durationMs ?? 0) + Date.now() - started }
}

/** The `local` cache of each layer that lists it, restored; its store is the one wire() made. */
async function restoreLocalCaches(
  run: Run,
  steps: LayerStep[],
  workspace: string
): Promise<{ cache?: LocalCache; dirs: { step: LayerStep; dir: string; key: string }[] }> {
  const { opts } = run
  const withLocal = steps.filter(s => (run.layers.get(s.name) as LayerConfig).cache.includes('local'))
  if (!withLocal.length) return { dirs: [] }
  const cache = run.deps.cache
  if (!cache)
    throw new Error(
      `layer "${withLocal[0].name}" lists the local cache, but the build was given no local cache store (BuildDeps.cache; wire() makes it)`
    )
  const dirs = await mapLimit(withLocal, 2, async step => {
    const dir = join(opts.runnerTemp, 'strata-cache', step.name)
    const { branch, defaultBranch } = run.plan.layers[step.name].cacheScope as CacheScope
    const keys = await localCacheKeys(
      workspace,
      run.layers.get(step.name) as LayerConfig,
      branch,
      defaultBranch
    )
    await cache.restore(dir, keys)
    return { step, dir, key: keys.key }
  })
  return { cache, dirs }
}

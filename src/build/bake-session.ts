// One bake session (SPEC 7): writes the definition, runs it (or in a dry run prints it and the
// command), splits its log into one group a layer, and records each layer's outcome: built, the
// target that failed, its descendants skipped, and what bake cancelled around it.
import { mkdir, rm, writeFile } from 'node:fs/promises'
import { join, relative, resolve } from 'node:path'
import type { BakeRun, BuilderInfo } from '../adapters/buildx.js'
import { describeBuildFailure } from '../adapters/buildx.js'
import type { LocalCache } from '../adapters/cache.js'
import { createLocalCache, localCacheKeys, swapLocalCache } from '../adapters/cache.js'
import type { LayerResult } from '../core/types.js'
import type { Run } from './types.js'
import type { BakeTarget } from '../core/bake.js'
import { bakeArgv, bakeDefinition, descendants, failedTarget } from '../core/bake.js'
import type { LayerStep } from '../core/build-steps.js'
import { builtRef } from '../core/build-steps.js'
import { quoteCommand } from '../core/buildx-args.js'
import { mapLimit } from '../core/limit.js'
import { BakeProgress, builderConnectionLost } from '../core/progress.js'
import type { CacheScope, LayerConfig, Logger } from '../core/types.js'

/** A layer not built because `parent` failed (SPEC 7 wording). */
export function skip(r: LayerResult, parent: string, log: Logger): void {
  const reason = `parent ${parent} failed`
  Object.assign(r, { status: 'skipped', error: reason })
  r.reasons.push(reason)
  log.warning(`${r.name}: not built: ${reason}`)
}

/** Writes the definition, runs (or in a dry run prints) the bake, and records each layer's outcome. */
export async function runSession(run: Run, steps: LayerStep[], builder: BuilderInfo): Promise<void> {
  const { opts, deps, result } = run
  if (!steps.length) return
  const workspace = resolve(opts.workspace ?? process.cwd())
  const targets: Record<string, BakeTarget> = Object.fromEntries(steps.map(s => [s.name, s.target]))
  const definition = bakeDefinition(targets)
  const file = join(opts.runnerTemp, 'strata-bake.json')
  const metadataFile = join(opts.runnerTemp, 'strata-bake-metadata.json')
  const argv = bakeArgv({ file, metadataFile, targets: Object.keys(targets), builder: opts.builder })
  result.commands.push(['docker', ...argv])
  result.bake = { file, definition }
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
    for (const s of steps) {
      const dockerfile = relative(workspace, s.target.dockerfile)
      await deps.log.group(`Build ${s.name}`, async () =>
        deps.log.info(`would build ${dockerfile}, tags ${JSON.stringify(s.target.tags)}`)
      )
      Object.assign(result.layers[s.name], { status: 'built', ref: builtRef(s) })
    }
    return
  }

  const cache = deps.cache ?? createLocalCache(deps.log)
  const local = await restoreLocalCaches(run, steps, workspace, cache)
  await rm(metadataFile, { force: true })
  const first = await bakeOnce(run, steps, argv, workspace)
  let { bake, progress } = first
  if (bake.exitCode !== 0 && builderConnectionLost(first.lines)) {
    deps.log.warning('the connection to the builder was lost during the session; running it once more')
    await rm(metadataFile, { force: true })
    ;({ bake, progress } = await bakeOnce(run, steps, argv, workspace))
  }
  await recordOutcomes(run, steps, bake, progress)
  for (const s of steps) {
    await deps.log.group(`Build ${s.name}`, async () => progress.lines(s.name).forEach(l => deps.log.info(l)))
  }
  if (bake.exitCode !== 0) progress.session.forEach(l => deps.log.info(l))
  await mapLimit(local, 2, async ({ step, dir, key }) => {
    if (result.layers[step.name].status === 'built' && (await swapLocalCache(dir))) {
      await cache.save(dir, key)
    }
  })
}

/** One run of the bake command, its output split by target as it comes. */
async function bakeOnce(
  run: Run,
  steps: LayerStep[],
  argv: string[],
  workspace: string
): Promise<{ bake: BakeRun; progress: BakeProgress; lines: string[] }> {
  const progress = new BakeProgress(
    steps.map(s => ({ name: s.name, parents: s.sessionParents, dockerfile: run.dockerfiles.get(s.name) }))
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
  progress: BakeProgress
): Promise<void> {
  const { result, deps } = run
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
  // A failed session writes no metadata, and an export the progress shows done may still have been
  // stopped before its push (the docker driver pushes in a vertex of its own): ask the registry.
  const pushed = new Set<string>()
  if (culprit) {
    const candidates = steps.filter(
      s =>
        s.name !== culprit &&
        !lost.has(s.name) &&
        s.output === 'push' &&
        progress.exportOf(s.name)?.state === 'done'
    )
    await Promise.all(
      candidates.map(async s => {
        const info = await run.deps.registry.inspect(s.tags[0]).catch(() => null)
        if (info && info.digest === progress.exportOf(s.name)?.digest) pushed.add(s.name)
      })
    )
  }
  for (const s of steps) {
    const r = result.layers[s.name]
    const c = progress.counter(s.name)
    Object.assign(r, {
      durationMs: progress.durationOf(s.name) ?? bake.durationMs,
      cachedSteps: c.cached,
      totalSteps: c.total,
      bytesPulled: c.bytesPulled,
      bytesPushed: c.bytesPushed,
      cacheExports: c.cacheExports,
      ...(s.output === 'digest' && { platform: s.platforms[0] })
    })
    const exported = progress.exportOf(s.name)
    const digest = bake.digests[s.name] ?? (exported?.state === 'done' ? exported.digest : undefined)
    if (s.name === culprit) {
      Object.assign(r, { status: 'failed', error: describeBuildFailure(progress.lastError, s.image) })
    } else if (culprit && lost.has(s.name)) {
      skip(r, culprit, deps.log)
    } else if (culprit && (exported?.state !== 'done' || (s.output === 'push' && !pushed.has(s.name)))) {
      const error = `cancelled: bake stops every target of the session when one fails (${culprit})`
      Object.assign(r, { status: 'skipped', error })
      deps.log.warning(`${s.name}: ${error}`)
    } else if (s.output !== 'load' && s.output !== 'cache' && !digest) {
      Object.assign(r, { status: 'failed', error: 'buildx wrote no digest' })
    } else {
      Object.assign(r, { status: 'built', digest, ref: builtRef(s, digest) })
    }
  }
}

/**
 * Images the session kept in the engine (`store`): pushed one after another, parents first, so that a
 * layer shared by several images goes up once (the next push finds its blobs there). Other tags of the
 * image are put over HTTP. A failed push fails its layer; later ones are not pushed.
 */
export async function pushStored(run: Run, steps: LayerStep[]): Promise<void> {
  const { deps, result } = run
  let failed: string | undefined
  for (const s of steps.filter(st => st.output === 'store')) {
    const r = result.layers[s.name]
    if (r.status !== 'built') continue
    if (failed) {
      Object.assign(r, { status: 'failed', error: `not pushed: the push of ${failed} failed first` })
      continue
    }
    const started = Date.now()
    result.commands.push(['docker', 'push', '--quiet', '--', s.tags[0]])
    if (run.opts.dryRun) {
      deps.log.info(`Would push ${s.tags[0]} (${s.name}): docker push --quiet -- ${s.tags[0]}`)
      continue
    }
    deps.log.info(`Pushing ${s.tags[0]} (${s.name})`)
    const pushed = await deps.buildx.push(s.tags[0])
    const info = pushed.exitCode === 0 ? await deps.registry.inspect(s.tags[0]).catch(() => null) : null
    if (!info) {
      failed = s.name
      Object.assign(r, { status: 'failed', error: describeBuildFailure(pushed.lastErrorLine, s.image) })
      continue
    }
    const ref = `${s.tags[0]}@${info.digest}`
    const rest = s.tags.slice(1)
    const tagged = rest.length
      ? await deps.registry.retag(ref, rest).then(
          () => undefined,
          (e: Error) => e.message
        )
      : undefined
    if (tagged) {
      failed = s.name
      Object.assign(r, { status: 'failed', error: `pushed as ${ref}, but not tagged: ${tagged}` })
      continue
    }
    Object.assign(r, { ref, digest: info.digest, durationMs: (r.durationMs ?? 0) + Date.now() - started })
  }
}

async function restoreLocalCaches(
  run: Run,
  steps: LayerStep[],
  workspace: string,
  cache: LocalCache
): Promise<{ step: LayerStep; dir: string; key: string }[]> {
  const { opts } = run
  const withLocal = steps.filter(s => (run.layers.get(s.name) as LayerConfig).cache.includes('local'))
  return mapLimit(withLocal, 2, async step => {
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
}

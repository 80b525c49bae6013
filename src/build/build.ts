// executePlan(): every layer a step builds in one `docker buildx bake` session (SPEC 7), then the
// moving tags, only once every layer succeeded. The pure parts live in core/build-steps.ts (what
// each layer's target is), core/bake.ts (the definition, the command, which target failed) and
// core/progress.ts (the session's output split by target); each layer's step is prepared in
// prepare.ts, the session runs in bake-session.ts, promotion in promote.ts. Each part returns its
// layers' results (results.ts); this file folds them into the one BuildResult.
import type { Buildx, BuilderInfo } from '../adapters/buildx.js'
import { pushStored, runSession } from './bake-session.js'
import { splitAssembled } from './assemble-step.js'
import type { LayerStep, StepSettings } from '../core/build-steps.js'
import { movesOf } from '../core/build-steps.js'
import { completePlan } from '../core/plan.js'
import { sameInputsRetags } from '../core/same-inputs.js'
import type { BuildResult, EventContext, LayerResult, Logger, Plan, StrataConfig } from '../core/types.js'
import { parentRef, prepareSteps } from './prepare.js'
import type { Move, TagSnapshot } from './promote.js'
import { promote, snapshotTags } from './promote.js'
import { foldResults, initialResults, type Results } from './results.js'
import type { BuildDeps, BuildOptions, Run } from './types.js'

/** What the step did before its layers' outputs are known: everything in BuildResult but `pushed`. */
type Done = Omit<BuildResult, 'pushed'> & { assembledPushed?: Record<string, string[]> }

export async function executePlan(
  config: StrataConfig,
  plan: Plan,
  ctx: EventContext,
  opts: BuildOptions,
  deps: BuildDeps
): Promise<BuildResult> {
  const run: Run = {
    config,
    // The pipeline's plan is complete already; one made by decide() alone (the API, tests) is completed
    // here by the same function. From here on tags, parents and cache scope are read, never derived.
    plan: completePlan(plan, config, ctx),
    ctx,
    opts,
    deps,
    layers: new Map(config.layers.map(l => [l.name, l])),
    refs: new Map()
  }
  const results = initialResults(run.plan, config.order)
  const toBuild = config.order.filter(n => run.plan.layers[n]?.build && run.plan.layers[n].selected)
  // Layers that another step builds: their outputs name the image that step pushes (SPEC 4),
  // looked up side by side with the build.
  const others = otherRefs(run, results)
  // SPEC 4a: a layer reused by its inputs gets its tags at the end of the step, like a built one.
  const reused: Move[] =
    opts.push && !opts.pushByDigest
      ? sameInputsRetags(run.plan.layers).map(r => ({ layer: r.layer, source: r.source, tags: r.targets }))
      : []
  let done: Done
  if (toBuild.length === 0) {
    deps.log.info('Nothing to build in this step.')
    const before = snapshot(
      run,
      reused.flatMap(m => m.tags)
    )
    done = { commands: [], ...(await moveTags(run, [], reused, results, before)) }
  } else done = await buildLayers(run, toBuild, reused, results)
  return finish(run, done, toBuild, await others)
}

/** The layers of the step built (session, pushes, assembly), then their moving tags moved. */
async function buildLayers(run: Run, toBuild: string[], reused: Move[], initial: Results): Promise<Done> {
  const { deps, opts } = run
  const oci = ociOf(run)
  // SPEC 7a: layers the plan assembles go to the registry (beside the session when their parent is not
  // built in it, else after it); no builder is asked for when nothing is left to bake.
  const assembly = splitAssembled(run, toBuild, oci, n => parentRef(run, n))
  const now = assembly.independent(initial)
  const builder = assembly.baked.length ? await inspect(deps.buildx, opts, deps.log) : undefined
  const prepared = builder
    ? await prepareSteps(run, assembly.baked, builder, oci, initial)
    : { steps: [], texts: {}, results: [] }
  const steps = prepared.steps
  // Each moving tag's digest now, side by side with the build: the way back if a move fails.
  const before = snapshot(run, [
    ...steps.flatMap(s => s.moving),
    ...reused.flatMap(m => m.tags),
    ...assembly.moving
  ])
  let results = foldResults(initial, prepared.results)
  const session = builder ? await runSession(run, prepared, builder, results) : { results: [], commands: [] }
  results = foldResults(results, session.results)
  const stored = await pushStored(run, steps, results)
  results = foldResults(results, stored.results)
  const early = await now
  const late = await assembly.afterSession(results)
  results = foldResults(results, early.results, late.results)
  const ran: Done = {
    layers: results,
    commands: [...session.commands, ...stored.commands],
    ...('bake' in session && session.bake && { bake: session.bake }),
    assembledPushed: { ...early.pushed, ...late.pushed }
  }
  const failed = toBuild.filter(n => results[n].status === 'failed')
  if (failed.length) {
    for (const n of failed) deps.log.warning(`Layer ${n} failed: ${results[n].error}`)
    deps.log.warning('No moving tag moved: a layer of this step failed.')
    return { ...ran, failed: failed[0] }
  }
  return {
    ...ran,
    ...(await moveTags(run, steps, [...reused, ...early.moves, ...late.moves], results, before))
  }
}

/** Each layer another step builds: the image that step pushes, looked up beside the build (undefined: not found, warned). */
function otherRefs(run: Run, results: Results): Promise<[string, string | undefined][]> {
  const others = run.config.order.filter(n => results[n]?.status === 'not-selected')
  return Promise.all(
    others.map(n =>
      parentRef(run, n).then(
        ref => [n, ref] as [string, string | undefined],
        (e: Error) => {
          run.deps.log.warning(`${n}: ${e.message}`)
          return [n, undefined] as [string, string | undefined]
        }
      )
    )
  )
}

/** The one BuildResult: the layers' results with other steps' refs, and every digest this step pushed. */
function finish(
  run: Run,
  done: Done,
  toBuild: string[],
  others: [string, string | undefined][]
): BuildResult {
  const { assembledPushed, ...rest } = done
  const refs = others.flatMap(([n, ref]) => (ref === undefined ? [] : [{ ...done.layers[n], ref }]))
  const layers = foldResults(done.layers, refs)
  const built = run.opts.push
    ? toBuild.flatMap(n =>
        layers[n].status === 'built' && layers[n].digest ? [[n, [layers[n].digest]]] : []
      )
    : []
  const pushed = { ...assembledPushed, ...Object.fromEntries(built) }
  return { ...rest, layers, ...(Object.keys(pushed).length > 0 && { pushed }) }
}

/** The OCI labels' values for every image of the step (SPEC 7): repository URL, commit, build time. */
function ociOf(run: Run): StepSettings['oci'] {
  const { ctx, opts } = run
  return {
    source: `${opts.env.GITHUB_SERVER_URL ?? 'https://github.com'}/${ctx.owner}/${ctx.repo}`,
    revision: ctx.sha,
    created: ctx.time.toISOString()
  }
}

/** The tags' digests before any move (the way back), asked for side by side with the build. */
function snapshot(run: Run, tags: string[]): Promise<TagSnapshot> | undefined {
  if (!run.opts.push || run.opts.dryRun || tags.length === 0) return undefined
  const p = snapshotTags(run.deps.registry, tags)
  p.catch(() => undefined)
  return p
}

/**
 * Every layer built: move the moving tags (all or nothing), or in a dry run say what would move. After
 * a failed move: the layer whose tags did not move, with why, and which tags were put back.
 */
async function moveTags(
  run: Run,
  steps: LayerStep[],
  reused: Move[],
  results: Results,
  before?: Promise<TagSnapshot>
): Promise<Pick<BuildResult, 'layers' | 'failed' | 'promotion'>> {
  const { opts, deps } = run
  const built = Object.fromEntries(steps.map(s => [s.name, results[s.name]]))
  const moves = [...movesOf(steps, built), ...reused]
  if (opts.dryRun) {
    for (const s of steps.filter(s => s.moving.length)) {
      deps.log.info(`Would move ${s.moving.join(', ')} → ${results[s.name].ref ?? s.tags[0]}`)
    }
    for (const m of reused) deps.log.info(`Would move ${m.tags.join(', ')} → ${m.source}`)
    return { layers: { ...results } }
  }
  for (const m of moves) deps.log.info(`Moving ${m.tags.join(', ')} → ${m.source}`)
  if (!moves.length) return { layers: { ...results } }
  const promotion = await promote(deps.registry, moves, (await before) ?? new Map(), deps.log)
  if (!promotion.failed) return { layers: { ...results } }
  const { layer, error } = promotion.failed
  const restored = promotion.restored.length ? `; put back: ${promotion.restored.join(', ')}` : ''
  const left = promotion.leftMoved.length ? `; not put back: ${promotion.leftMoved.join(', ')}` : ''
  const r: LayerResult = { ...results[layer], error: `${error}${restored}${left}` }
  return {
    layers: foldResults(results, [r]),
    failed: layer,
    promotion: { restored: promotion.restored, leftMoved: promotion.leftMoved }
  }
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

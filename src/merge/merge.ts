// One runner per platform (issue 14), the side that talks to the registry. A platform step builds one
// platform of the plan's layers and pushes it by digest; `mode: merge` puts one image index of those
// digests under each layer's versioned tags (an index PUT: no build, no pull), then moves the moving
// tags, only once every layer's index is in place (SPEC 7). A missing platform merges and moves nothing.
import type { BuildResult } from '../core/types.js'
import { platformsOf } from '../core/buildx-args.js'
import type { MergeStep, PlatformDigest } from '../core/merge.js'
import { buildPlatforms, planMerge, platformSplit } from '../core/merge.js'
import type { PlanSettings } from '../core/settings.js'
import type { EventContext, Logger, Plan, Registry, StrataConfig } from '../core/types.js'

/** The merge step's settings (`platforms` overrides every layer's, as the platform steps had it), push resolved. */
export interface MergeOptions extends Pick<PlanSettings, 'platforms' | 'dryRun'> {
  /** The platform steps' digests (the `digests` input). */
  digests: PlatformDigest[]
  /** `push` resolved for this event (auto: not for a pull request from a fork). */
  push: boolean
}

/** The layers of the plan with their status in a step that builds (or merges) `selected` ones. */
function initialResult(config: StrataConfig, plan: Plan): BuildResult {
  const result: BuildResult = { layers: {}, commands: [] }
  for (const name of config.order) {
    const d = plan.layers[name]
    if (!d) continue
    const status = !d.build ? 'reused' : d.selected ? 'built' : 'not-selected'
    result.layers[name] = { name, status, ref: d.ref, reasons: [...d.reasons] }
  }
  return result
}

/**
 * `mode: merge`. Throws before touching the registry when a digest is missing, extra or contradictory.
 * A failed index PUT is recorded on its layer (`failed`) and then no moving tag moves at all; a failed
 * tag move is recorded on its layer.
 */
export async function mergePlatforms(
  config: StrataConfig,
  plan: Plan,
  ctx: EventContext,
  opts: MergeOptions,
  deps: { registry: Registry; log: Logger }
): Promise<BuildResult> {
  const { registry, log } = deps
  if (!opts.push) {
    throw new Error(
      'mode: merge puts an image index in the registry, but this run does not push (push: false, or a pull ' +
        'request from a fork): build every platform in one job instead'
    )
  }
  const planned = planMerge({ config, plan, ctx, digests: opts.digests, platforms: opts.platforms })
  if ('errors' in planned) {
    throw new Error(`nothing merged, no tag moved: ${planned.errors.join('; ')}`)
  }
  const putIndex = registry.putIndex.bind(registry)
  const result = initialResult(config, plan)
  for (const s of planned.steps) {
    const parts = s.manifests.map(m => `${m.platform} ${m.digest}`).join(', ')
    log.info(`${opts.dryRun ? 'Would put' : 'Putting'} an index of ${parts} under ${s.versioned.join(', ')}`)
  }
  if (opts.dryRun) {
    for (const s of planned.steps) {
      if (s.moving.length) log.info(`Would then move ${s.moving.join(', ')} to it`)
      result.layers[s.layer].ref = s.versioned[0]
    }
    return result
  }

  const put = await Promise.allSettled(planned.steps.map(s => putIndex(s.manifests, s.versioned)))
  put.forEach((o, i) => {
    const { layer, versioned } = planned.steps[i]
    const r = result.layers[layer]
    if (o.status === 'fulfilled') Object.assign(r, { ref: `${versioned[0]}@${o.value}`, digest: o.value })
    else {
      Object.assign(r, { status: 'failed', ref: undefined, error: `index not put: ${errorText(o.reason)}` })
      result.failed ??= layer
      log.warning(`${layer}: ${r.error}`)
    }
  })
  if (result.failed) {
    log.warning('No moving tag moved: the index of a layer of this step could not be put.')
    return result
  }

  await moveTags(planned.steps, result, deps)
  return result
}

/** Every layer's index is in place: move each layer's moving tags to it, side by side. */
async function moveTags(
  steps: MergeStep[],
  result: BuildResult,
  { registry, log }: { registry: Registry; log: Logger }
): Promise<void> {
  const moves = steps.filter(s => s.moving.length)
  const moved = await Promise.allSettled(
    moves.map(s => {
      const source = result.layers[s.layer].ref as string
      log.info(`Moving ${s.moving.join(', ')} → ${source}`)
      return registry.retag(source, s.moving)
    })
  )
  moved.forEach((o, i) => {
    if (o.status === 'fulfilled') return
    const { layer } = moves[i]
    result.layers[layer].error = `moving tags not moved: ${errorText(o.reason)}`
    result.failed ??= layer
    log.warning(`${layer}: ${result.layers[layer].error}`)
  })
}

/**
 * A platform step (`platform` input) before it builds: it follows a plan, pushes, and every layer it
 * builds is built for that platform. Returns why not, or undefined.
 */
export function platformStepProblem(
  config: StrataConfig,
  plan: Plan,
  s: { platform: string; plan?: string; push: boolean; platforms?: string[] }
): string | undefined {
  const fix = 'or build every platform in one job (no `platform` input)'
  if (!s.plan) {
    return (
      `the platform input (${s.platform}) needs the \`plan\` input: every platform job must follow the ` +
      `plan of one \`mode: plan\` step, ${fix}`
    )
  }
  if (!s.push) {
    return (
      `the platform input (${s.platform}) pushes the image by digest for a \`mode: merge\` step, but this ` +
      `run does not push (push: false, or a pull request from a fork); ${fix}`
    )
  }
  for (const l of config.layers) {
    const d = plan.layers[l.name]
    const platforms = platformsOf(l, s.platforms)
    if (d?.build && d.selected && !platforms.includes(s.platform)) {
      return `layer "${l.name}" is built for ${platforms.join(', ')}, not ${s.platform}: pass one of them as \`platform\``
    }
  }
  return undefined
}

/**
 * The outputs of a platform step: `digests`, layer → platform → the platform manifest's digest of
 * every layer built, and `digest`, that of the one layer built (empty when several or none were).
 */
export function platformStepOutputs(
  build: BuildResult,
  platform: string
): { digests: string; digest: string } {
  const digests: Record<string, Record<string, string>> = {}
  for (const r of Object.values(build.layers)) {
    if (r.status === 'built' && r.digest) digests[r.name] = { [platform]: r.digest }
  }
  const built = Object.values(digests)
  return { digests: JSON.stringify(digests), digest: built.length === 1 ? built[0][platform] : '' }
}

/**
 * The `platforms` and `matrix` outputs: the platforms of the layers this step builds, and, when
 * `runners` maps every one of several platforms and the run pushes, one matrix entry per platform.
 */
export function platformOutputs(
  config: StrataConfig,
  plan: Plan,
  s: { platforms?: string[]; runners: Record<string, string>; push: boolean },
  log: Logger
): { platforms: string; matrix: string } {
  const platforms = buildPlatforms(config, plan, s.platforms)
  const split = platformSplit(platforms, s.runners, s.push)
  if (split.split) {
    const list = split.matrix.include.map(e => `${e.platform} on ${e.runner}`).join(', ')
    log.info(`One job per platform: ${list}`)
  } else if (Object.keys(s.runners).length && platforms.length > 1) {
    // Runners were asked for but cannot be used: say why, the layer builds in one job (QEMU).
    log.warning(`every platform builds in one job (QEMU): ${split.why}`)
  }
  return { platforms: JSON.stringify(platforms), matrix: split.split ? JSON.stringify(split.matrix) : '' }
}

function errorText(e: unknown): string {
  return e instanceof Error ? e.message : String(e)
}

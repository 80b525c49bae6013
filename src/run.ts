// The one dispatch shared by the action (main.ts) and the CLI (cli.ts): the mode the settings name,
// plan → (build) one session and promotion, (merge) platform digests → index, or (cleanup) retention.
import { loadConfig } from './adapters/config-file.js'
import { ATTEST_PERMISSIONS, attestPushed, pushedImages } from './attest-pushed.js'
import type { BuildOptions } from './build/types.js'
import { executePlan } from './build/build.js'
import { runCleanup } from './cleanup/cleanup.js'
import type { CleanupSettings, PlanSettings, RunSettings } from './core/settings.js'
import { knownDefaultBranch, MERGE_NEEDS_PLAN } from './core/settings.js'
import type { BuildResult, Plan, StrataConfig } from './core/types.js'
import { mergePlatforms, platformStepProblem } from './merge/merge.js'
import type { LocalCache } from './adapters/cache.js'
import type { CleanupDeps } from './cleanup/cleanup.js'
import type { PlanDeps, PlanOutcome } from './plan/make-plan.js'
import { assemblies, externalPins, makePlan, strataLabels } from './plan/make-plan.js'

export type RunOutcome =
  | ({ mode: 'plan' } & PlanOutcome)
  | ({ mode: 'build'; build: BuildResult } & PlanOutcome)
  | ({ mode: 'merge'; build: BuildResult } & PlanOutcome)
  | { mode: 'cleanup'; config: StrataConfig; cleanup: Awaited<ReturnType<typeof runCleanup>> }

/** Every adapter one run uses, created once by wire() (src/wiring.ts). */
export interface PipelineDeps extends PlanDeps {
  /** Mode build: the `local` cache kind's store. */
  cache?: LocalCache
  /** Mode cleanup: the registry and GitHub clients, per image. */
  cleanup?: CleanupDeps
}

/** Runs the mode the settings name: inputs → makeSettings → wire → here. */
export async function runPipeline(s: RunSettings, deps: PipelineDeps): Promise<RunOutcome> {
  if (s.mode === 'cleanup') return cleanupMode(s, deps)
  // makeSettings() refuses this first; settings made another way (tests, a library caller) meet it here.
  if (s.mode === 'merge' && !s.plan) throw new Error(MERGE_NEEDS_PLAN)
  const planned = await makePlan(s, deps)
  if (s.mode === 'plan') return { mode: 'plan', ...planned }
  // SPEC 8: a decision that is unknown builds nothing, not even the layers that are known.
  const unknown = unknownProblem(planned.plan)
  if (unknown) throw new Error(unknown)
  const attest = signer(s, planned, deps)
  if (s.mode === 'merge') {
    const opts = { ...s, digests: s.digests ?? [], push: planned.push }
    const build = await mergePlatforms(planned.config, planned.plan, planned.ctx, opts, deps)
    return { mode: 'merge', build: await attest(build), ...planned }
  }
  return { mode: 'build', build: await attest(await buildMode(s, planned, deps)), ...planned }
}

/** Mode cleanup: the config's retention rules, with the clients wire() made. */
async function cleanupMode(s: CleanupSettings, deps: PipelineDeps): Promise<RunOutcome> {
  const config = await loadConfig(s.configPath, s.workspace, deps.log)
  if (!deps.cleanup) throw new Error('mode cleanup needs its registry clients (wiring.ts cleanupClients())')
  const cleanup = await runCleanup(
    config,
    { ...s, defaultBranch: knownDefaultBranch(s) },
    deps.log,
    deps.cleanup
  )
  return { mode: 'cleanup', config, cleanup }
}

/**
 * SPEC 4b: what signs a finished build's pushed images (nothing when the run does not push, is dry or
 * says `attest: false`); `attest: true` without an OIDC token fails here, before anything is built.
 */
function signer(
  s: PlanSettings,
  planned: PlanOutcome,
  deps: PipelineDeps
): (build: BuildResult) => Promise<BuildResult> {
  const signs = planned.push && !s.dryRun && s.attest !== false
  if (signs && s.attest === true && !deps.attester)
    throw new Error(`attest: true, but this job cannot request an OIDC token: ${ATTEST_PERMISSIONS}`)
  return async build => {
    if (signs && !build.failed)
      await attestPushed(
        pushedImages(planned.config, build.layers),
        s.attest ?? 'auto',
        deps.attester,
        deps.log
      )
    return build
  }
}

/** Mode build: a platform step's checks, then one build of the plan's layers (build/build.ts). */
async function buildMode(s: PlanSettings, planned: PlanOutcome, deps: PipelineDeps): Promise<BuildResult> {
  if (!deps.buildx) throw new Error('mode build needs docker buildx (no Buildx adapter was given)')
  if (s.platform) {
    const problem = platformStepProblem(planned.config, planned.plan, {
      ...s,
      platform: s.platform,
      push: planned.push
    })
    if (problem) throw new Error(problem)
  }
  // A platform step builds that platform alone and pushes it by digest, without tags (build/build.ts).
  const opts: BuildOptions = {
    push: planned.push,
    dryRun: s.dryRun,
    builder: s.builder,
    platforms: s.platform ? [s.platform] : s.platforms,
    buildArgs: s.buildArgs,
    runnerTemp: s.runnerTemp,
    env: s.buildEnv,
    workspace: s.workspace,
    secretValues: s.buildEnv,
    inputLabels: strataLabels(planned),
    externals: externalPins(planned),
    assemblies: assemblies(planned),
    ...(s.platform && { pushByDigest: true })
  }
  return executePlan(planned.config, planned.plan, planned.ctx, opts, {
    buildx: deps.buildx,
    registry: deps.registry,
    log: deps.log,
    cache: deps.cache,
    ...(deps.images && { images: deps.images }),
    ...(deps.git && { git: deps.git })
  })
}

/** SPEC 8: why the plan cannot be acted on (a registry that could not be read), or undefined. */
export function unknownProblem(plan: Plan): string | undefined {
  if (!Object.values(plan.layers).some(d => d.unknown)) return undefined
  return (plan.unreadable ?? ['a registry could not be read, so a decision is unknown']).join('\n')
}

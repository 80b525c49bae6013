// The one dispatch shared by the action (main.ts) and the CLI (cli.ts): the mode the settings name,
// plan → (build) one session and promotion, (merge) platform digests → index, or (cleanup) retention.
import { loadConfig } from './adapters/config-file.js'
import { ATTEST_PERMISSIONS, attestPushed, pushedImages } from './attest-pushed.js'
import type { BuildOptions } from './build/types.js'
import { executePlan } from './build/build.js'
import { runCleanup } from './cleanup/cleanup.js'
import type { RunSettings } from './core/settings.js'
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

/** Runs the mode the settings name. */
export async function runPipeline(s: RunSettings, deps: PipelineDeps): Promise<RunOutcome> {
  if (s.mode === 'cleanup') {
    const config = await loadConfig(s.configPath, s.workspace, deps.log)
    const cleanup = await runCleanup(
      config,
      { ...s, defaultBranch: knownDefaultBranch(s) },
      deps.log,
      deps.cleanup
    )
    return { mode: 'cleanup', config, cleanup }
  }
  // makeSettings() refuses this first; settings made another way (tests, a library caller) meet it here.
  if (s.mode === 'merge' && !s.plan) throw new Error(MERGE_NEEDS_PLAN)
  const planned = await makePlan(s, deps)
  if (s.mode === 'plan') return { mode: 'plan', ...planned }
  // SPEC 8: a decision that is unknown builds nothing, not even the layers that are known.
  const unknown = unknownProblem(planned.plan)
  if (unknown) throw new Error(unknown)
  // SPEC 4b: `attest: true` without an OIDC token fails before anything is built.
  const signs = planned.push && !s.dryRun && s.attest !== false
  if (signs && s.attest === true && !deps.attester)
    throw new Error(`attest: true, but this job cannot request an OIDC token: ${ATTEST_PERMISSIONS}`)
  const attest = async (build: BuildResult): Promise<BuildResult> => {
    if (signs && !build.failed)
      await attestPushed(
        pushedImages(planned.config, build.layers),
        s.attest ?? 'auto',
        deps.attester,
        deps.log
      )
    return build
  }
  if (s.mode === 'merge') {
    const opts = { ...s, digests: s.digests ?? [], push: planned.push }
    const build = await attest(await mergePlatforms(planned.config, planned.plan, planned.ctx, opts, deps))
    return { mode: 'merge', build, ...planned }
  }
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
  const build = await executePlan(planned.config, planned.plan, planned.ctx, opts, {
    buildx: deps.buildx,
    registry: deps.registry,
    log: deps.log,
    cache: deps.cache,
    ...(deps.images && { images: deps.images }),
    ...(deps.git && { git: deps.git })
  })
  return { mode: 'build', build: await attest(build), ...planned }
}

/** SPEC 8: why the plan cannot be acted on (a registry that could not be read), or undefined. */
export function unknownProblem(plan: Plan): string | undefined {
  if (!Object.values(plan.layers).some(d => d.unknown)) return undefined
  return (plan.unreadable ?? ['a registry could not be read, so a decision is unknown']).join('\n')
}

// The pipeline shared by the action (main.ts) and the CLI (cli.ts): config → event → changes →
// registry look-ups → decision → (build mode) build, or (cleanup mode) retention.
import type { Buildx } from './adapters/buildx.js'
import { loadConfig } from './adapters/config-file.js'
import type { BuildResult } from './build.js'
import { executePlan } from './build.js'
import type { ChangeDeps } from './changes.js'
import { detectChanges } from './changes.js'
import { runCleanup } from './cleanup.js'
import { changedPaths } from './core/changes.js'
import { describeRange, diffRange, readEvent } from './core/event.js'
import type { RunnerEnv } from './core/event.js'
import type { Mode, PushSetting } from './core/inputs-parse.js'
import { resolvePush } from './core/inputs-parse.js'
import { decide, describePlan, followPlan, parsePlanInput, pinReused } from './core/plan.js'
import { layerTags, parentLayers } from './core/tags.js'
import type {
  ChangeSet,
  DiffRange,
  EventContext,
  Logger,
  Plan,
  Registry,
  StrataConfig
} from './core/types.js'

/** Everything one run needs, already read from inputs (action) or flags (CLI). */
export interface RunSettings {
  mode: Mode
  /** Repository root; the config, Dockerfiles and contexts are relative to it. */
  workspace: string
  /** The layer config, relative to the workspace. */
  configPath: string
  eventName: string
  payload: unknown
  env: RunnerEnv
  now: Date
  /** The layers this step may build; undefined: all. */
  layers?: string[]
  /** A plan (JSON) to follow instead of deciding again. */
  plan?: string
  force: string[] | 'all'
  push: PushSetting
  /** Override the commits compared (a sha or, in the CLI, any git revision already resolved to a sha). */
  base?: string
  head?: string
  platforms?: string[]
  buildArgs: Record<string, string>
  builder?: string
  dryRun: boolean
  /** Scratch directory (metadata files, local cache). */
  runnerTemp: string
  /** Environment for the builds (the runner's ACTIONS_* for gha cache, GITHUB_SERVER_URL). */
  buildEnv: Record<string, string | undefined>
  /** mode cleanup */
  maxDeletions: number
  token?: string
  apiUrl?: string
  /** `owner/repo` (GITHUB_REPOSITORY), whose pull requests cleanup asks about. */
  repository?: string
}

export interface PipelineDeps {
  log: Logger
  registry: Registry
  /** Needed by mode build only. */
  buildx?: Buildx
  github?: ChangeDeps['github']
  git?: ChangeDeps['git']
}

export interface PlanOutcome {
  config: StrataConfig
  ctx: EventContext
  range: DiffRange
  /** undefined when a `plan` input was followed (the changes were read by the step that made it). */
  changes?: ChangeSet
  plan: Plan
  /** Whether this step pushes (the `push` setting resolved for the event). */
  push: boolean
}

export type RunOutcome =
  | ({ mode: 'plan' } & PlanOutcome)
  | ({ mode: 'build'; build: BuildResult } & PlanOutcome)
  | { mode: 'cleanup'; config: StrataConfig; cleanup: Awaited<ReturnType<typeof runCleanup>> }

/** Runs the mode the settings name. */
export async function runPipeline(s: RunSettings, deps: PipelineDeps): Promise<RunOutcome> {
  if (s.mode === 'cleanup') {
    const config = await loadConfig(s.configPath, s.workspace)
    const cleanup = await runCleanup(
      config,
      {
        dryRun: s.dryRun,
        maxDeletions: s.maxDeletions,
        token: s.token,
        apiUrl: s.apiUrl,
        now: s.now,
        repository: s.repository
      },
      deps.log
    )
    return { mode: 'cleanup', config, cleanup }
  }
  const planned = await makePlan(s, deps)
  if (s.mode === 'plan') return { mode: 'plan', ...planned }
  if (!deps.buildx) throw new Error('mode build needs docker buildx (no Buildx adapter was given)')
  const build = await executePlan(
    planned.config,
    planned.plan,
    planned.ctx,
    {
      push: planned.push,
      dryRun: s.dryRun,
      builder: s.builder,
      platforms: s.platforms,
      buildArgs: s.buildArgs,
      runnerTemp: s.runnerTemp,
      env: s.buildEnv,
      secretValues: process.env,
      workspace: s.workspace
    },
    { buildx: deps.buildx, registry: deps.registry, log: deps.log }
  )
  return { mode: 'build', build, ...planned }
}

/** Config, event, changes and registry → the plan, logged in words (SPEC 3 and 8). */
export async function makePlan(s: RunSettings, deps: PipelineDeps): Promise<PlanOutcome> {
  const { log } = deps
  const config = await loadConfig(s.configPath, s.workspace)
  const ctx = readEvent(s.eventName, s.payload, s.env, s.now)
  const range = overrideRange(diffRange(s.eventName, s.payload, ctx), ctx, s.base, s.head)
  const push = resolvePush(s.push, ctx.pr)

  // Before anything else: the event, the commits compared, then where the list came from.
  const where = ctx.owner ? ` in ${ctx.owner}/${ctx.repo}` : ''
  log.info(
    `Event: ${ctx.eventName} on ${ctx.ref || '(no ref)'}${where}, commit ${ctx.sha.slice(0, 7) || '?'}`
  )
  const overridden = s.base || s.head ? ' (base/head given)' : ''
  log.info(`Compare: ${describeRange(range)}${overridden}`)

  if (s.plan) {
    const plan = followPlan(parsePlanInput(s.plan), s.layers)
    log.info(
      `Following the given plan (event ${plan.event || '?'}, ${plan.changes.count} changed files from ` +
        `${plan.changes.source}): no new decision`
    )
    checkPlanLayers(plan, config)
    // The plan was decided with its own step's inputs: say so rather than drop these silently.
    const unused = [
      ...(s.force === 'all' || s.force.length ? ['force'] : []),
      ...(s.base ? ['base'] : []),
      ...(s.head ? ['head'] : [])
    ].map(n => `\`${n}\``)
    if (unused.length) {
      const names = unused.length > 1 ? `${unused.slice(0, -1).join(', ')} and ${unused.at(-1)}` : unused[0]
      log.warning(
        `the ${names} ${unused.length > 1 ? 'inputs are' : 'input is'} not used: this step follows the \`plan\` ` +
          'input, decided with the inputs of its `mode: plan` step (give them there)'
      )
    }
    describePlan(plan, config).forEach(l => log.info(l))
    return { config, ctx, range, plan, push }
  }

  const deleted = range.kind === 'deleted'
  const stable = stableRefs(config, ctx)
  // Registry and builder look-ups need no diff: start them now, while the API lists the changes
  // (both adapters memoize, so the awaited calls below reuse these; errors are reported there).
  if (!deleted) Object.values(stable).forEach(ref => deps.registry.inspect(ref).catch(() => undefined))
  if (s.mode === 'build' && !s.dryRun) deps.buildx?.inspectBuilder(s.builder).catch(() => undefined)

  const changes = await detectChanges(ctx, range, { github: deps.github, git: deps.git, log })
  log.info(`Changed files: ${describeChanges(changes, range)}`)

  // Every stable tag at once, each once: the registry adapter memoizes and runs them side by side.
  const found = deleted ? {} : await lookUp(deps.registry, stable, log)
  const stableExists: Record<string, boolean> = {}
  for (const [name, info] of Object.entries(found)) if (info !== undefined) stableExists[name] = info !== null

  const decided = decide({ config, ctx, changes, force: s.force, selected: s.layers, stableExists, deleted })
  const plan = pinReused(decided, Object.fromEntries(Object.entries(found).map(([n, i]) => [n, i?.digest])))
  describePlan(plan, config).forEach(l => log.info(l))
  return { config, ctx, range, changes, plan, push }
}

/** The paths the plan was made from (renamed files under both paths). */
export function planPaths(outcome: { changes?: ChangeSet }): string[] {
  return outcome.changes ? changedPaths(outcome.changes.files) : []
}

/**
 * `base`/`head` inputs replace the event's commits; the diff then is a plain compare. A deleted branch
 * still builds nothing, and a head alone keeps a new branch (or first push) compared as the event says.
 */
export function overrideRange(range: DiffRange, ctx: EventContext, base?: string, head?: string): DiffRange {
  if ((!base && !head) || range.kind === 'deleted') return range
  if (!base && head && (range.kind === 'new-branch' || range.kind === 'first-push')) return { ...range, head }
  const eventHead = 'head' in range ? range.head : ctx.sha
  const eventBase = 'base' in range ? range.base : undefined
  const b = base ?? eventBase
  const h = head ?? eventHead
  if (!b) return { kind: 'none', why: `the event has no base commit; give the \`base\` input with \`head\`` }
  return { kind: 'compare', base: b, head: h }
}

export function describeChanges(c: ChangeSet, range?: DiffRange): string {
  const n = changedPaths(c.files).length
  // A new branch's base commit (the merge base) is known only now: the Compare line named a branch.
  const since = range?.kind === 'new-branch' && c.base ? ` since merge base ${c.base.slice(0, 7)}` : ''
  const count = `${n} ${n === 1 ? 'file' : 'files'}${since}`
  const note = c.note ? ` (${c.note})` : ''
  switch (c.source) {
    case 'api':
      return `${count} from the GitHub API${note}`
    case 'git':
      return `${count} from git diff${note}`
    case 'none':
      return `none: this event has no diff${note}`
    case 'unknown':
      return `unknown${note}: every layer builds`
  }
}

/** `image:stable-tag` of every layer, in config order. */
export function stableRefs(config: StrataConfig, ctx: EventContext): Record<string, string> {
  const parents = parentLayers(config.layers)
  const refs: Record<string, string> = {}
  for (const l of config.layers) {
    refs[l.name] = `${l.image}:${layerTags(l, ctx, { isLeaf: !parents.has(l.name) }).stable}`
  }
  return refs
}

/** name → image (found), null (no such tag), undefined (look-up failed: warned, decided without it). */
async function lookUp(
  registry: Registry,
  refs: Record<string, string>,
  log: Logger
): Promise<Record<string, { digest: string } | null | undefined>> {
  const names = Object.keys(refs)
  const settled = await Promise.allSettled(names.map(n => registry.inspect(refs[n])))
  const out: Record<string, { digest: string } | null | undefined> = {}
  settled.forEach((r, i) => {
    if (r.status === 'fulfilled') out[names[i]] = r.value
    else {
      const why = r.reason instanceof Error ? r.reason.message : String(r.reason)
      log.warning(`${names[i]}: ${why}; deciding without knowing whether ${refs[names[i]]} exists`)
      out[names[i]] = undefined
    }
  })
  return out
}

/** A followed plan must be of this config: a renamed layer would otherwise silently not build. */
function checkPlanLayers(plan: Plan, config: StrataConfig): void {
  const missing = config.order.filter(n => !(n in plan.layers))
  if (missing.length) {
    throw new Error(
      `the plan input has no layer ${missing.map(n => `"${n}"`).join(', ')} of ${config.file}: ` +
        'pass the `plan` output of a `mode: plan` step that read the same config'
    )
  }
}

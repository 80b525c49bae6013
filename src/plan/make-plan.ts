// Mode plan, and the first half of build and merge: config → Dockerfiles → event → changes →
// registry look-ups → decision → same-inputs reuse, logged in words (SPEC 3, 3a, 4, 4a, 8).
import type { Attester } from '../adapters/attest.js'
import type { AttestationFinder } from '../adapters/attestations.js'
import type { Buildx } from '../adapters/buildx.js'
import { loadConfig } from '../adapters/config-file.js'
import type { ContentIds } from '../adapters/content-ids.js'
import type { WorkspaceFiles } from '../adapters/workspace-files.js'
import type { ImageStore } from '../adapters/registry-images.js'
import { ASSEMBLED, withAssembly, type Assembly } from '../core/assemble.js'
import { changedPaths } from '../core/changes.js'
import { describeRange, diffRange, readEvent } from '../core/event.js'
import { requirePullRequest } from '../core/event-check.js'
import { resolvePush } from '../core/inputs-parse.js'
import type { LayerReads } from '../core/layer-reads.js'
import { completePlan, decide, describePlan, followPlan, parsePlanInput, pinReused } from '../core/plan.js'
import { checkPlan } from '../core/plan-check.js'
import { inputLabels } from '../core/same-inputs.js'
import type { ExternalPin } from '../core/build-steps.js'
import type { PlanSettings } from '../core/settings.js'
import type {
  ChangeSet,
  DiffRange,
  EventContext,
  Logger,
  Plan,
  Registry,
  StrataConfig
} from '../core/types.js'
import type { ChangeDeps } from './changes.js'
import { checkedLayerReads } from './layer-reads.js'
import type { LayerMaterial } from './reuse.js'
import { applySameInputs } from './reuse.js'
import { lookUpAll } from './look-ups.js'
import { markUnknown } from './unreadable.js'

// Where callers always found them.
export { describeChanges } from './look-ups.js'

/** What making the plan reads from the world. */
export interface PlanDeps {
  log: Logger
  registry: Registry
  /** Needed by mode build only. */
  buildx?: Buildx
  github?: ChangeDeps['github']
  git?: ChangeDeps['git']
  /** SPEC 4a: content ids of the input files as the build reads them; absent: no same-inputs reuse. */
  contentIds?: ContentIds
  /** SPEC 4b: finds and verifies attestations; absent: no image that needs one is reused. */
  attestations?: AttestationFinder
  /** SPEC 4b: signs pushed images; absent: the job cannot request an OIDC token. */
  attester?: Attester
  /** The workspace as BuildKit reads it: Dockerfiles, contexts, tracked files (SPEC 3a). */
  files: WorkspaceFiles
  /** SPEC 7a: writes images to the registry; absent: no layer is assembled. */
  images?: ImageStore
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
  /** SPEC 3a: what each layer reads, and the images it names that are not layers. */
  reads: LayerReads
}

/** What every plan starts from: the config, what its layers read, the event and the commits compared. */
interface Ground {
  config: StrataConfig
  reads: LayerReads
  ctx: EventContext
  range: DiffRange
  push: boolean
}

/** Config, event, changes and registry → the plan, logged in words (SPEC 3 and 8). */
export async function makePlan(s: PlanSettings, deps: PlanDeps): Promise<PlanOutcome> {
  const g = await groundOf(s, deps)
  const { plan, changes } = s.plan
    ? { plan: followGiven(s.plan, s, g, deps.log), changes: undefined }
    : await decideNew(s, g, deps)
  // The last step: what the build needs besides the decision (parents and their pinned images, cache
  // scope, input tags, what each Dockerfile says), carried by the plan so that no later step derives it.
  const carried = withDockerfiles(completePlan(plan, g.config, g.ctx), g.reads)
  describePlan(carried, g.config).forEach(l => deps.log.info(l))
  const { config, ctx, range, push, reads } = g
  return { config, ctx, range, ...(changes && { changes }), plan: carried, push, reads }
}

/** The config, its layers' reads (checked before anything else), the event, and the log's first lines. */
async function groundOf(s: PlanSettings, deps: PlanDeps): Promise<Ground> {
  // SPEC 4a's content ids need git's index: read beside the config, the Dockerfiles and the look-ups.
  if (!s.plan) deps.contentIds?.prefetch()
  const config = await loadConfig(s.configPath, s.workspace, deps.log)
  // SPEC 3a: the Dockerfiles are read and checked before any registry look-up or build.
  const buildx = deps.buildx
  const reads = await checkedLayerReads(config, s.buildArgs, deps.files, {
    platforms: s.platforms,
    // BUILDPLATFORM is the builder's own (it may run elsewhere): asked only when a Dockerfile reads it.
    ...(buildx && { builderPlatforms: async () => (await buildx.inspectBuilder(s.builder)).platforms })
  })
  // A pull request event without its pull request is refused: it would push as if not from a fork.
  requirePullRequest(s.eventName, s.payload)
  const ctx = readEvent(s.eventName, s.payload, s.env, s.now)
  const range = overrideRange(diffRange(s.eventName, s.payload, ctx), ctx, s.base, s.head)
  // Before anything else: the event, the commits compared, then where the list came from.
  const where = ctx.owner ? ` in ${ctx.owner}/${ctx.repo}` : ''
  deps.log.info(
    `Event: ${ctx.eventName} on ${ctx.ref || '(no ref)'}${where}, commit ${ctx.sha.slice(0, 7) || '?'}`
  )
  const overridden = s.base || s.head ? ' (base/head given)' : ''
  deps.log.info(`Compare: ${describeRange(range)}${overridden}`)
  return { config, reads, ctx, range, push: resolvePush(s.push, ctx.pr) }
}

/** A `plan` input: untrusted, so checked against this config and event before anything follows it. */
function followGiven(json: string, s: PlanSettings, g: Ground, log: Logger): Plan {
  const plan = followPlan(parsePlanInput(json), s.layers)
  checkPlan(plan, g.config, g.ctx, g.range.kind === 'deleted')
  log.info(
    `Following the given plan (event ${plan.event || '?'}, ${plan.changes.count} changed files from ` +
      `${plan.changes.source}): no new decision`
  )
  g.reads.warnings.forEach(w => log.warning(w))
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
  return withAssembly(plan, g.config, g.reads.assembly, { push: g.push, pushByDigest: !!s.platform })
}

/** SPEC 3, 4, 4a, 7a and 8: changes and registry look-ups → decision → reuse → unknown → assembly. */
async function decideNew(
  s: PlanSettings,
  g: Ground,
  deps: PlanDeps
): Promise<{ plan: Plan; changes: ChangeSet }> {
  const { config, ctx, range, reads } = g
  const deleted = range.kind === 'deleted'
  const { changes, found, externals, unreadable } = await lookUpAll(g, deps)
  const stableExists: Record<string, boolean> = {}
  for (const [name, info] of Object.entries(found)) if (info !== undefined) stableExists[name] = info !== null
  const inputs = reads.inputs
  const decided = decide({
    config,
    ctx,
    changes,
    force: s.force,
    selected: s.layers,
    stableExists,
    deleted,
    inputs
  })
  const assembly = { push: g.push, pushByDigest: !!s.platform }
  // The builder is asked for side by side with the rest of the plan, unless every layer that builds is
  // assembled in the registry (SPEC 7a: no docker process then).
  const paths = withAssembly(decided, config, reads.assembly, assembly)
  const bakes = Object.values(paths.layers).some(d => d.build && d.selected && d.assembly !== ASSEMBLED)
  if (s.mode === 'build' && !s.dryRun && bakes) deps.buildx?.inspectBuilder(s.builder).catch(() => undefined)
  const images = Object.keys(externals)
  if (images.length) {
    const shown = images.map(i => (externals[i] ? `${i} (${externals[i].slice(0, 19)}…)` : i))
    deps.log.info(`External images: ${shown.join(', ')}`)
  }
  const withExternals = images.length ? { ...decided, externals } : decided
  // A reused layer is pinned to the digest its stable tag had now, for the whole run.
  const pinned = pinReused(
    withExternals,
    Object.fromEntries(Object.entries(found).map(([n, i]) => [n, i?.digest]))
  )
  const reused = deps.contentIds
    ? await applySameInputs(
        pinned,
        config,
        ctx,
        layerMaterial(reads, externals),
        { workspace: s.workspace, buildArgs: s.buildArgs, platforms: s.platforms, trust: s.trust },
        {
          registry: deps.registry,
          contentIds: deps.contentIds,
          log: deps.log,
          unreadable,
          attestations: deps.attestations,
          images: deps.images
        }
      )
    : pinned
  // SPEC 8: a layer whose look-up failed is unknown, never "reuse"; the step says so and fails.
  // SPEC 7a: which building layers are assembled in the registry, and why the others are not.
  const plan = withAssembly(markUnknown(reused, config, unreadable), config, reads.assembly, assembly)
  return { plan, changes }
}

/** SPEC 3a: what the build needs of each layer's Dockerfile, from the reads the plan step made. */
function withDockerfiles(plan: Plan, reads: LayerReads): Plan {
  const facts = reads.dockerfiles ?? {}
  const layers: Plan['layers'] = {}
  for (const [name, d] of Object.entries(plan.layers))
    layers[name] = facts[name] && !d.dockerfile ? { ...d, dockerfile: facts[name] } : d
  return { ...plan, layers }
}

/** SPEC 4a's labels of every layer whose input digest the plan knows, with its own external images. */
export function strataLabels(p: PlanOutcome): Record<string, Record<string, string>> {
  const out: Record<string, Record<string, string>> = {}
  for (const [name, d] of Object.entries(p.plan.layers)) {
    if (d.inputs)
      out[name] = inputLabels(d.inputs, layerExternals(p.reads, name, p.plan.externals ?? {}), p.ctx)
  }
  return out
}

/**
 * SPEC 7: per layer, its external images pinned to the digests the plan resolved (`# syntax=` marked),
 * for the bake definition; an image the plan could not resolve is left as written.
 */
export function externalPins(p: PlanOutcome): Record<string, ExternalPin[]> {
  const digests = p.plan.externals ?? {}
  const out: Record<string, ExternalPin[]> = {}
  for (const [name, uses] of Object.entries(p.reads.externals)) {
    out[name] = uses.flatMap(u =>
      digests[u.image] ? [{ ref: u.image, digest: digests[u.image], frontend: u.keyword === '# syntax' }] : []
    )
  }
  return out
}

/** What SPEC 4a hashes per layer: the files it reads (section 3a) and its external images' digests. */
function layerMaterial(reads: LayerReads, digests: Record<string, string>): Record<string, LayerMaterial> {
  const out: Record<string, LayerMaterial> = {}
  for (const [name, files] of Object.entries(reads.files)) {
    const e = reads.entries[name]
    out[name] = {
      files: [...files.keys()].sort(),
      externals: layerExternals(reads, name, digests),
      bases: reads.bases[name] ?? [],
      ...(e && { folders: e.folders, followed: e.followed, modeSet: e.modeSet, problems: e.problems }),
      ...(e?.unknowable !== undefined && { unknowable: e.unknowable }),
      ...(reads.declared[name] && { declared: reads.declared[name] })
    }
  }
  return out
}

/** The external images one layer reads → their digests ('' where not resolved). */
function layerExternals(
  reads: LayerReads,
  layer: string,
  digests: Record<string, string>
): Record<string, string> {
  return Object.fromEntries((reads.externals[layer] ?? []).map(u => [u.image, digests[u.image] ?? '']))
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

/** SPEC 7a: the assembly of each layer the plan assembles. */
export function assemblies(p: PlanOutcome): Record<string, Assembly> {
  const out: Record<string, Assembly> = {}
  for (const [name, d] of Object.entries(p.plan.layers)) {
    const e = p.reads.assembly[name]
    if (d.assembly === 'assembled' && e && 'assembly' in e) out[name] = e.assembly
  }
  return out
}

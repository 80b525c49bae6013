// Same inputs, same image (SPEC 4a), wired: gathers what the pure decision needs (content ids of the
// input files, Dockerfile bytes, the stable and input-tag images with their labels, through the
// `Registry` interface) and walks the layers parents first, so that a child sees its parent reused.
import { splitImageRef } from '../core/image-ref.js'
import type { AttestationFinder } from '../adapters/attestations.js'
import type { ContentEntry } from '../adapters/content-ids.js'
import { inputDigest, inputSettings, inputTag } from '../core/input-digest.js'
import type { InputFile } from '../core/input-digest.js'
import {
  decideSameInputs,
  mustVerify,
  parentMismatch,
  syncParentReasons,
  inputsChangedReason,
  reusableReasons,
  withInputTag
} from '../core/same-inputs.js'
import type { PlatformLayers, SameInputsFacts } from '../core/same-inputs.js'
import { parentLayers } from '../core/tags.js'
import type { TrustPolicy } from '../core/trust.js'
import { trustPolicy, vouch } from './vouch.js'
import type { EventContext, LayerConfig, LayerDecision, Plan, StrataConfig } from '../core/types.js'
import { gatherFacts, lookUp, type FactDeps, type Facts, type LayerMaterial } from './reuse-facts.js'

export type { LayerMaterial }

export interface SameInputsSettings {
  workspace: string
  /** The `build-args` input (wins over the layer's). */
  buildArgs: Record<string, string>
  /** The `platforms` input. */
  platforms?: string[]
  /** SPEC 4b: the server and Strata's reusable workflow at the ref this step was pinned to. */
  trust?: Pick<TrustPolicy, 'serverUrl' | 'strataWorkflows'>
}

export interface SameInputsDeps extends FactDeps {
  /** SPEC 4b: finds and verifies attestations; absent: no image that needs one is reused. */
  attestations?: AttestationFinder
}

/**
 * SPEC 4a over a decided plan: every layer whose parents are not built gets its input digest, the
 * `inputs changed since <tag>` reason where its stable image says other inputs, and is reused when an
 * image with the same inputs exists (and `reuse` trusts it). Look-ups that fail are warned about and
 * change nothing: the layer is then decided as SPEC 4 alone decides it.
 */
export async function applySameInputs(
  plan: Plan,
  config: StrataConfig,
  ctx: EventContext,
  material: Record<string, LayerMaterial>,
  s: SameInputsSettings,
  deps: SameInputsDeps
): Promise<Plan> {
  if (plan.deleted) return plan
  let facts: Facts
  try {
    facts = await gatherFacts(plan, config, material, s, deps)
  } catch (e) {
    // Reuse is a shortcut: without the inputs, every layer is decided as SPEC 4 alone decides it.
    deps.log.warning(
      `no input digests this run (${(e as Error).message}): layers are decided without same-inputs reuse`
    )
    return plan
  }
  const walk: Walk = { layers: { ...plan.layers }, labelled: new Set(), noDigest: new Map() }
  const parents = parentLayers(config.layers)
  const byName = new Map(config.layers.map(l => [l.name, l]))
  for (const level of levels(config)) {
    await Promise.all(
      level.map(async name => {
        const layer = byName.get(name)!
        // A layer (or parent) whose look-up failed is decided by no one: SPEC 8 marks it unknown.
        const unread = [name, ...layer.from.map(p => p.layer)].some(n => deps.unreadable?.layers.has(n))
        if (!walk.layers[name] || unread) return
        const opts = { isLeaf: !parents.has(name), parents, policy: trustPolicy(config, ctx, s.trust) }
        await decideOne(layer, facts, walk, ctx, s, deps, opts)
      })
    )
  }
  return { ...plan, layers: walk.layers }
}

/** What the walk over the levels carries from parents to children. */
interface Walk {
  layers: Plan['layers']
  /** Layers whose image (built now, reused by inputs, or the stable one) carries their input digest. */
  labelled: Set<string>
  noDigest: Map<string, string>
}

/** One layer, its parents decided: no digest and why, or its digest, input tag and reuse. */
async function decideOne(
  layer: LayerConfig,
  facts: Facts,
  walk: Walk,
  ctx: EventContext,
  s: SameInputsSettings,
  deps: SameInputsDeps,
  opts: { isLeaf: boolean; parents: ReadonlySet<string>; policy: TrustPolicy }
): Promise<void> {
  const name = layer.name
  const { layers } = walk
  const stable = facts.stables[name]
  const d = syncParentReasons(layers[name], layer, p => layers[p]?.build !== false, stable)
  const m = facts.material[name]
  const why = m && whyNoDigest(layer, m, facts.ids, facts.followedIds, walk.noDigest)
  if (why) {
    walk.noDigest.set(name, why)
    if (!m.unknowable && !why.includes('parent ')) deps.log.warning(`${name}: ${why}`)
    layers[name] = { ...d, noDigest: why }
    return
  }
  const files = m ? inputFilesOf(m, facts.ids, facts.followedIds) : []
  const ids = Object.fromEntries(files.map(f => [f.path, f.id]))
  const material = m && { ...m, files: files.map(f => f.path) }
  const inputs = material && digestOf(layer, material, ids, facts.dockerfiles[name], layers, s, walk.labelled)
  if (inputs === undefined) {
    layers[name] = d
    return
  }
  const decided = await decideLayer(
    layer,
    d,
    { inputs, stable, externals: m.externals },
    ctx,
    deps,
    parentRefs(layer, layers),
    opts.policy
  )
  const after = withInputTag(decided, layer, ctx, { isLeaf: opts.isLeaf, parents: opts.parents, inputs })
  layers[name] = after
  if (after.build || after.sameInputs || stable?.labels?.['dev.strata.inputs'] === inputs)
    walk.labelled.add(name)
}

/** Why a layer has no input digest: unknowable sources, a file the build cannot read, or such a parent. */
function whyNoDigest(
  layer: LayerConfig,
  m: LayerMaterial,
  ids: Record<string, ContentEntry>,
  followedIds: Record<string, ContentEntry>,
  noDigest: ReadonlyMap<string, string>
): string | undefined {
  if (m.unknowable) return `inputs unknowable: ${m.unknowable}`
  const followed = new Set(m.followed ?? [])
  const problems = [
    ...(m.problems ?? []),
    ...[...m.files, ...(m.folders ?? [])].flatMap(p => {
      const e = followed.has(p) ? followedIds[p] : ids[p]
      return e?.problem !== undefined ? [e.problem] : []
    })
  ]
  if (problems.length)
    return `no input digest: ${problems[0]}${problems.length > 1 ? ` (and ${problems.length - 1} more)` : ''}`
  const parent = layer.from.find(p => noDigest.has(p.layer))
  return parent ? `no input digest: parent ${parent.layer} has none` : undefined
}

/** The layer's input files and folders with their content ids (a link it follows by what it points to). */
function inputFilesOf(
  m: LayerMaterial,
  ids: Record<string, ContentEntry>,
  followedIds: Record<string, ContentEntry>
): InputFile[] {
  const followed = new Set(m.followed ?? [])
  const modeSet = new Set(m.modeSet ?? [])
  return [...m.files, ...(m.folders ?? [])].map(p => {
    const id = (followed.has(p) ? followedIds[p] : ids[p])?.id ?? ''
    // COPY --chmod sets the mode: only the content counts.
    return { path: p, id: modeSet.has(p) ? id.replace(/^\d+ /, 'chmod ') : id }
  })
}

/** The image each parent of `layer` is this run: its digest-pinned ref (undefined while it builds). */
function parentRefs(layer: LayerConfig, layers: Plan['layers']): Record<string, string | undefined> {
  return Object.fromEntries(
    layer.from.map(p => {
      const ref = layers[p.layer]?.ref
      return [p.layer, ref?.includes('@') ? ref : undefined]
    })
  )
}

/** One layer with a known input digest: the input tag is looked up only when it could change the decision. */
async function decideLayer(
  layer: LayerConfig,
  d: LayerDecision,
  facts: SameInputsFacts & { inputs: string },
  ctx: EventContext,
  deps: SameInputsDeps,
  parents: Record<string, string | undefined>,
  policy: TrustPolicy
): Promise<LayerDecision> {
  const reuse = layer.reuse ?? 'verified'
  const wouldBuild = d.build
    ? reusableReasons(d.reasons)
    : !!inputsChangedReason(facts, tagOf(d.stable, layer))
  const ref = `${layer.image}:${inputTag(layer.name, facts.inputs)}`
  const found = wouldBuild && reuse !== 'off' ? await lookUp(layer.name, ref, deps) : undefined
  const notOnParents =
    found && layer.from.length > 0
      ? await checkParents(`${ref}@${found.digest}`, parents, reuse, deps)
      : undefined
  await vouch(layer, found, facts.inputs, { ctx, policy, attestations: deps.attestations })
  return decideSameInputs(
    layer.name,
    d,
    { ...facts, found, ...(notOnParents !== undefined && { notOnParents }) },
    {
      reuse,
      verify: mustVerify(reuse, ctx),
      defaultBranch: ctx.defaultBranch,
      stable: d.stable ?? '',
      image: layer.image
    }
  ).decision
}

/**
 * The input digest of one layer, or undefined when an input is not known. A parent counts by its own
 * input digest where the image the child builds on carries it (`labelled`: built in this plan, reused
 * by inputs, or a stable image with that label), else by its image digest: all the layers of a step
 * build in one BuildKit session (SPEC 7), so a parent built there has no image digest before its child
 * starts, and the child's labels and input tag must be known when it does.
 */
export function digestOf(
  layer: LayerConfig,
  m: LayerMaterial,
  ids: Record<string, string>,
  dockerfile: string | undefined,
  layers: Plan['layers'],
  s: Pick<SameInputsSettings, 'buildArgs' | 'platforms'>,
  labelled: ReadonlySet<string> = new Set()
): string | undefined {
  if (dockerfile === undefined || Object.values(m.externals).some(d => d === '')) return undefined
  const parents: Record<string, string> = {}
  for (const p of layer.from) {
    const d = layers[p.layer]
    const digest = d?.ref === undefined ? undefined : splitImageRef(d.ref).digest
    if (d?.inputs && labelled.has(p.layer)) parents[p.layer] = d.inputs
    else if (d && !d.build && digest !== undefined) parents[p.layer] = digest
    else return undefined
  }
  const files: InputFile[] = m.files.map(p => ({ path: p, id: ids[p] }))
  return inputDigest({
    settings: inputSettings(layer, { buildArgs: s.buildArgs, platforms: s.platforms }, m.declared),
    dockerfile,
    files,
    parents,
    externals: m.externals
  })
}

/**
 * SPEC 4a: undefined when `image` was built on the parent images this run uses, for every platform
 * (from manifests and configs, no pull); else why not. A registry adapter that cannot say (a fake
 * without diffIds) is taken at its word only under `reuse: any`, as labels are.
 */
async function checkParents(
  image: string,
  parents: Record<string, string | undefined>,
  reuse: string,
  deps: SameInputsDeps
): Promise<string | undefined> {
  const registry = deps.registry
  if (!registry.diffIds) return reuse === 'any' ? undefined : 'cannot be checked against its parents here'
  try {
    const refs = Object.entries(parents)
    if (refs.some(([, r]) => r === undefined)) return 'has a parent whose image this run does not know yet'
    const [own, ...below] = await Promise.all(
      [image, ...refs.map(([, r]) => r!)].map(r => registry.diffIds!(r))
    )
    if (!own) return 'is gone from the registry'
    const parentLayers: Record<string, PlatformLayers> = {}
    for (let i = 0; i < refs.length; i++) {
      if (!below[i]) return `cannot be checked: ${refs[i][1]} is gone from the registry`
      parentLayers[refs[i][0]] = below[i]!
    }
    return parentMismatch(own, parentLayers)
  } catch (e) {
    return `cannot be checked against its parents (${(e as Error).message})`
  }
}

/** Layer names by depth: every layer after all its parents; each level's layers side by side. */
export function levels(config: StrataConfig): string[][] {
  const depth = new Map<string, number>()
  const byName = new Map(config.layers.map(l => [l.name, l]))
  for (const name of config.order) {
    const from = byName.get(name)?.from ?? []
    depth.set(name, from.length ? Math.max(...from.map(p => (depth.get(p.layer) ?? 0) + 1)) : 0)
  }
  const out: string[][] = []
  for (const name of config.order) (out[depth.get(name)!] ??= []).push(name)
  return out.filter(Boolean)
}

function tagOf(ref: string | undefined, layer: LayerConfig): string {
  if (!ref) return ''
  return ref.startsWith(`${layer.image}:`) ? ref.slice(layer.image.length + 1) : ref
}

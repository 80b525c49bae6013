// The decision (SPEC 4): which layers build and every reason why, in topological order. Pure.
import { changedPaths } from './changes.js'
import { inputReason, type LayerInputs } from './derived-inputs.js'
import { compilePatterns, matchPath } from './patterns.js'
import { inputTag } from './input-digest.js'
import { cacheScopeOf, layerTags, parentLayers } from './tags.js'
import type {
  ChangeSet,
  EventContext,
  LayerConfig,
  LayerDecision,
  PatternMatch,
  Plan,
  StrataConfig
} from './types.js'

export interface DecideInput {
  config: StrataConfig
  ctx: EventContext
  changes: ChangeSet
  /** Layer names from the `force` input, or `all` (also accepted as one of the names). */
  force: string[] | 'all'
  /** The `layers` input; undefined: all. */
  selected?: string[]
  /** Per layer: does its stable tag exist in the registry. Missing: not known, no reason. */
  stableExists: Record<string, boolean>
  /**
   * The event is a push that deleted the branch (DiffRange kind `deleted`): nothing builds, not even
   * `always` or `force` layers. Passed explicitly rather than guessed from the ChangeSet.
   */
  deleted?: boolean
  /** SPEC 3a: per layer, what its Dockerfile reads; a changed file among them matches like a `paths` pattern. */
  inputs?: Record<string, LayerInputs>
}

/**
 * Decides every layer: its reasons and tags (versioned, moving, stable). Refs are not filled (the
 * registry resolves them, pinReused()); what the build needs besides is added by completePlan().
 */
export function decide(input: DecideInput): Plan {
  const { config, ctx, changes } = input
  const forced = forcedSet(input.force, config.order)
  const selected = selectedSet(input.selected, config.order)
  const paths = changedPaths(changes.files)
  const deleted = input.deleted === true
  const parentNames = parentLayers(config.layers)
  const byName = new Map(config.layers.map(l => [l.name, l]))
  const claim = tagClaims(config)
  const layers: Record<string, LayerDecision> = {}
  for (const name of config.order) {
    const layer = byName.get(name)
    if (!layer) throw new Error(`${config.file}: layer order names "${name}", which has no config`)
    if (deleted) {
      // Nothing is built or tagged for a deleted branch, so no tags (a deleted ref may not render them).
      layers[name] = { build: false, reasons: [], matches: [], tags: [], selected: selected.has(name) }
      continue
    }
    const tags = decidedTags(layer, ctx, parentNames)
    for (const ref of [...tags.tags, tags.stable]) claim(ref, layer)
    const matches = matchLayer(config, layer, paths, input.inputs?.[name])
    const reasons = reasonsOf(layer, {
      forced: forced.has(name),
      matches,
      layers,
      input,
      stableTag: tags.stableTag
    })
    layers[name] = {
      build: reasons.length > 0,
      reasons,
      matches,
      tags: tags.tags,
      selected: selected.has(name),
      stable: tags.stable,
      versioned: tags.versioned,
      moving: tags.moving
    }
  }
  return {
    layers,
    changes: { source: changes.source, count: paths.length },
    base: changes.base,
    // An event without a diff still has the commit its images are of.
    head: changes.head ?? (deleted || !ctx.sha ? undefined : ctx.sha),
    event: ctx.eventName,
    ...(deleted && { deleted: true })
  }
}

/** SPEC 4's reasons for one layer, in order; its parents are decided already. */
function reasonsOf(
  layer: LayerConfig,
  o: {
    forced: boolean
    matches: PatternMatch[]
    layers: Record<string, LayerDecision>
    input: DecideInput
    stableTag: string
  }
): string[] {
  const reasons: string[] = []
  if (o.forced) reasons.push('forced')
  for (const p of layer.from) if (o.layers[p.layer]?.build) reasons.push(`parent ${p.layer} rebuilt`)
  if (o.matches.length === 1) reasons.push('1 changed file matches')
  else if (o.matches.length > 1) reasons.push(`${o.matches.length} changed files match`)
  if (layer.always) reasons.push('always')
  if (o.input.changes.source === 'unknown') reasons.push('changes unknown')
  if (o.input.stableExists[layer.name] === false) reasons.push(`no ${o.stableTag} in registry`)
  return reasons
}

/**
 * Full ref → the layer whose tag (or stable tag) it is: two layers must never push one tag, and no
 * tag may overwrite a layer's registry cache (`<image>:cache-<layer>`, SPEC 6). Throws on a clash.
 */
function tagClaims(config: StrataConfig): (ref: string, layer: LayerConfig) => void {
  const owners = new Map<string, string>()
  const caches = new Map(config.layers.map(l => [`${l.image}:cache-${l.name}`, l.name]))
  return (ref, layer) => {
    const name = layer.name
    const cacheOf = caches.get(ref)
    if (cacheOf !== undefined)
      throw new Error(
        `${config.file}: layer "${name}" would push ${ref}, the registry cache of layer "${cacheOf}": ` +
          'give it `tags` and a `stable-tag` that do not start with cache-'
      )
    const other = owners.get(ref)
    if (other !== undefined && other !== name) {
      const [a, b] = config.layers.filter(l => l.name === other || l.name === name).map(l => l.name)
      // Several final images: the cheapest fix keeps each image's `pr-{pr}` and `latest` tags.
      throw new Error(
        `${config.file}: layers "${a}" and "${b}" would both push ${ref}: give one of them its own ` +
          '`image`, or `tags` and `stable-tag` that use {layer}. For several final images, their own ' +
          `\`image\` keeps \`pr-{pr}\` and \`latest\` per image (e.g. image: ${layer.image}-${b} for layer ` +
          `"${b}"); in one repository, give each: tags: ['{layer}-{sha7}', '{layer}-pr-{pr}'] and ` +
          `stable-tag: '{layer}-latest'`
      )
    }
    owners.set(ref, name)
  }
}

/** A layer's tags in this run as full refs (SPEC 5): the one place a plan renders them. */
export interface DecidedTags {
  /** Versioned then moving, each once. */
  tags: string[]
  versioned: string[]
  moving: string[]
  /** `image:stable-tag`, and the stable tag alone. */
  stable: string
  stableTag: string
}

/** `inputs`: the short input digest, for custom tags with {inputs} (checkPlan). */
export function decidedTags(
  layer: LayerConfig,
  ctx: EventContext,
  parents: ReadonlySet<string>,
  inputs?: string
): DecidedTags {
  const t = layerTags(layer, ctx, { isLeaf: !parents.has(layer.name), parents, inputs })
  const full = (tag: string): string => `${layer.image}:${tag}`
  const tags = unique([...t.versioned, ...t.moving].map(full))
  return { tags, ...splitTags(tags, t.moving.map(full)), stable: full(t.stable), stableTag: t.stable }
}

/**
 * Versioned tags go on the build, moving ones (stable, latest, pr-N, branch) move once every layer
 * of the step succeeded (SPEC 7). A layer whose every tag moves (custom `tags`) pushes them all.
 */
export function splitTags(refs: string[], movingRefs: string[]): { versioned: string[]; moving: string[] } {
  const moving = new Set(movingRefs)
  const versioned = refs.filter(t => !moving.has(t))
  return versioned.length
    ? { versioned, moving: refs.filter(t => moving.has(t)) }
    : { versioned: [...refs], moving: [] }
}

/**
 * A layer's versioned and moving tags (full refs): the plan's own split, or, for a plan whose JSON
 * carries only `tags` (an earlier Strata's), the split decide() makes, from the config.
 */
export function tagsOfLayer(
  layer: LayerConfig,
  d: Pick<LayerDecision, 'tags' | 'versioned' | 'moving'>,
  ctx: EventContext,
  parents: ReadonlySet<string>
): { versioned: string[]; moving: string[] } {
  if (d.versioned && d.moving) return { versioned: d.versioned, moving: d.moving }
  return splitTags(d.tags, decidedTags(layer, ctx, parents).moving)
}

/**
 * The plan step's last enrichment, a new plan: each decision completed with what the build needs
 * besides the decision itself: its parents (with the images the plan pinned for them), cache scope and
 * input tag. The same function completes a plan written by an earlier Strata (its JSON has only `tags`,
 * `stable` and `ref` per layer), as decide() and this would have made it: the versioned/moving split
 * of its own tags (the config's rule) and its stable ref. The one place these are derived; a complete
 * decision keeps its own, so the build, merge and outputs only read them.
 */
export function completePlan(plan: Plan, config: StrataConfig, ctx: EventContext): Plan {
  if (plan.deleted) return plan
  const parents = parentLayers(config.layers)
  const byName = new Map(config.layers.map(l => [l.name, l]))
  const layers: Record<string, LayerDecision> = {}
  for (const [name, d] of Object.entries(plan.layers)) {
    const layer = byName.get(name)
    layers[name] = !layer || isComplete(d) ? d : completeDecision(d, layer, ctx, parents)
  }
  return withParentRefs({ ...plan, layers })
}

function isComplete(d: LayerDecision): boolean {
  return !!(d.versioned && d.moving && d.stable && d.parents && d.cacheScope && (!d.inputs || d.inputTag))
}

function completeDecision(
  d: LayerDecision,
  layer: LayerConfig,
  ctx: EventContext,
  parents: ReadonlySet<string>
): LayerDecision {
  return {
    ...d,
    stable: d.stable ?? decidedTags(layer, ctx, parents).stable,
    ...tagsOfLayer(layer, d, ctx, parents),
    ...(d.inputs !== undefined && {
      inputTag: d.inputTag ?? `${layer.image}:${inputTag(layer.name, d.inputs)}`
    }),
    parents: d.parents ?? layer.from.map(p => ({ layer: p.layer, buildArg: p.buildArg })),
    cacheScope: d.cacheScope ?? cacheScopeOf(ctx)
  }
}

/**
 * Each layer's parents with the images the plan pinned for them (a parent that does not build, and
 * has a ref): a new plan. Run after every step that changes a parent's decision.
 */
export function withParentRefs(plan: Plan): Plan {
  const layers: Record<string, LayerDecision> = {}
  for (const [name, d] of Object.entries(plan.layers)) {
    if (!d.parents) {
      layers[name] = d
      continue
    }
    const parents = d.parents.map(p => {
      const pd = plan.layers[p.layer]
      const ref = pd && !pd.build ? pd.ref : undefined
      return { layer: p.layer, buildArg: p.buildArg, ...(ref !== undefined && { ref }) }
    })
    layers[name] = { ...d, parents }
  }
  return { ...plan, layers }
}

/**
 * A reused layer pinned to the digest its stable tag had at plan time, for the whole run (SPEC 4):
 * a new plan; the decided one is left as it was.
 */
export function pinReused(plan: Plan, digests: Record<string, string | undefined>): Plan {
  const layers: Record<string, LayerDecision> = {}
  for (const [name, d] of Object.entries(plan.layers)) {
    const digest = digests[name]
    layers[name] = !d.build && digest && d.stable ? { ...d, ref: `${d.stable}@${digest}` } : d
  }
  return { ...plan, layers }
}

/** A `plan` input: the decision is kept as it was made; only which layers this step may build changes. */
export function followPlan(plan: Plan, selected?: string[]): Plan {
  const chosen = selectedSet(selected, Object.keys(plan.layers))
  const layers: Record<string, LayerDecision> = {}
  for (const [name, d] of Object.entries(plan.layers)) layers[name] = { ...d, selected: chosen.has(name) }
  return { ...plan, layers }
}

/** Changed files that are the layer's inputs: what its Dockerfile reads (SPEC 3a) first, then its `paths`. */
function matchLayer(
  config: StrataConfig,
  layer: LayerConfig,
  paths: string[],
  inputs: LayerInputs | undefined
): PatternMatch[] {
  // Compiled even without changes, so that a bad pattern fails every run, not only some.
  let compiled
  try {
    compiled = layer.paths.length ? compilePatterns(layer.paths) : undefined
  } catch (e) {
    throw new Error(`${config.file}: layer "${layer.name}" paths: ${(e as Error).message}`)
  }
  if (!compiled && !inputs) return []
  const matches: PatternMatch[] = []
  for (const path of paths) {
    const pattern = (inputs && inputReason(inputs, path)) ?? (compiled && matchPath(compiled, path))
    if (pattern !== undefined) matches.push({ path, pattern })
  }
  return matches
}

function names(list: string[]): string[] {
  return list.map(s => s.trim()).filter(s => s !== '')
}

function forcedSet(force: string[] | 'all', known: string[]): Set<string> {
  if (force === 'all') return new Set(known)
  const list = names(force)
  checkKnown(
    'force',
    list.filter(n => n !== 'all'),
    known
  )
  return new Set(list.includes('all') ? known : list)
}

function selectedSet(selected: string[] | undefined, known: string[]): Set<string> {
  if (selected === undefined) return new Set(known)
  const list = names(selected)
  checkKnown('layers', list, known)
  return new Set(list)
}

function checkKnown(input: string, list: string[], known: string[]): void {
  const bad = list.filter(n => !known.includes(n))
  if (bad.length === 0) return
  const what =
    bad.length === 1 ? `an unknown layer "${bad[0]}"` : `unknown layers ${bad.map(b => `"${b}"`).join(', ')}`
  throw new Error(`the \`${input}\` input names ${what}; known layers: ${known.join(', ')}`)
}

function unique(list: string[]): string[] {
  return [...new Set(list)]
}

// The plan as JSON and back lives in plan-json.ts; exported here too, where callers always found it.
export { parsePlanInput, planToJson, type PlanJsonOptions } from './plan-json.js'

// The decision in words (SPEC 8) lives in plan-words.ts; callers import it from here too.
export { describePlan } from './plan-words.js'

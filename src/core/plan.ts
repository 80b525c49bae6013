// The decision (SPEC 4): which layers build and every reason why, in topological order. Pure.
import { changedPaths } from './changes.js'
import { inputReason, type LayerInputs } from './derived-inputs.js'
import { compilePatterns, matchPath } from './patterns.js'
import { layerTags, parentLayers } from './tags.js'
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

/** Decides every layer; tags are filled, refs are not (the registry resolves them). */
export function decide(input: DecideInput): Plan {
  const { config, ctx, changes } = input
  const known = config.order
  const forced = forcedSet(input.force, known)
  const selected = selectedSet(input.selected, known)
  const paths = changedPaths(changes.files)
  const deleted = input.deleted === true
  const parentNames = parentLayers(config.layers)
  const byName = new Map(config.layers.map(l => [l.name, l]))

  const layers: Record<string, LayerDecision> = {}
  // Full ref → the layer whose tag (or stable tag) it is: two layers must never push one tag, and no
  // tag may overwrite a layer's registry cache (`<image>:cache-<layer>`, SPEC 6).
  const owners = new Map<string, string>()
  const caches = new Map(config.layers.map(l => [`${l.image}:cache-${l.name}`, l.name]))
  for (const name of config.order) {
    const layer = byName.get(name)
    if (!layer) throw new Error(`${config.file}: layer order names "${name}", which has no config`)
    if (deleted) {
      // Nothing is built or tagged for a deleted branch, so no tags (a deleted ref may not render them).
      layers[name] = { build: false, reasons: [], matches: [], tags: [], selected: selected.has(name) }
      continue
    }
    const tags = layerTags(layer, ctx, { isLeaf: !parentNames.has(name), parents: parentNames })
    const stable = `${layer.image}:${tags.stable}`
    const refs = unique([...tags.versioned, ...tags.moving].map(t => `${layer.image}:${t}`))
    for (const ref of [...refs, stable]) {
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

    const matches = matchLayer(config, layer, paths, input.inputs?.[name])
    const reasons: string[] = []
    if (forced.has(name)) reasons.push('forced')
    for (const p of layer.from) if (layers[p.layer]?.build) reasons.push(`parent ${p.layer} rebuilt`)
    if (matches.length === 1) reasons.push('1 changed file matches')
    else if (matches.length > 1) reasons.push(`${matches.length} changed files match`)
    if (layer.always) reasons.push('always')
    if (changes.source === 'unknown') reasons.push('changes unknown')
    if (input.stableExists[name] === false) reasons.push(`no ${tags.stable} in registry`)

    layers[name] = {
      build: reasons.length > 0,
      reasons,
      matches,
      tags: refs,
      selected: selected.has(name),
      stable,
      ...splitTags(
        refs,
        tags.moving.map(t => `${layer.image}:${t}`)
      )
    }
  }

  const plan: Plan = {
    layers,
    changes: { source: changes.source, count: paths.length },
    base: changes.base,
    // An event without a diff still has the commit its images are of.
    head: changes.head ?? (deleted || !ctx.sha ? undefined : ctx.sha),
    event: ctx.eventName
  }
  if (deleted) plan.deleted = true
  return plan
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
 * A layer's versioned and moving tags (full refs): the plan's own split, or, for a followed plan whose
 * JSON carries only `tags`, the split decide() makes, from the config.
 */
export function tagsOfLayer(
  layer: LayerConfig,
  d: Pick<LayerDecision, 'tags' | 'versioned' | 'moving'>,
  ctx: EventContext,
  parents: ReadonlySet<string>
): { versioned: string[]; moving: string[] } {
  if (d.versioned && d.moving) return { versioned: d.versioned, moving: d.moving }
  const moving = layerTags(layer, ctx, { isLeaf: !parents.has(layer.name), parents }).moving
  return splitTags(
    d.tags,
    moving.map(t => `${layer.image}:${t}`)
  )
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

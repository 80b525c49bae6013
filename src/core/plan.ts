// The decision (SPEC 4): which layers build and every reason why, in topological order. Pure.
import { changedPaths } from './changes.js'
import { inputReason, type LayerInputs } from './derived-inputs.js'
import { compilePatterns, matchPath } from './patterns.js'
import { sameInputsJson, sameInputsOfPlan } from './same-inputs.js'
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

// ---------- the `plan` output and input ----------

export interface PlanJsonOptions {
  /** Keep at most this many matches per layer (outputs stay small); the full list belongs in `plan-file`. */
  maxMatches?: number
}

/** SPEC 2's `plan` output: `{"layers":{…},"changes":{…},"base","head","event"}`, layers in topological order. */
export function planToJson(plan: Plan, opts: PlanJsonOptions = {}): object {
  const layers: Record<string, object> = {}
  for (const [name, d] of Object.entries(plan.layers)) {
    const matches = opts.maxMatches === undefined ? d.matches : d.matches.slice(0, opts.maxMatches)
    layers[name] = {
      build: d.build,
      reasons: d.reasons,
      tags: d.tags,
      ...(d.ref !== undefined && { ref: d.ref }),
      ...(d.stable !== undefined && { stable: d.stable }),
      // SPEC 2 / 4a: the input digest where known at plan time; `same-inputs` on a reused-by-inputs layer.
      ...(d.inputs !== undefined && { inputs: d.inputs }),
      ...sameInputsJson(d),
      ...(d.noDigest !== undefined && { 'no-digest': d.noDigest }),
      ...(d.notReused !== undefined && { 'not-reused': d.notReused }),
      ...(d.assembly !== undefined && { assembly: d.assembly }),
      ...(d.unknown && { unknown: true }),
      matches: matches.map(m => ({ path: m.path, pattern: m.pattern }))
    }
  }
  return {
    layers,
    changes: { source: plan.changes.source, count: plan.changes.count },
    ...(plan.base !== undefined && { base: plan.base }),
    ...(plan.head !== undefined && { head: plan.head }),
    event: plan.event,
    ...(plan.deleted && { deleted: true }),
    ...(plan.externals && Object.keys(plan.externals).length > 0 && { externals: { ...plan.externals } })
  }
}

const SOURCES: ReadonlySet<string> = new Set(['api', 'git', 'none', 'unknown'])

/** Reads a `plan` input back; every layer is selected until followPlan() says otherwise. */
export function parsePlanInput(json: string): Plan {
  const fail = (why: string): Error =>
    new Error(
      `the plan input is not a Strata plan: ${why}; pass the \`plan\` output of a \`mode: plan\` step`
    )
  let v: unknown
  try {
    v = JSON.parse(json)
  } catch (e) {
    throw fail(`it is not JSON (${(e as Error).message})`)
  }
  if (!isObject(v)) throw fail('it is not a JSON object')
  if (!isObject(v.layers) || Object.keys(v.layers).length === 0) throw fail('"layers" is missing or empty')
  if (!isObject(v.changes)) throw fail('"changes" is missing')
  const { source, count } = v.changes
  if (typeof source !== 'string' || !SOURCES.has(source))
    throw fail(`"changes.source" is ${JSON.stringify(source)}`)
  if (typeof count !== 'number' || !Number.isInteger(count) || count < 0)
    throw fail('"changes.count" is not a count')
  for (const key of ['base', 'head', 'event'] as const) {
    if (v[key] !== undefined && typeof v[key] !== 'string') throw fail(`"${key}" is not a string`)
  }

  const layers: Record<string, LayerDecision> = {}
  for (const [name, d] of Object.entries(v.layers)) {
    // `__proto__` and other non-names never become keys of `layers`.
    if (!/^[A-Za-z][A-Za-z0-9_-]*$/.test(name)) throw fail(`${JSON.stringify(name)} is not a layer name`)
    const at = `layer "${name}"`
    if (!isObject(d)) throw fail(`${at} is not an object`)
    if (typeof d.build !== 'boolean') throw fail(`${at} has no boolean "build"`)
    if (!isStrings(d.reasons)) throw fail(`${at} "reasons" is not a list of strings`)
    if (!isStrings(d.tags)) throw fail(`${at} "tags" is not a list of strings`)
    for (const key of ['ref', 'stable', 'no-digest', 'not-reused'] as const) {
      if (d[key] !== undefined && typeof d[key] !== 'string') throw fail(`${at} "${key}" is not a string`)
    }
    if (d.inputs !== undefined && !(isString(d.inputs) && /^sha256:[0-9a-f]{64}$/.test(d.inputs)))
      throw fail(`${at} "inputs" is not sha256:<64 hex>`)
    const reused = sameInputsOfPlan(d, why => {
      throw fail(`${at} ${why}`)
    })
    // SPEC 8: nothing follows a decision that could not be made.
    if (d.unknown !== undefined)
      throw fail(`${at} is unknown (its registry could not be read); run the plan step again once it can`)
    const matches = d.matches ?? []
    if (
      !Array.isArray(matches) ||
      !matches.every(m => isObject(m) && isString(m.path) && isString(m.pattern))
    ) {
      throw fail(`${at} "matches" is not a list of {path, pattern}`)
    }
    layers[name] = {
      build: d.build,
      reasons: [...d.reasons],
      matches: matches.map(m => ({ path: m.path as string, pattern: m.pattern as string })),
      tags: [...d.tags],
      ...(d.ref !== undefined && { ref: d.ref as string }),
      ...(d.stable !== undefined && { stable: d.stable as string }),
      ...(d.inputs !== undefined && { inputs: d.inputs as string }),
      ...reused,
      ...(d['no-digest'] !== undefined && { noDigest: d['no-digest'] as string }),
      ...(d['not-reused'] !== undefined && { notReused: d['not-reused'] as string }),
      selected: true
    }
  }
  const plan: Plan = {
    layers,
    changes: { source: source as Plan['changes']['source'], count },
    ...(v.base !== undefined && { base: v.base as string }),
    ...(v.head !== undefined && { head: v.head as string }),
    event: (v.event as string | undefined) ?? ''
  }
  if (v.deleted === true) plan.deleted = true
  return plan
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v)
}

function isString(v: unknown): v is string {
  return typeof v === 'string'
}

function isStrings(v: unknown): v is string[] {
  return Array.isArray(v) && v.every(isString)
}

// The decision in words (SPEC 8) lives in plan-words.ts; callers import it from here too.
export { describePlan } from './plan-words.js'

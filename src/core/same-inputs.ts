// Same inputs, same image (SPEC 4a): the labels and input tag of a built image, and the decision to
// reuse an image already built from the same inputs instead of building it again. Pure: src/plan/reuse.ts
// does the registry look-ups and walks the layers.
import { withoutDigest } from './image-ref.js'
import { inputTag, shortInputs } from './input-digest.js'
import { layerTags } from './tags.js'
import { builtBy, type TrustAnswer } from './trust.js'
import type { DecisionDraft, EventContext, LayerConfig, LayerDecision } from './types.js'

export const LABEL_INPUTS = 'dev.strata.inputs'
export const LABEL_EXTERNALS = 'dev.strata.externals'
export const LABEL_REF = 'dev.strata.ref'

/** Strata's own labels (`dev.strata.*`) among labels or annotations of any origin: string values only. */
export function strataLabels(from: Record<string, unknown>): Record<string, string> {
  return Object.fromEntries(
    Object.entries(from).filter(
      (e): e is [string, string] => e[0].startsWith('dev.strata.') && typeof e[1] === 'string'
    )
  )
}

export type ReuseSetting = NonNullable<LayerConfig['reuse']>

/** `dev.strata.ref`: the branch a build was for, `pr-<n>` on a pull request, else the full ref. */
export function refLabel(ctx: EventContext): string {
  if (ctx.pr) return `pr-${ctx.pr.number}`
  return ctx.branch ?? ctx.ref
}

/** The labels SPEC 4a puts on every image Strata builds. Externals as JSON, keys sorted. */
export function inputLabels(
  inputs: string,
  externals: Record<string, string>,
  ctx: EventContext
): Record<string, string> {
  const sorted = Object.fromEntries(Object.entries(externals).sort(([a], [b]) => (a < b ? -1 : 1)))
  return {
    [LABEL_INPUTS]: inputs,
    [LABEL_EXTERNALS]: JSON.stringify(sorted),
    [LABEL_REF]: refLabel(ctx)
  }
}

/**
 * The decision of a layer once its input digest is known: `inputs` set, the input tag added to the
 * versioned tags (pushed by the build), and custom `tags` with {inputs} rendered now. `parents`: the
 * layers with children, as decide() had them, so that {branch} is rendered as it was there (a branch
 * named like a parent layer must not become that layer's tags).
 */
export function withInputTag(
  d: LayerDecision,
  layer: LayerConfig,
  ctx: EventContext,
  opts: { isLeaf: boolean; inputs: string; parents?: ReadonlySet<string> }
): LayerDecision {
  const tags = layerTags(layer, ctx, {
    isLeaf: opts.isLeaf,
    parents: opts.parents,
    inputs: shortInputs(opts.inputs)
  })
  const full = (t: string): string => `${layer.image}:${t}`
  const versioned = unique([...tags.versioned, inputTag(layer.name, opts.inputs)]).map(full)
  const moving = tags.moving.map(full).filter(t => !versioned.includes(t))
  return { ...d, inputs: opts.inputs, versioned, moving, tags: [...versioned, ...moving] }
}

// The reasons that same inputs answer: the image they ask for may already exist. `forced`,
// `parent <name> rebuilt` and `always` always build.
const ANSWERED = [
  /^1 changed file matches$/,
  /^([2-9]|[1-9]\d+) changed files match$/,
  /^changes unknown$/,
  /^no .+ in registry$/
]
const INPUTS_CHANGED = 'inputs changed since '

export function reusableReasons(reasons: string[]): boolean {
  return (
    reasons.length > 0 && reasons.every(r => r.startsWith(INPUTS_CHANGED) || ANSWERED.some(re => re.test(r)))
  )
}

/** An image in the registry, with its config labels (null: the registry could not say). */
export interface FoundImage {
  digest: string
  labels: Record<string, string> | null
  /** SPEC 4b: what its attestations say, where `mustVerify` asked. */
  trust?: TrustAnswer
}

/**
 * SPEC 4b: whether an image found under an input tag needs a verified attestation before this run
 * reuses it. `verified`: everywhere but pull requests, which promote nothing; `default-branch`: always.
 */
export function mustVerify(reuse: ReuseSetting, ctx: Pick<EventContext, 'pr'>): boolean {
  return reuse === 'default-branch' || (reuse === 'verified' && !ctx.pr)
}

export interface SameInputsFacts {
  /** The layer's input digest; undefined when it cannot be known at plan time (a parent builds). */
  inputs?: string
  /** The stable image: null when its tag does not exist, undefined when not looked up. */
  stable?: FoundImage | null
  /** The image under the input tag: null when the tag does not exist, undefined when not looked up. */
  found?: FoundImage | null
  /** This layer's external images now (ref → digest). */
  externals: Record<string, string>
  /** Why the image under the input tag was not built on the parent images this run uses (parentMismatch()). */
  notOnParents?: string
}

export interface SameInputsOptions {
  reuse: ReuseSetting
  defaultBranch: string
  /** `mustVerify` for this run: the found image is reused only when its `trust` says ok (unset: not asked). */
  verify?: boolean
  /** `image:stable-tag`, as the plan's `stable`. */
  stable: string
  image: string
}

/**
 * `inputs changed since <stable tag>` when the stable image carries an inputs label that differs from
 * `inputs`, naming the external images that moved; undefined when it matches or has no label (an
 * image built before Strata, or by hand, is trusted as it is).
 */
export function inputsChangedReason(facts: SameInputsFacts, stableTag: string): string | undefined {
  const labels = facts.stable?.labels
  const was = labels?.[LABEL_INPUTS]
  if (!labels || !was || facts.inputs === undefined || was === facts.inputs) return undefined
  const moved = movedExternals(labels[LABEL_EXTERNALS], facts.externals)
  return `${INPUTS_CHANGED}${stableTag}${moved.length ? ` (${moved.map(m => `${m} moved`).join(', ')})` : ''}`
}

function movedExternals(label: string | undefined, now: Record<string, string>): string[] {
  let before: unknown
  try {
    before = JSON.parse(label ?? '{}')
  } catch {
    return [] // a label someone else wrote: the digests differ, which one is not knowable
  }
  if (typeof before !== 'object' || before === null) return []
  return Object.entries(before as Record<string, unknown>)
    .filter(([ref, d]) => typeof now[ref] === 'string' && now[ref] !== '' && now[ref] !== d)
    .map(([ref]) => ref)
    .sort()
}

/** Whether the image under the input tag may stand for this build, by the layer's `reuse` (SPEC 4a, 4b). */
export function trusted(found: FoundImage, inputs: string, opts: SameInputsOptions): boolean {
  if (opts.reuse === 'off') return false
  // Labels unknown (a registry adapter without labels): only `any` takes the tag's word for it.
  if (found.labels === null) return opts.reuse === 'any'
  // The tag holds 64 bits of the digest; the label holds all of it.
  if (found.labels[LABEL_INPUTS] !== inputs) return false
  if (opts.reuse === 'default-branch' && found.labels[LABEL_REF] !== opts.defaultBranch) return false
  // Labels and tags are anyone's to write: where it counts, only a verified attestation vouches.
  return !opts.verify || found.trust?.ok === true
}

/**
 * SPEC 4a for one layer whose parents are decided: the `inputs changed since` reason, then reuse of an
 * image with the same inputs. Returns the new decision and, when reused, the log line.
 */
export function decideSameInputs(
  name: string,
  d: LayerDecision,
  facts: SameInputsFacts,
  opts: SameInputsOptions
): { decision: LayerDecision; line?: string } {
  const out: DecisionDraft = { ...d, reasons: [...d.reasons] }
  if (facts.inputs === undefined) return { decision: out }
  out.inputs = facts.inputs
  const stableTag = tagOf(opts.stable, opts.image)
  const changed = d.reasons.length === 0 ? inputsChangedReason(facts, stableTag) : undefined
  if (changed) {
    out.reasons.push(changed)
    out.build = true
    delete out.ref
  }
  if (!out.build || !reusableReasons(out.reasons) || !facts.found) return { decision: out }
  if (!trusted(facts.found, facts.inputs, opts)) {
    const trust = facts.found.trust
    // SPEC 4b: the layer builds, and says why the image with the same inputs was not taken.
    if (opts.verify && trust && !trust.ok) {
      const last = out.reasons.length - 1
      out.reasons[last] = `${out.reasons[last]} (not reused: ${trust.why})`
      out.notReused = `${inputTag(name, facts.inputs)}: ${trust.why}`
    }
    return { decision: out }
  }
  const tag = inputTag(name, facts.inputs)
  if (facts.notOnParents !== undefined) {
    out.notReused = `${tag} ${facts.notOnParents}`
    return { decision: out }
  }
  out.build = false
  out.sameInputs = `${opts.image}:${tag}@${facts.found.digest}`
  const by = facts.found.labels?.[LABEL_REF]
  if (by) out.sameInputsBy = by
  out.ref = out.sameInputs
  if (facts.found.trust?.ok) out.attested = builtBy(facts.found.trust.by)
  return {
    decision: out,
    line: `${name}: reuse — ${out.reasons.join(', ')}, but ${tag} has the same inputs`
  }
}

/** Per platform (`linux/amd64`), an image's layers (`rootfs.diff_ids`). */
export type PlatformLayers = Record<string, string[]>

/**
 * SPEC 4a's parent check: undefined when, for every platform of `image`, its layers start with the
 * layers of each parent image this run uses; else why not (`was built on another base image (linux/arm64)`).
 */
export function parentMismatch(
  image: PlatformLayers,
  parents: Record<string, PlatformLayers>
): string | undefined {
  const platforms = Object.keys(image).sort()
  if (platforms.length === 0) return 'has no image to compare'
  for (const [parent, layers] of Object.entries(parents)) {
    for (const platform of platforms) {
      const below = layers[platform]
      if (!below) return `has a ${platform} image, which the ${parent} image this run uses has not`
      const own = image[platform]
      if (below.length > own.length || below.some((d, i) => own[i] !== d))
        return `was built on another ${parent} image (${platform})`
    }
  }
  return undefined
}

/**
 * `parent <name> rebuilt` again, once the parents are decided under SPEC 4a: a parent reused by its
 * inputs is no reason for its children, and a parent that now builds (`inputs changed since`) is one.
 * A layer left with no reason reuses its stable image; one that gains a reason loses its ref.
 */
export function syncParentReasons(
  d: LayerDecision,
  layer: LayerConfig,
  builds: (parent: string) => boolean,
  stable: FoundImage | null | undefined
): LayerDecision {
  const parentReasons = layer.from.filter(p => builds(p.layer)).map(p => `parent ${p.layer} rebuilt`)
  const others = d.reasons.filter(r => !/^parent .+ rebuilt$/.test(r))
  // SPEC 4 order: `forced` first, then the parents, then the rest.
  const forced = others[0] === 'forced' ? ['forced'] : []
  const reasons = [...forced, ...parentReasons, ...others.slice(forced.length)]
  if (reasons.join('\n') === d.reasons.join('\n')) return d
  const out: DecisionDraft = { ...d, reasons, build: reasons.length > 0 }
  if (out.build) delete out.ref
  else if (stable && d.stable) out.ref = `${d.stable}@${stable.digest}`
  return out
}

/** The plan JSON's `same-inputs` of a layer reused by its inputs, and `attested` where one vouched (SPEC 4b). */
export function sameInputsJson(d: LayerDecision): { 'same-inputs'?: string; attested?: string } {
  if (d.sameInputs === undefined) return {}
  return { 'same-inputs': d.sameInputs, ...(d.attested !== undefined && { attested: d.attested }) }
}

/**
 * A `plan` input's `same-inputs` of one layer and who built that image (`attested`, SPEC 4b), checked:
 * `fail` gets why they cannot be followed.
 */
export function sameInputsOfPlan(
  d: Record<string, unknown>,
  fail: (why: string) => never
): { sameInputs?: string; attested?: string } {
  const same = d['same-inputs']
  if (same !== undefined && !(typeof same === 'string' && /^[^\s@]+:[^\s@]+@sha256:[0-9a-f]{64}$/.test(same)))
    fail('"same-inputs" is not <image>:<input tag>@sha256:<digest>')
  if (same !== undefined && d.build !== false) fail('has "same-inputs" but builds')
  const attested = d.attested
  if (
    attested !== undefined &&
    !(same && typeof attested === 'string' && /^[^\p{Cc}]{1,500}$/u.test(attested))
  )
    fail('"attested" is not one line about a same-inputs image')
  return {
    ...(same !== undefined && { sameInputs: same as string }),
    ...(attested !== undefined && { attested })
  }
}

/** Where the versioned and moving tags of a layer reused by its inputs go at the end of the step. */
export function sameInputsRetags(
  layers: Record<string, LayerDecision>
): { layer: string; source: string; targets: string[] }[] {
  return Object.entries(layers)
    .filter(([, d]) => d.sameInputs !== undefined && d.selected)
    .map(([layer, d]) => ({
      layer,
      source: d.sameInputs as string,
      targets: unique([...(d.versioned ?? d.tags), ...(d.moving ?? [])]).filter(t => t !== inputRef(d))
    }))
}

/** `image:input-tag` of a layer reused by its inputs (its `same-inputs` without the digest). */
function inputRef(d: LayerDecision): string | undefined {
  return d.sameInputs === undefined ? undefined : withoutDigest(d.sameInputs)
}

function tagOf(ref: string, image: string): string {
  return ref.startsWith(`${image}:`) ? ref.slice(image.length + 1) : ref
}

function unique(list: string[]): string[] {
  return [...new Set(list)]
}

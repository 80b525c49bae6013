// A `plan` input is untrusted (SPEC 10): it comes through a job output that anyone who can edit the
// workflow, or a compromised step, could rewrite. Before it is followed, every layer, tag, ref and
// stable ref in it must be one this config and this event would make. Pure.
import { inputTag, isInputDigest, shortInputs } from './input-digest.js'
import { decidedTags, type DecidedTags } from './plan.js'
import { cacheScopeOf, parentLayers } from './tags.js'
import type { CacheScope, EventContext, LayerConfig, LayerDecision, Plan, StrataConfig } from './types.js'

const DIGEST = /@sha256:[0-9a-f]{64}$/
const SHA = /^(?:[0-9a-f]{40}|[0-9a-f]{64})$/

/** {date} and {timestamp} differ between the plan's job and this one: compare them as shapes. */
function shape(ref: string): string {
  return ref.replace(/\d{8}-\d{6}/g, '<timestamp>').replace(/\d{8}/g, '<date>')
}

type Refuse = (why: string) => never

/**
 * Throws, naming the first thing in `plan` that this config and event would not make. `deleted`: this
 * step's own event deleted its branch (a plan cannot say so for it: that would switch the kind of run).
 */
export function checkPlan(plan: Plan, config: StrataConfig, ctx: EventContext, deleted?: boolean): void {
  const refuse: Refuse = why => {
    throw new Error(
      `the plan input does not match ${config.file}: ${why}; pass the \`plan\` output of a \`mode: plan\` ` +
        'step of this run that read the same config'
    )
  }
  checkShape(plan, config, refuse)
  checkDeleted(plan, refuse, deleted)
  if (plan.deleted) return
  const parents = parentLayers(config.layers)
  const scope = cacheScopeOf(ctx)
  const byName = new Map(config.layers.map(l => [l.name, l]))
  for (const [name, d] of Object.entries(plan.layers)) {
    const layer = byName.get(name)!
    if (d.inputs !== undefined && !isInputDigest(d.inputs))
      refuse(`layer "${name}" inputs ${JSON.stringify(d.inputs)} is not an input digest (sha256:<64 hex>)`)
    checkTags(layer, d, decidedTags(layer, ctx, parents, d.inputs && shortInputs(d.inputs)), refuse)
    checkCarried(layer, d, plan, scope, refuse)
  }
}

/** Every layer of the config and no other; commits that are commits. */
function checkShape(plan: Plan, config: StrataConfig, refuse: Refuse): void {
  const missing = config.order.filter(n => !Object.hasOwn(plan.layers, n))
  if (missing.length) refuse(`it has no layer ${missing.map(n => `"${n}"`).join(', ')}`)
  const names = new Set(config.layers.map(l => l.name))
  const unknown = Object.keys(plan.layers).filter(n => !names.has(n))
  if (unknown.length)
    refuse(`it names layer ${unknown.map(n => JSON.stringify(n)).join(', ')}, which the config has not`)
  for (const key of ['base', 'head'] as const) {
    const v = plan[key]
    if (v !== undefined && !SHA.test(v)) refuse(`its "${key}" ${JSON.stringify(v)} is not a commit sha`)
  }
}

/** What kind of run this is comes from this step's own event, never from the plan. */
function checkDeleted(plan: Plan, refuse: Refuse, deleted?: boolean): void {
  if (deleted === undefined) return
  if ((plan.deleted === true) !== deleted) {
    refuse(
      deleted
        ? 'this push deleted the branch, and the plan does not say so'
        : 'it says "deleted": true, and this step’s event did not delete a branch'
    )
  }
  if (!plan.deleted) return
  const acting = Object.entries(plan.layers).find(([, d]) => d.build || d.tags.length || d.ref || d.stable)
  if (acting) refuse(`layer "${acting[0]}" builds or names images in a plan for a deleted branch`)
}

/** Its tags, stable ref, ref and same-inputs image are the layer's own. */
function checkTags(layer: LayerConfig, d: LayerDecision, tags: DecidedTags, refuse: Refuse): void {
  const name = layer.name
  // SPEC 4a: the input tag goes with the versioned tags, and a reused-by-inputs layer's ref is it.
  const inputRef = d.inputs ? `${layer.image}:${inputTag(name, d.inputs)}` : undefined
  const own = new Set([...tags.tags, ...(inputRef ? [inputRef] : []), tags.stable].map(shape))
  const at = `layer "${name}"`
  const names = (refs: string[]): string => refs.map(r => r.slice(layer.image.length + 1)).join(', ')
  const check = (what: string, ref: string, ok: boolean): void => {
    if (ok) return
    const elsewhere = !ref.startsWith(`${layer.image}:`) && !ref.startsWith(`${layer.image}@`)
    refuse(
      elsewhere
        ? `${at} ${what} ${JSON.stringify(ref)} is not in the layer's repository ${layer.image}`
        : `${at} ${what} ${JSON.stringify(ref)} is not one of the layer's tags (${names(tags.tags)}; stable ${tags.stableTag})`
    )
  }
  for (const t of d.tags) check('tag', t, own.has(shape(t)))
  if (d.stable !== undefined) check('stable ref', d.stable, d.stable === tags.stable)
  // A reused layer's ref is its stable tag pinned by digest; a built one's, its tag (and digest).
  if (d.ref !== undefined) check('ref', d.ref, own.has(shape(d.ref.replace(DIGEST, ''))))
  if (d.sameInputs !== undefined) {
    const ok = inputRef !== undefined && d.sameInputs.replace(DIGEST, '') === inputRef
    check('same-inputs', d.sameInputs, ok && DIGEST.test(d.sameInputs))
  }
  if (d.inputTag !== undefined) check('input-tag', d.inputTag, d.inputTag === inputRef)
}

/** What the plan carries for the build: the config's parents (each pinned as its own decision says), this event's cache scope. */
function checkCarried(
  layer: LayerConfig,
  d: LayerDecision,
  plan: Plan,
  scope: CacheScope,
  refuse: Refuse
): void {
  const at = `layer "${layer.name}"`
  if (d.parents !== undefined) {
    const want = layer.from.map(p => {
      const pd = plan.layers[p.layer]
      return { layer: p.layer, buildArg: p.buildArg, ref: pd && !pd.build ? pd.ref : undefined }
    })
    const same =
      d.parents.length === want.length &&
      d.parents.every(
        (p, i) => p.layer === want[i].layer && p.buildArg === want[i].buildArg && p.ref === want[i].ref
      )
    if (!same)
      refuse(
        `${at} parents ${JSON.stringify(d.parents)} are not its parents in the config with their images in the plan`
      )
  }
  const s = d.cacheScope
  if (s !== undefined && (s.branch !== scope.branch || s.defaultBranch !== scope.defaultBranch))
    refuse(
      `${at} cache-scope ${JSON.stringify(s)} is not this event's (${scope.branch}, ${scope.defaultBranch})`
    )
}

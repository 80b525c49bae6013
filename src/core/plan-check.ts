// A `plan` input is untrusted (SPEC 10): it comes through a job output that anyone who can edit the
// workflow, or a compromised step, could rewrite. Before it is followed, every layer, tag, ref and
// stable ref in it must be one this config and this event would make. Pure.
import { inputTag, isInputDigest, shortInputs } from './input-digest.js'
import { layerTags, parentLayers } from './tags.js'
import type { EventContext, Plan, StrataConfig } from './types.js'

const DIGEST = /@sha256:[0-9a-f]{64}$/
const SHA = /^(?:[0-9a-f]{40}|[0-9a-f]{64})$/

/** {date} and {timestamp} differ between the plan's job and this one: compare them as shapes. */
function shape(ref: string): string {
  return ref.replace(/\d{8}-\d{6}/g, '<timestamp>').replace(/\d{8}/g, '<date>')
}

/**
 * Throws, naming the first thing in `plan` that this config and event would not make. `deleted`: this
 * step's own event deleted its branch (a plan cannot say so for it: that would switch the kind of run).
 */
export function checkPlan(plan: Plan, config: StrataConfig, ctx: EventContext, deleted?: boolean): void {
  const refuse = (why: string): never => {
    throw new Error(
      `the plan input does not match ${config.file}: ${why}; pass the \`plan\` output of a \`mode: plan\` ` +
        'step of this run that read the same config'
    )
  }
  const missing = config.order.filter(n => !Object.hasOwn(plan.layers, n))
  if (missing.length) refuse(`it has no layer ${missing.map(n => `"${n}"`).join(', ')}`)
  const byName = new Map(config.layers.map(l => [l.name, l]))
  const unknown = Object.keys(plan.layers).filter(n => !byName.has(n))
  if (unknown.length)
    refuse(`it names layer ${unknown.map(n => JSON.stringify(n)).join(', ')}, which the config has not`)
  for (const key of ['base', 'head'] as const) {
    const v = plan[key]
    if (v !== undefined && !SHA.test(v)) refuse(`its "${key}" ${JSON.stringify(v)} is not a commit sha`)
  }
  // What kind of run this is comes from this step's own event, never from the plan.
  if (deleted !== undefined && (plan.deleted === true) !== deleted) {
    refuse(
      deleted
        ? 'this push deleted the branch, and the plan does not say so'
        : 'it says "deleted": true, and this step’s event did not delete a branch'
    )
  }
  if (deleted !== undefined && plan.deleted) {
    const acting = Object.entries(plan.layers).find(([, d]) => d.build || d.tags.length || d.ref || d.stable)
    if (acting) refuse(`layer "${acting[0]}" builds or names images in a plan for a deleted branch`)
  }
  if (plan.deleted) return

  const parents = parentLayers(config.layers)
  for (const [name, d] of Object.entries(plan.layers)) {
    const layer = byName.get(name)!
    if (d.inputs !== undefined && !isInputDigest(d.inputs))
      refuse(`layer "${name}" inputs ${JSON.stringify(d.inputs)} is not an input digest (sha256:<64 hex>)`)
    const inputs = d.inputs && shortInputs(d.inputs)
    const tags = layerTags(layer, ctx, { isLeaf: !parents.has(name), parents, inputs })
    const stable = `${layer.image}:${tags.stable}`
    // SPEC 4a: the input tag goes with the versioned tags, and a reused-by-inputs layer's ref is it.
    const inputTags = d.inputs ? [inputTag(name, d.inputs)] : []
    const own = new Set(
      [...tags.versioned, ...inputTags, ...tags.moving, tags.stable].map(t => shape(`${layer.image}:${t}`))
    )
    const at = `layer "${name}"`
    const check = (what: string, ref: string, ok: boolean): void => {
      if (ok) return
      const elsewhere = !ref.startsWith(`${layer.image}:`) && !ref.startsWith(`${layer.image}@`)
      refuse(
        elsewhere
          ? `${at} ${what} ${JSON.stringify(ref)} is not in the layer's repository ${layer.image}`
          : `${at} ${what} ${JSON.stringify(ref)} is not one of the layer's tags (${[...tags.versioned, ...tags.moving].join(', ')}; stable ${tags.stable})`
      )
    }
    for (const t of d.tags) check('tag', t, own.has(shape(t)))
    if (d.stable !== undefined) check('stable ref', d.stable, d.stable === stable)
    // A reused layer's ref is its stable tag pinned by digest; a built one's, its tag (and digest).
    if (d.ref !== undefined) check('ref', d.ref, own.has(shape(d.ref.replace(DIGEST, ''))))
    if (d.sameInputs !== undefined) {
      const ok = inputTags.length > 0 && d.sameInputs.replace(DIGEST, '') === `${layer.image}:${inputTags[0]}`
      check('same-inputs', d.sameInputs, ok && DIGEST.test(d.sameInputs))
    }
  }
}

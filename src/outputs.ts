// The action's outputs (SPEC 2): small values, file names only inside JSON; the whole plan goes to a file.
import { pinnedDigest } from './core/image-ref.js'
import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { planToJson } from './core/plan.js'
import { parentLayers } from './core/tags.js'
import type { BuildResult, Plan, StrataConfig } from './core/types.js'

/** changed_files holds at most this many paths; plan-file has them all. */
export const MAX_CHANGED_FILES = 1000
/** Matches per layer kept in the `plan` output (the decision needs none of them). */
export const MAX_PLAN_MATCHES = 20
export const PLAN_FILE = 'strata-plan.json'

/** `build_<layer>`: `-` in a layer name becomes `_`, so `steps.x.outputs.build_my_layer` works. */
export function buildOutputName(layer: string): string {
  return `build_${layer.replace(/-/g, '_')}`
}

/** The plan with each layer's final ref: the new image if built here, else the reused one. */
export function withFinalRefs(plan: Plan, build?: BuildResult): Plan {
  const layers: Plan['layers'] = {}
  for (const [name, d] of Object.entries(plan.layers)) {
    const built = build?.layers[name]
    // An unknown decision (SPEC 8) names no image: its stable tag may not exist.
    const failed = built?.status === 'failed' || built?.status === 'skipped' || d.unknown === true
    // Not built yet (plan mode, or another job's layer): the versioned tag its build pushes.
    const ref = failed ? undefined : (built?.ref ?? d.ref ?? (d.build ? d.tags[0] : d.stable))
    layers[name] = { ...d, ...(ref !== undefined && { ref }) }
  }
  return { ...plan, layers }
}

/** The leaf layer whose ref is `image_ref`: the last layer in config order that no layer builds FROM. */
export function leafLayer(config: StrataConfig): string {
  const parents = parentLayers(config.layers)
  const leaves = config.layers.filter(l => !parents.has(l.name))
  return (leaves[leaves.length - 1] ?? config.layers[config.layers.length - 1]).name
}

export function digestOf(ref: string | undefined): string | undefined {
  return pinnedDigest(ref)
}

/** Every output but plan-file, as the strings setOutput takes. */
export function computeOutputs(
  config: StrataConfig,
  plan: Plan,
  paths: string[],
  build?: BuildResult
): Record<string, string> {
  const final = withFinalRefs(plan, build)
  const out: Record<string, string> = {}
  for (const name of config.order) {
    const d = final.layers[name]
    if (!d) continue
    out[buildOutputName(name)] = String(d.build)
    out[`${name}_ref`] = d.ref ?? ''
    // The same with `-` as `_`, as build_<layer> has it (the name with dashes stays for existing users).
    if (name.includes('-')) out[`${name.replace(/-/g, '_')}_ref`] = d.ref ?? ''
  }
  const leaf = final.layers[leafLayer(config)]
  const imageRef = leaf?.ref ?? ''
  out.image_ref = imageRef
  out.digest = build?.layers[leafLayer(config)]?.digest ?? digestOf(imageRef) ?? ''
  out.plan = JSON.stringify(planToJson(final, { maxMatches: MAX_PLAN_MATCHES }))
  out.changed_files = JSON.stringify(paths.slice(0, MAX_CHANGED_FILES))
  return out
}

/** The whole plan (every match) and every changed file, for steps that need more than outputs hold. */
export function planFileContent(plan: Plan, paths: string[], build?: BuildResult): string {
  const json = planToJson(withFinalRefs(plan, build))
  return `${JSON.stringify({ ...json, changed_files: paths }, null, 2)}\n`
}

/** Writes `strata-plan.json` into `dir` (RUNNER_TEMP); returns its path. */
export async function writePlanFile(
  dir: string,
  plan: Plan,
  paths: string[],
  build?: BuildResult
): Promise<string> {
  const file = join(dir, PLAN_FILE)
  await writeFile(file, planFileContent(plan, paths, build))
  return file
}

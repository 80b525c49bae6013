// The results of a build step: each part of it (prepare, session, push, assembly, promotion) returns
// the results of the layers it handled, and executePlan() folds them into the next part's view and,
// at the end, into the one BuildResult. No result is changed in place.
import type { LayerResult, Logger, Plan } from '../core/types.js'

/** What one part of a step did: the results of the layers it handled and the docker commands it ran. */
export interface StepOutcome {
  /** Each replaces the layer's earlier result when folded. */
  results: LayerResult[]
  commands: string[][]
}

/** The layers' results so far: read by the next part of the step, never written. */
export type Results = Readonly<Record<string, LayerResult>>

/** The results of `outcomes`, later ones replacing earlier ones of the same layer: a new record. */
export function foldResults(
  results: Results,
  ...outcomes: (readonly LayerResult[])[]
): Record<string, LayerResult> {
  const out = { ...results }
  for (const list of outcomes) for (const r of list) out[r.name] = r
  return out
}

/** Before anything runs: reused, built by another step (`not-selected`), or to build here (`built` until told otherwise). */
export function initialResults(plan: Plan, order: readonly string[]): Record<string, LayerResult> {
  const out: Record<string, LayerResult> = {}
  for (const name of order) {
    const d = plan.layers[name]
    if (!d) continue
    const status = !d.build ? 'reused' : d.selected ? 'built' : 'not-selected'
    out[name] = { name, status, ref: d.ref, reasons: [...d.reasons] }
  }
  return out
}

/** A layer not built because `parent` failed (SPEC 7 wording). */
export function skipped(r: LayerResult, parent: string, log: Logger): LayerResult {
  const reason = `parent ${parent} failed`
  log.warning(`${r.name}: not built: ${reason}`)
  return { ...r, status: 'skipped', error: reason, reasons: [...r.reasons, reason] }
}

/** `r` failed with `error`. */
export function failed(r: LayerResult, error: string, more: Partial<LayerResult> = {}): LayerResult {
  return { ...r, ...more, status: 'failed', error }
}

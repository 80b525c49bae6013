// The decision in words (SPEC 8): one log line a layer before any build, with why it builds, what
// it reuses, and why it has no input digest or did not reuse an image with the same inputs. Pure.
import { splitImageRef } from './image-ref.js'
import type { LayerDecision, Plan, StrataConfig } from './types.js'

const MAX_LISTED_MATCHES = 10

/** Log lines that say the decision before any build (SPEC 8), one a layer in topological order. */
export function describePlan(plan: Plan, config: StrataConfig): string[] {
  if (plan.deleted) return ['the branch was deleted: nothing to build']
  const images = new Map(config.layers.map(l => [l.name, l.image]))
  const order = [...config.order.filter(n => n in plan.layers), ...Object.keys(plan.layers)]
  const lines: string[] = []
  for (const name of new Set(order)) {
    const d = plan.layers[name]
    if (d.unknown) {
      lines.push(`${name}: unknown — its registry could not be read (see the error below)`)
    } else if (d.sameInputs !== undefined) {
      // SPEC 4a's line: the reasons it would have built for, and the image with the same inputs.
      const { tag } = splitImageRef(d.sameInputs)
      lines.push(`${name}: reuse — ${d.reasons.join(', ')}, but ${tag} has the same inputs`)
    } else if (d.build) {
      const where = d.selected ? 'build' : 'build in another step'
      const note = d.selected ? '' : ' (not in this step’s `layers`)'
      lines.push(`${name}: ${where} — ${d.reasons.join(', ')}${note}`)
      for (const m of d.matches.slice(0, MAX_LISTED_MATCHES)) {
        lines.push(`  ${shownPath(m.path)} (matches ${m.pattern})`)
      }
      if (d.matches.length > MAX_LISTED_MATCHES) {
        lines.push(`  … and ${d.matches.length - MAX_LISTED_MATCHES} more (see plan-file)`)
      }
      // SPEC 7a: which path the layer takes, and why BuildKit builds it when it does.
      if (d.assembly === 'assembled') lines.push('  → assembled in the registry (no BuildKit session)')
      else if (d.assembly !== undefined) lines.push(`  → built by BuildKit: ${d.assembly}`)
      if (d.notReused !== undefined) lines.push(`  not reused: ${d.notReused}`)
    } else {
      const why = plan.changes.source === 'none' ? 'no diff for this event' : 'no matching change'
      lines.push(`${name}: reuse ${reuseName(d, images.get(name))} (${why})`)
    }
    // SPEC 3a: why it has no input digest (never reused by its inputs).
    if (d.noDigest !== undefined) lines.push(`  ${d.noDigest}`)
  }
  return lines
}

/**
 * File names are untrusted: one with a line break could start a workflow command (`::error::`) or
 * move the terminal's cursor. Such a name is shown as a JSON string, on one line.
 */
function shownPath(path: string): string {
  // eslint-disable-next-line no-control-regex
  return /[\u0000-\u001f\u007f]/.test(path) ? JSON.stringify(path) : path
}

function reuseName(d: LayerDecision, image: string | undefined): string {
  const stable = d.stable ?? 'its stable tag'
  const short = image && stable.startsWith(`${image}:`) ? stable.slice(image.length + 1) : stable
  const digest = d.ref && splitImageRef(d.ref).digest
  return digest !== undefined ? `${short}@${digest}` : short
}

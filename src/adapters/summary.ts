// The job summary (SPEC 8): one row a layer. renderSummary() is pure, so tests read its markdown;
// writeSummary() is the only part that touches the runner.
import { pinnedDigest, splitImageRef } from '../core/image-ref.js'
import * as core from '@actions/core'
import type { BuildResult, LayerResult } from '../core/types.js'
import type { Plan } from '../core/types.js'

export interface SummaryContext {
  /** Event name, base and head, for the line above the table (default: from the plan). */
  event?: string
  /** Layer order (topological); default: the plan's own order. */
  order?: string[]
  dryRun?: boolean
  push?: boolean
  /** Draw the layer graph (Mermaid): each layer's parents, and the external images each reads. */
  graph?: { parents: Record<string, string[]>; externals?: Record<string, string[]> }
  /** Warnings of the plan (SPEC 3a), one line each. */
  warnings?: string[]
}

const MAX_SUMMARY_MATCHES = 10

const HEADER = '| Layer | Status | Reasons | Tags | Digest | Duration | Cached steps |'
const RULE = '| --- | --- | --- | --- | --- | --- | --- |'

export function renderSummary(plan: Plan, result: BuildResult | undefined, ctx: SummaryContext = {}): string {
  const names = ctx.order ?? Object.keys(plan.layers)
  const lines = ['### Strata', '']
  const range = plan.base && plan.head ? ` ${short(plan.base)}…${short(plan.head)}` : ''
  const changes =
    plan.changes.source === 'none'
      ? 'no diff for this event'
      : plan.changes.source === 'unknown'
        ? 'changes unknown'
        : `${plan.changes.count} changed ${plan.changes.count === 1 ? 'file' : 'files'} (from ${plan.changes.source === 'api' ? 'the GitHub API' : 'git'})`
  const mode = ctx.dryRun ? ', dry run' : ctx.push === false ? ', not pushed' : ''
  // Bytes get a column once a build reported them, so plans and older results keep their table.
  const withBytes = names.some(n => {
    const r = result?.layers[n]
    return r?.bytesPulled !== undefined || r?.bytesPushed !== undefined
  })
  const header = withBytes ? `${HEADER} Pulled / pushed |` : HEADER
  const rule = withBytes ? `${RULE} --- |` : RULE
  lines.push(`${cell(ctx.event ?? plan.event)}${range}: ${changes}${mode}`, '', header, rule)

  for (const name of names) {
    const d = plan.layers[name]
    if (!d) continue
    const r: LayerResult | undefined = result?.layers[name]
    const status = d.unknown ? '❓ unknown' : statusOf(d.build, d.selected, r, ctx.dryRun)
    const reasons = d.unknown
      ? 'the registry could not be read'
      : (reusedWhy(plan, name, r) ?? (r?.reasons ?? d.reasons).map(cell).join('<br>')) || '—'
    const tags = d.build ? d.tags.map(t => `\`${cell(tagOf(t))}\``).join('<br>') : '—'
    const ref = r?.ref ?? d.ref
    const digest = r?.digest ?? pinnedDigest(ref)
    const duration = r?.durationMs !== undefined ? seconds(r.durationMs) : '—'
    const steps = r?.totalSteps ? `${r.cachedSteps ?? 0} / ${r.totalSteps}` : '—'
    const bytes =
      r?.bytesPulled !== undefined || r?.bytesPushed !== undefined
        ? `${humanBytes(r.bytesPulled)} / ${humanBytes(r.bytesPushed)}`
        : '—'
    lines.push(
      `| ${cell(name)} | ${status} | ${reasons} | ${tags} | ${digest ? `\`${digest.slice(0, 19)}…\`` : '—'} | ${duration} | ${steps} |` +
        (withBytes ? ` ${bytes} |` : '')
    )
  }

  lines.push(...reusedImages(plan, names))
  lines.push(...cacheExports(result, names))
  if (ctx.graph) lines.push('', ...layerGraph(plan, result, names, ctx))
  lines.push(...inputsAndWarnings(plan, names, ctx.warnings ?? []))

  // SPEC 8: why the decision is unknown, once per registry.
  for (const m of plan.unreadable ?? []) lines.push('', `> ❓ ${cell(m)}`)
  const failures = names.map(n => result?.layers[n]).filter((r): r is LayerResult => !!r?.error)
  if (failures.length) {
    lines.push('')
    for (const r of failures) lines.push(`**${cell(r.name)}** ${r.status}: ${cell(r.error ?? '')}`, '')
    // A failed build moves nothing; a failed move puts back the moves made (the error says which).
    const buildFailed = failures.some(r => r.status === 'failed' || r.status === 'skipped')
    if (buildFailed) lines.push('No moving tag (stable, `latest`, `pr-N`, branch) was moved.')
  }
  return lines.join('\n').trimEnd() + '\n'
}

/** SPEC 4b: each layer reused by its inputs, who built that image, and whether an attestation vouched for it. */
function reusedImages(plan: Plan, names: string[]): string[] {
  const rows = names.flatMap(n => {
    const d = plan.layers[n]
    if (!d?.sameInputs) return []
    const who = d.attested
      ? `built by ${cell(d.attested)}; its build provenance attestation verified`
      : 'trusted by its labels and tags alone (no attestation was asked for)'
    const at = d.sameInputs.lastIndexOf('@')
    const image = `${tagOf(d.sameInputs.slice(0, at))}@${d.sameInputs.slice(at + 1, at + 20)}…`
    return [`- **${cell(n)}** reused \`${cell(image)}\`: ${who}`]
  })
  return rows.length ? ['', '**Reused images with the same inputs**', '', ...rows] : []
}

/** SPEC 8: why a reused layer needed nothing: no matching change, or the image with the same inputs. */
function reusedWhy(plan: Plan, name: string, r: LayerResult | undefined): string | undefined {
  const d = plan.layers[name]
  if (d.build || (r && r.status !== 'reused')) return undefined
  if (d.sameInputs) {
    const ref = d.sameInputs.slice(0, d.sameInputs.lastIndexOf('@'))
    const by = d.sameInputsBy ? `, built by ${d.sameInputsBy}` : ''
    return cell(`same inputs as ${ref.slice(ref.lastIndexOf(':') + 1)}${by}`)
  }
  if (d.reasons.length) return undefined
  return plan.changes.source === 'none' ? 'no diff for this event' : 'no matching change'
}

/** What each cache export wrote and how long it took (SPEC 6: an export must pay for itself). */
function cacheExports(result: BuildResult | undefined, names: string[]): string[] {
  const rows = names.flatMap(n =>
    (result?.layers[n]?.cacheExports ?? []).map(
      e =>
        `| ${cell(n)} | ${e.kind} | ${e.seconds !== undefined ? `${e.seconds.toFixed(1)} s` : '—'} | ` +
        `${e.blobs} | ${e.bytes ? humanBytes(e.bytes) : '—'} |`
    )
  )
  if (!rows.length) return []
  return ['', '| Layer | Cache export | Time | Blobs | Bytes |', '| --- | --- | --- | --- | --- |', ...rows]
}

function statusOf(build: boolean, selected: boolean, r: LayerResult | undefined, dryRun?: boolean): string {
  if (r?.status === 'failed') return '❌ failed'
  if (r?.status === 'skipped') return '⏭️ skipped'
  if (!build) return '♻️ reused'
  if (!selected || r?.status === 'not-selected') return 'built by another step'
  if (dryRun) return r?.status === 'assembled' ? 'would assemble' : 'would build'
  if (r?.status === 'built') return '✅ built'
  if (r?.status === 'assembled') return '🧩 assembled'
  return 'to build'
}

/** The changed inputs of each layer (path and what made it an input), then the plan's warnings. */
function inputsAndWarnings(plan: Plan, names: string[], warnings: string[]): string[] {
  const lines: string[] = []
  const matched = names.filter(n => plan.layers[n]?.matches.length)
  if (matched.length) {
    lines.push('', '<details><summary>Changed inputs</summary>', '')
    for (const n of matched) {
      const ms = plan.layers[n].matches
      lines.push(`**${cell(n)}**`, '')
      for (const m of ms.slice(0, MAX_SUMMARY_MATCHES))
        lines.push(`- \`${cell(m.path)}\` (${cell(m.pattern)})`)
      if (ms.length > MAX_SUMMARY_MATCHES)
        lines.push(`- … and ${ms.length - MAX_SUMMARY_MATCHES} more (see plan-file)`)
      lines.push('')
    }
    lines.push('</details>')
  }
  if (warnings.length) {
    lines.push('')
    for (const w of warnings) lines.push(`> ⚠️ ${cell(w)}`, '')
  }
  return lines
}

/**
 * The layer graph as a Mermaid flowchart (GitHub renders it): one node a layer with its status and
 * first reason, parents above children, external images as their own nodes. Ids are generated
 * (`L0`, `E0`); every label is escaped, so no name or image can end a label or add a statement.
 */
function layerGraph(
  plan: Plan,
  result: BuildResult | undefined,
  names: string[],
  ctx: SummaryContext
): string[] {
  const graph = ctx.graph as NonNullable<SummaryContext['graph']>
  const shown = names.filter(n => plan.layers[n])
  const id = new Map(shown.map((n, i) => [n, `L${i}`]))
  const lines = ['```mermaid', shown.length > 8 ? 'flowchart LR' : 'flowchart TD']
  const classes: Record<string, string[]> = {}
  for (const n of shown) {
    const d = plan.layers[n]
    const r = result?.layers[n]
    const status = statusOf(d.build, d.selected, r, ctx.dryRun)
    const reasons = r?.reasons ?? d.reasons
    const why = reasons.length
      ? `${reasons[0]}${reasons.length > 1 ? ` +${reasons.length - 1}` : ''}`
      : 'no matching change'
    lines.push(
      `  ${id.get(n)}["${mermaidText(n)}<br/>${mermaidText(status)}<br/><small>${mermaidText(short40(why))}</small>"]`
    )
    // Not built yet (plan mode, a dry run): `planned`, never coloured as built.
    const failed = r?.status === 'failed' || r?.status === 'skipped'
    const made = (r?.status === 'built' || r?.status === 'assembled') && !ctx.dryRun
    const kind = failed ? 'failed' : !d.build ? 'reused' : made ? 'built' : 'planned'
    ;(classes[kind] ??= []).push(id.get(n) as string)
  }
  const images = [...new Set(shown.flatMap(n => graph.externals?.[n] ?? []))]
  const ext = new Map(images.map((image, i) => [image, `E${i}`]))
  for (const image of images) lines.push(`  ${ext.get(image)}(["${mermaidText(image)}"])`)
  for (const n of shown) {
    for (const image of new Set(graph.externals?.[n] ?? []))
      lines.push(`  ${ext.get(image)} -.-> ${id.get(n)}`)
    for (const p of graph.parents[n] ?? []) if (id.has(p)) lines.push(`  ${id.get(p)} --> ${id.get(n)}`)
  }
  lines.push(
    '  classDef built fill:#dafbe1,stroke:#1a7f37',
    '  classDef reused fill:#ddf4ff,stroke:#0969da',
    '  classDef failed fill:#ffebe9,stroke:#cf222e',
    '  classDef external fill:#f6f8fa,stroke:#8c959f,stroke-dasharray:3'
  )
  if (classes.planned) lines.push('  classDef planned fill:#fff8c5,stroke:#9a6700,stroke-dasharray:4')
  for (const [kind, ids] of Object.entries(classes)) lines.push(`  class ${ids.join(',')} ${kind}`)
  if (images.length) lines.push(`  class ${[...ext.values()].join(',')} external`)
  lines.push('```')
  return lines
}

/** Text inside a quoted Mermaid label: anything but plain characters becomes an entity code (`#34;`). */
function mermaidText(s: string): string {
  return s.replace(/[^A-Za-z0-9 _.:/@+,()-]/gu, c => `#${c.codePointAt(0)};`)
}

function short40(s: string): string {
  return s.length > 40 ? `${s.slice(0, 39)}…` : s
}

/** `repo:tag` → `tag` (a registry port is no tag). */
function tagOf(ref: string): string {
  return splitImageRef(ref).tag ?? ref
}

/** Text inside a table cell: no pipe, no newline, no HTML. */
function cell(s: string): string {
  return s
    .replace(/\r?\n/g, ' ')
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/\|/g, '\\|')
    .replace(/`/g, "'")
}

function seconds(ms: number): string {
  if (ms < 60000) return `${(ms / 1000).toFixed(1)} s`
  return `${Math.floor(ms / 60000)} min ${Math.round((ms % 60000) / 1000)} s`
}

/** Decimal units, as buildx prints them: `946 B`, `3.5 kB`, `65.1 MB`; `—` when not reported. */
export function humanBytes(n: number | undefined): string {
  if (n === undefined) return '—'
  if (n < 1000) return `${n} B`
  const units = ['kB', 'MB', 'GB', 'TB']
  let v = n / 1000
  let i = 0
  while (v >= 999.95 && i < units.length - 1) {
    v /= 1000
    i++
  }
  return `${v.toFixed(1)} ${units[i]}`
}

function short(sha: string): string {
  return /^[0-9a-f]{40}$/.test(sha) ? sha.slice(0, 7) : sha
}

/** Appends `markdown` to the job summary; false (never a throw) where there is none (a terminal). */
export async function writeSummary(markdown: string): Promise<boolean> {
  if (!process.env.GITHUB_STEP_SUMMARY) return false
  try {
    await core.summary.addRaw(markdown, true).write()
    return true
  } catch (e) {
    core.warning(`job summary not written: ${(e as Error).message}`)
    return false
  }
}

// runCleanup(): mode cleanup (issue 6). For each repository of the config: list every tag and
// digest, ask the GitHub API the state of the pull requests met in pr tags, let the pure
// decideRetention() decide, then delete by digest, oldest first, at most max-deletions a run.
//
// Safety: every listing of every repository must be complete before anything is deleted; a
// digest goes only when every tag on it goes (decideRetention); a deletion that fails stops the run.
import { mapLimit } from '../core/limit.js'
import {
  classifyTag,
  decideRetention,
  tagScheme,
  type PrState,
  type RetentionVersion
} from '../core/retention.js'
import type { Logger, StrataConfig } from '../core/types.js'
import { backendFor, type Backend } from './backends.js'
import type {
  CleanupDeps,
  CleanupImage,
  CleanupOptions,
  CleanupResult,
  CleanupRow,
  PullStates
} from './types.js'

export type {
  CleanupDeps,
  CleanupImage,
  CleanupOptions,
  CleanupResult,
  CleanupRow,
  PullStates,
  RowStatus
} from './types.js'

export async function runCleanup(
  config: StrataConfig,
  opts: CleanupOptions,
  log: Logger,
  deps: CleanupDeps
): Promise<CleanupResult> {
  if (!config.retention) {
    throw new Error(
      `${config.file} has no \`retention:\` section: mode cleanup has no rules to apply (add one; see docs/retention.md)`
    )
  }
  const result: CleanupResult = {
    dryRun: opts.dryRun,
    maxDeletions: opts.maxDeletions,
    images: [],
    warnings: [],
    errors: []
  }
  const warn = (m: string): void => {
    result.warnings.push(m)
    log.warning(m)
  }
  const images = [...new Set(config.layers.map(l => l.image))]
  const backends = new Map(images.map(image => [image, backendFor(image, deps, warn)]))
  const versions = await listAll(images, backends)
  // The state of every PR named by a pr tag; unknown counts as open (only its age can delete it).
  const prs = await pullStates(config, versions, opts, deps.pulls, log, warn)
  // Repository by repository, within one budget for the run.
  const run: CleanupRun = { config, opts, log, warn, result, prs, budget: opts.maxDeletions, stopped: false }
  for (const image of images) await cleanImage(run, image, backends.get(image)!, versions.get(image)!)
  logTotals(result, images, log)
  return result
}

/** One run's state while it goes through the repositories: the budget left, a failed deletion. */
interface CleanupRun {
  config: StrataConfig
  opts: CleanupOptions
  log: Logger
  warn: (m: string) => void
  result: CleanupResult
  prs: Record<number, PrState>
  /** Deletions left for this run (max-deletions over every repository). */
  budget: number
  /** A deletion failed: nothing more is deleted in this run. */
  stopped: boolean
}

/** Every listing, complete, before any decision: one failure and nothing is deleted. */
async function listAll(
  images: string[],
  backends: Map<string, Backend>
): Promise<Map<string, RetentionVersion[]>> {
  const listed = await Promise.allSettled(images.map(image => backends.get(image)!.list()))
  const failures = listed.flatMap((r, i) =>
    r.status === 'rejected' ? [`${images[i]}: ${(r.reason as Error).message ?? String(r.reason)}`] : []
  )
  if (failures.length > 0) {
    throw new Error(
      `cleanup stopped before deleting anything: a listing failed or came back incomplete.\n` +
        `${failures.join('\n')}\nNothing was deleted; fix the above and run again.`
    )
  }
  return new Map(
    images.map((image, i) => [image, (listed[i] as PromiseFulfilledResult<RetentionVersion[]>).value])
  )
}

/** One repository: decide within the budget left, show the decision, then delete (or, dry, do not). */
async function cleanImage(
  run: CleanupRun,
  image: string,
  backend: Backend,
  versions: RetentionVersion[]
): Promise<void> {
  const { config, opts, log } = run
  const decision = decideRetention({
    config,
    image,
    versions,
    prs: run.prs,
    now: opts.now,
    maxDeletions: run.budget,
    defaultBranch: opts.defaultBranch
  })
  run.budget -= decision.deletions.length
  const rows: CleanupRow[] = decision.rows.map(r => ({
    ...r,
    image,
    status: r.action === 'keep' ? 'kept' : opts.dryRun ? 'would delete' : 'not reached'
  }))
  const entry: CleanupImage = { image, backend: backend.kind, rows, deleted: [], capped: decision.capped }
  run.result.images.push(entry)
  if (versions.length === 0) {
    // Not "0 digests would be deleted": a wrong `image` would look like a clean repository.
    entry.empty = true
    run.warn(
      `${image}: no such repository, or it holds no image (the registry lists no tag and no digest): ` +
        `nothing to clean there; check \`image\` in ${config.file} and the registry login`
    )
    return
  }
  await reportDecision(run, entry, decision)
  if (opts.dryRun) {
    entry.deleted.push(...decision.deletions)
    if (decision.deletions.length > 0)
      log.info(`dry-run: ${decision.deletions.length} digests of ${image} would be deleted; nothing was`)
    return
  }
  await deleteDigests(run, entry, backend, decision.deletions)
}

/** The decision table in a log group, the rules' warnings, and the cap when it held digests back. */
async function reportDecision(
  run: CleanupRun,
  entry: CleanupImage,
  decision: ReturnType<typeof decideRetention>
): Promise<void> {
  const { image, rows } = entry
  await run.log.group(`Retention of ${image} (${decision.deletions.length} to delete)`, async () => {
    for (const line of decisionTable(rows)) run.log.info(line)
  })
  // The cap's own warning is replaced by the run-wide one below.
  for (const w of decision.warnings) if (!w.includes('max-deletions')) run.warn(w)
  if (decision.capped > 0) {
    run.warn(
      `${image}: the cap stopped the cleanup: ${decision.capped} more digests are due for deletion, but ` +
        `max-deletions is ${run.opts.maxDeletions} a run and the budget is spent; they wait for a later run ` +
        `(raise max-deletions to delete more at once)`
    )
  }
}

/** Deletes by digest, oldest first; the first failure stops this and every later repository. */
async function deleteDigests(
  run: CleanupRun,
  entry: CleanupImage,
  backend: Backend,
  digests: string[]
): Promise<void> {
  const { image, rows } = entry
  for (const digest of digests) {
    if (run.stopped) break
    const mine = rows.filter(r => r.digest === digest)
    try {
      await backend.remove(digest)
    } catch (e) {
      const m = `deleting ${image}@${digest} failed: ${(e as Error).message}; the cleanup stopped here`
      run.result.errors.push(m)
      run.log.warning(m)
      for (const r of mine) r.status = 'failed'
      run.stopped = true
      continue
    }
    entry.deleted.push(digest)
    for (const r of mine) {
      r.status = 'deleted'
      run.log.info(`deleted ${image}:${r.tag ?? '<untagged>'} ${digest} (${r.rule})`)
    }
  }
}

/** The run's last line: how many digests went (or would), how many tags stay; or that nothing exists. */
function logTotals(result: CleanupResult, images: string[], log: Logger): void {
  if (result.images.every(i => i.empty)) {
    log.info(
      `cleanup: nothing to clean: ${images.join(', ')} ${images.length > 1 ? 'do' : 'does'} not exist or hold no image`
    )
    return
  }
  const deleted = result.images.reduce((n, i) => n + i.deleted.length, 0)
  log.info(
    `cleanup: ${deleted} digests ${result.dryRun ? 'would be deleted (dry-run)' : 'deleted'}, ` +
      `${result.images.reduce((n, i) => n + i.rows.filter(r => r.status === 'kept').length, 0)} tags kept`
  )
}

async function pullStates(
  config: StrataConfig,
  versions: Map<string, RetentionVersion[]>,
  opts: CleanupOptions,
  pulls: PullStates | undefined,
  log: Logger,
  warn: (m: string) => void
): Promise<Record<number, PrState>> {
  const numbers = new Set<number>()
  for (const [image, list] of versions) {
    const scheme = tagScheme(config, image)
    for (const v of list)
      for (const t of v.tags) {
        const pr = classifyTag(t, scheme).pr
        if (pr !== undefined) numbers.add(pr)
      }
  }
  const prs: Record<number, PrState> = {}
  if (numbers.size === 0) return prs
  const [owner, repo] = (opts.repository ?? '').split('/')
  // wiring.ts makes the pull request client only with a token.
  if (!pulls || !owner || !repo) {
    log.notice(
      `cleanup: PR states are unknown (${!owner || !repo ? 'no repository (GITHUB_REPOSITORY)' : 'no token'}): ` +
        `PR images count as open and go only by age`
    )
    return prs
  }
  const list = [...numbers].sort((a, b) => a - b)
  const failed: number[] = []
  await mapLimit(list, 8, async n => {
    try {
      const p = await pulls.pullState(owner, repo, n)
      prs[n] = p.merged ? 'merged' : p.state === 'closed' ? 'closed' : 'open'
    } catch {
      failed.push(n) // unknown: open
    }
  })
  if (failed.length > 0) {
    warn(
      `cleanup: the state of PR ${failed
        .sort((a, b) => a - b)
        .map(n => `#${n}`)
        .join(', ')} could not be read from the GitHub API: those PR images count as open`
    )
  }
  return prs
}

const short = (digest: string): string => digest.replace(/^sha256:/, '').slice(0, 12)
const day = (d?: Date): string => (d ? d.toISOString().slice(0, 10) : '-')

/** The decision, one aligned line a tag: keep or delete, tag, digest, kind, layer, created, rule. */
export function decisionTable(rows: CleanupRow[]): string[] {
  const cells = rows.map(r => [
    r.action,
    r.tag ?? '<untagged>',
    short(r.digest),
    r.kind,
    r.layer || '-',
    day(r.created),
    r.rule
  ])
  const head = ['action', 'tag', 'digest', 'kind', 'layer', 'created', 'rule']
  const width = head.map((h, i) => Math.max(h.length, ...cells.map(c => c[i].length)))
  const line = (c: string[]): string =>
    c
      .map((s, i) => (i === c.length - 1 ? s : s.padEnd(width[i])))
      .join('  ')
      .trimEnd()
  return [line(head), ...cells.map(line)]
}

const md = (s: string): string => s.replace(/\|/g, '\\|')

/** The job summary: what was deleted (or would be, or failed), then what was kept, each with its rule. */
export function renderCleanupSummary(result: CleanupResult): string {
  const all = result.images.flatMap(i => i.rows)
  const gone = all.filter(r => r.status !== 'kept')
  const kept = all.filter(r => r.status === 'kept')
  const digests = result.images.reduce((n, i) => n + i.deleted.length, 0)
  const verb = result.dryRun ? 'would be deleted' : 'deleted'
  const out = [
    `## Strata cleanup${result.dryRun ? ' (dry-run: nothing deleted)' : ''}`,
    '',
    result.images.length > 0 && result.images.every(i => i.empty)
      ? `Nothing to clean: ${result.images.map(i => i.image).join(', ')} ${result.images.length > 1 ? 'do' : 'does'} not exist or hold no image.`
      : `${digests} digests ${verb} (${gone.filter(r => r.status === 'deleted' || r.status === 'would delete').length} tags), ` +
        `${kept.length} tags kept; max-deletions ${result.maxDeletions}.`,
    ''
  ]
  for (const w of [...result.errors, ...result.warnings]) out.push(`> ${md(w)}`, '')
  const table = (title: string, rows: CleanupRow[]): void => {
    out.push(`### ${title} (${rows.length})`, '')
    if (rows.length === 0) {
      out.push('None.', '')
      return
    }
    out.push(
      '| image | tag | digest | kind | layer | created | result | rule |',
      '|---|---|---|---|---|---|---|---|'
    )
    // Untagged digests can run to thousands on GHCR: one line per image, result and rule.
    const untagged = new Map<string, CleanupRow[]>()
    for (const r of rows) {
      if (r.tag === undefined) {
        const key = `${r.image}\0${r.status}\0${r.rule}`
        untagged.set(key, [...(untagged.get(key) ?? []), r])
        continue
      }
      out.push(
        `| ${md(r.image)} | ${md(r.tag)} | \`${short(r.digest)}\` | ${r.kind} | ${r.layer || '-'} | ` +
          `${day(r.created)} | ${r.status} | ${md(r.rule)} |`
      )
    }
    for (const group of untagged.values()) {
      const r = group[0]
      const digest = group.length === 1 ? `\`${short(r.digest)}\`` : `${group.length} digests`
      out.push(`| ${md(r.image)} | (untagged) | ${digest} | untagged | - | - | ${r.status} | ${md(r.rule)} |`)
    }
    out.push('')
  }
  table(
    result.dryRun
      ? 'Would be deleted'
      : result.errors.length > 0
        ? 'Deleted, failed or not reached'
        : 'Deleted',
    gone
  )
  table('Kept', kept)
  return out.join('\n')
}

// The plan step's look-ups (SPEC 3, 4, 8): the changes, every layer's stable tag and every external
// image, side by side; the changes said in the log before anything else.
import { pinnedDigest } from '../core/image-ref.js'
import type { LayerReads } from '../core/layer-reads.js'
import { decidedTags } from '../core/plan.js'
import { changedPaths } from '../core/changes.js'
import { parentLayers } from '../core/tags.js'
import type { ChangeSet, DiffRange, EventContext, Logger, Registry, StrataConfig } from '../core/types.js'
import type { ChangeDeps } from './changes.js'
import { detectChanges } from './changes.js'
import type { Unreadable } from './unreadable.js'
import { createUnreadable } from './unreadable.js'

/** What the look-ups start from. */
export interface LookUpGround {
  config: StrataConfig
  reads: LayerReads
  ctx: EventContext
  range: DiffRange
}

export interface LookUpDeps {
  log: Logger
  registry: Registry
  github?: ChangeDeps['github']
  git?: ChangeDeps['git']
}

export interface LookUps {
  changes: ChangeSet
  /** name → its stable image, null (no such tag), undefined (the look-up failed: recorded in `unreadable`). */
  found: Record<string, { digest: string } | null | undefined>
  /** External image → digest ('' where not resolved). */
  externals: Record<string, string>
  unreadable: Unreadable
}

/** The changes, every stable tag and every external image, looked up side by side; logged. */
export async function lookUpAll(g: LookUpGround, deps: LookUpDeps): Promise<LookUps> {
  const { config, ctx, range, reads } = g
  const { log } = deps
  const deleted = range.kind === 'deleted'
  const stable = stableRefs(config, ctx)
  // Registry and builder look-ups need no diff: start them now, while the API lists the changes
  // (both adapters memoize, so the awaited calls below reuse these; errors are reported there).
  const images = deleted ? [] : externalImages(reads)
  if (!deleted) {
    // Stable images: their labels are read next (SPEC 4a), so each look-up fetches the manifest too.
    for (const ref of Object.values(stable)) deps.registry.inspect(ref, { read: true }).catch(() => undefined)
    for (const ref of images) deps.registry.inspect(ref).catch(() => undefined)
  }
  const changes = await detectChanges(ctx, range, { github: deps.github, git: deps.git, log })
  log.info(`Changed files: ${describeChanges(changes, range)}`)
  // After the event, the commits and the changes, which the log states before anything else (SPEC 3).
  reads.warnings.forEach(w => log.warning(w))
  // Every stable tag at once, each once: the registry adapter memoizes and runs them side by side.
  const unreadable = createUnreadable()
  const [found, externals] = await Promise.all([
    deleted ? {} : lookUp(deps.registry, stable, unreadable),
    resolveExternals(deps.registry, images, log)
  ])
  return { changes, found, externals, unreadable }
}

// An external image is only recorded: a registry that does not answer must not hold the plan up.
const EXTERNAL_TIMEOUT_MS = 30_000

function withTimeout<T>(p: Promise<T>, ms: number, why: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(why)), ms)
    timer.unref()
  })
  return Promise.race([p, late]).finally(() => clearTimeout(timer))
}

/** The external images of every layer, each once, in config order. */
function externalImages(reads: LayerReads): string[] {
  return [...new Set(Object.values(reads.externals).flatMap(uses => uses.map(u => u.image)))]
}

/**
 * image → digest (`''` when not resolved). A digest-pinned image is its own answer; the others are
 * looked up side by side. Whatever cannot be resolved is said in one warning; the plan goes on.
 */
async function resolveExternals(
  registry: Registry,
  images: string[],
  log: Logger
): Promise<Record<string, string>> {
  const out: Record<string, string> = {}
  const failed: string[] = []
  await Promise.all(
    images.map(async image => {
      const pinned = pinnedDigest(image)
      if (pinned) {
        out[image] = pinned
        return
      }
      try {
        const info = await withTimeout(registry.inspect(image), EXTERNAL_TIMEOUT_MS, 'no answer in 30 s')
        out[image] = info?.digest ?? ''
        if (!info) failed.push(`${image} (not found)`)
      } catch (e) {
        out[image] = ''
        failed.push(`${image} (${(e instanceof Error ? e.message : String(e)).split('\n')[0]})`)
      }
    })
  )
  if (failed.length) {
    log.warning(
      `external images not resolved to a digest: ${failed.sort().join('; ')}; the plan goes on without them`
    )
  }
  return Object.fromEntries(images.map(i => [i, out[i]]))
}

/** What the changes are, in words, for the log. */
export function describeChanges(c: ChangeSet, range?: DiffRange): string {
  const n = changedPaths(c.files).length
  // A new branch's base commit (the merge base) is known only now: the Compare line named a branch.
  const since = range?.kind === 'new-branch' && c.base ? ` since merge base ${c.base.slice(0, 7)}` : ''
  const count = `${n} ${n === 1 ? 'file' : 'files'}${since}`
  const note = c.note ? ` (${c.note})` : ''
  switch (c.source) {
    case 'api':
      return `${count} from the GitHub API${note}`
    case 'git':
      return `${count} from git diff${note}`
    case 'none':
      return `none: this event has no diff${note}`
    case 'unknown':
      return `unknown${note}: every layer builds`
  }
}

/** `image:stable-tag` of every layer, in config order (looked up before decide()). */
export function stableRefs(config: StrataConfig, ctx: EventContext): Record<string, string> {
  const parents = parentLayers(config.layers)
  const refs: Record<string, string> = {}
  for (const l of config.layers) refs[l.name] = decidedTags(l, ctx, parents).stable
  return refs
}

/** name → image (found), null (no such tag), undefined (look-up failed: recorded, the layer is unknown). */
async function lookUp(
  registry: Registry,
  refs: Record<string, string>,
  unreadable: Unreadable
): Promise<Record<string, { digest: string } | null | undefined>> {
  const names = Object.keys(refs)
  const settled = await Promise.allSettled(names.map(n => registry.inspect(refs[n], { read: true })))
  const out: Record<string, { digest: string } | null | undefined> = {}
  settled.forEach((r, i) => {
    if (r.status === 'fulfilled') out[names[i]] = r.value
    else {
      unreadable.add(names[i], refs[names[i]], r.reason)
      out[names[i]] = undefined
    }
  })
  return out
}

// Moving tags (stable, latest, pr-N, branch) onto the images a step built, all or nothing (SPEC 7):
// each moving tag's digest is read before the step builds; if one move fails after others
// succeeded, the moved tags are put back on those digests.
import { splitImageRef } from '../core/image-ref.js'
import type { Logger, Registry } from '../core/types.js'

export interface Move {
  layer: string
  /** `repo:tag@sha256:…` of the built image. */
  source: string
  /** Full refs `repo:tag`. */
  tags: string[]
}

/** tag → its digest before the step (null: the tag did not exist; an Error: the look-up failed). */
export type TagSnapshot = Map<string, string | null | Error>

export interface Promotion {
  /** Every move succeeded. */
  ok: boolean
  /** The first layer whose move failed, and why. */
  failed?: { layer: string; error: string }
  /** Tags put back on their earlier digest after a failure. */
  restored: string[]
  /** Tags that may point at a new image although the promotion failed, each with why. */
  leftMoved: string[]
}

/** Reads the digest of every tag side by side (started with the build, awaited before the moves). */
export function snapshotTags(registry: Registry, tags: string[]): Promise<TagSnapshot> {
  return Promise.all(
    tags.map(t =>
      registry.inspect(t).then(
        info => [t, info ? info.digest : null] as const,
        (e: Error) => [t, e instanceof Error ? e : new Error(String(e))] as const
      )
    )
  ).then(entries => new Map<string, string | null | Error>(entries))
}

/** `host/repo:tag` → `host/repo`. */
export function repositoryOf(tagRef: string): string {
  return splitImageRef(tagRef).repository
}

export async function promote(
  registry: Registry,
  moves: Move[],
  before: TagSnapshot,
  log: Logger
): Promise<Promotion> {
  const settled = await Promise.allSettled(moves.map(m => registry.retag(m.source, m.tags)))
  const firstFailed = settled.findIndex(o => o.status === 'rejected')
  if (firstFailed < 0) return { ok: true, restored: [], leftMoved: [] }

  const reason = (settled[firstFailed] as PromiseRejectedResult).reason as unknown
  const failed = {
    layer: moves[firstFailed].layer,
    error: `moving tags not moved: ${reason instanceof Error ? reason.message : String(reason)}`
  }
  log.warning(`${failed.layer}: ${failed.error}; putting the moved tags back`)
  // A failed retag may have moved some of its tags: put back every tag of every move.
  const restored: string[] = []
  const leftMoved: string[] = []
  const undo = moves
    .flatMap(m => m.tags)
    .map(async tag => {
      const was = before.get(tag)
      if (was === null) {
        leftMoved.push(
          `${tag} (it did not exist before this run and a tag cannot be removed without deleting its image)`
        )
        return
      }
      if (was === undefined || was instanceof Error) {
        leftMoved.push(`${tag} (its earlier digest is unknown${was ? `: ${was.message}` : ''})`)
        return
      }
      try {
        await registry.retag(`${repositoryOf(tag)}@${was}`, [tag])
        restored.push(tag)
      } catch (e) {
        leftMoved.push(`${tag} (putting it back on ${was} failed: ${(e as Error).message})`)
      }
    })
  await Promise.all(undo)
  restored.sort()
  leftMoved.sort()
  if (restored.length) log.warning(`Put back on their earlier images: ${restored.join(', ')}`)
  for (const t of leftMoved) log.warning(`Not put back: ${t}`)
  return { ok: false, failed, restored, leftMoved }
}

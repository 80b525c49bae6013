// What SPEC 4a's walk needs before it starts, gathered side by side: the content ids of every input
// (followed links by what they point to), the Dockerfiles' bytes, the stable images with their labels,
// and the ONBUILD of the external images the layers build on (SPEC 3a: those make inputs unknowable).
import { readFile } from 'node:fs/promises'
import * as path from 'node:path'
import type { ContentEntry, ContentIds } from '../adapters/content-ids.js'
import type { ImageStore } from '../adapters/registry-images.js'
import { platformsOf } from '../core/buildx-args.js'
import { sha256 } from '../core/input-digest.js'
import type { FoundImage } from '../core/same-inputs.js'
import type { LayerConfig, LayerDecision, Logger, Plan, Registry, StrataConfig } from '../core/types.js'
import { externalOnbuild } from './external-onbuild.js'
import type { Unreadable } from './unreadable.js'

/** What a layer reads, from its Dockerfile and `paths` (SPEC 3a; issue 11 derives it). */
export interface LayerMaterial {
  /** Repository-relative input files: the Dockerfile, its .dockerignore, COPY/ADD sources, `paths` matches. */
  files: string[]
  /** External images this layer reads (`FROM`, `COPY --from=`) → digest; '' when not resolved. */
  externals: Record<string, string>
  /** Those of `externals` that a needed stage is built FROM: their ONBUILD would run in this build. */
  bases?: string[]
  /** Folders the build copies, empty ones too. */
  folders?: string[]
  /** Input links the build follows (named sources): they count by what they point to. */
  followed?: string[]
  /** Inputs whose mode a COPY --chmod sets: the mode on disk does not count. */
  modeSet?: string[]
  /** The names its Dockerfile's ARGs declare; undefined: every build arg counts. */
  declared?: string[]
  /** Why its inputs cannot be known at plan time (`ADD https://… at Dockerfile:4`). */
  unknowable?: string
  /** Files the build could not read (`"pipe" is a fifo`): the layer has no input digest. */
  problems?: string[]
}

/** The adapters the gathering reads through. */
export interface FactDeps {
  registry: Registry
  contentIds: ContentIds
  log: Logger
  /** SPEC 8: failed look-ups are recorded here (the layer becomes unknown); absent: warned about. */
  unreadable?: Unreadable
  /** Manifests and blobs by digest: the external bases' configs (ONBUILD); absent: not read. */
  images?: ImageStore
}

export interface Facts {
  ids: Record<string, ContentEntry>
  followedIds: Record<string, ContentEntry>
  dockerfiles: Record<string, string>
  stables: Record<string, FoundImage | null | undefined>
  /** The material with each layer's external ONBUILD added to what makes it unknowable. */
  material: Record<string, LayerMaterial>
}

/** Everything the walk needs, read side by side; throws when the inputs themselves cannot be read. */
export async function gatherFacts(
  plan: Plan,
  config: StrataConfig,
  material: Record<string, LayerMaterial>,
  s: { workspace: string; platforms?: string[] },
  deps: FactDeps
): Promise<Facts> {
  const ms = Object.values(material)
  const paths = [...new Set(ms.flatMap(m => [...m.files, ...(m.folders ?? [])]))]
  const links = [...new Set(ms.flatMap(m => m.followed ?? []))]
  const [ids, followedIds, dockerfiles, stables, onbuild] = await Promise.all([
    deps.contentIds.entries(paths),
    deps.contentIds.entries(links, { follow: true }),
    dockerfileHashes(config.layers, s.workspace),
    settleAll(config.layers, l => stableImage(l.name, plan.layers[l.name], deps)),
    onbuildOf(config, material, s.platforms, deps)
  ])
  return { ids, followedIds, dockerfiles, stables, material: onbuild }
}

/** `material` with an external base's ONBUILD as a reason its layer's inputs are unknowable. */
async function onbuildOf(
  config: StrataConfig,
  material: Record<string, LayerMaterial>,
  platforms: string[] | undefined,
  deps: FactDeps
): Promise<Record<string, LayerMaterial>> {
  if (!deps.images) return material
  const uses = config.layers.flatMap(l => {
    const m = material[l.name]
    const bases = (m?.bases ?? []).filter(b => m.externals[b])
    return bases.length
      ? [
          {
            layer: l.name,
            bases: Object.fromEntries(bases.map(b => [b, m.externals[b]])),
            platforms: platformsOf(l, platforms)
          }
        ]
      : []
  })
  if (uses.length === 0) return material
  const found = await externalOnbuild(deps.images, uses)
  for (const [layer, f] of Object.entries(found.failed)) {
    if (deps.unreadable) deps.unreadable.add(layer, f.ref, f.error)
    else deps.log.warning(`${f.ref}: ${(f.error as Error).message}; layer ${layer} has no input digest`)
  }
  const out = { ...material }
  for (const [layer, why] of Object.entries(found.unknowable)) {
    const m = out[layer]
    out[layer] = { ...m, unknowable: m.unknowable ? `${m.unknowable}; ${why}` : why }
  }
  // Without an unreadable collector a base that could not be read still leaves no digest to trust.
  if (!deps.unreadable)
    for (const layer of Object.keys(found.failed))
      out[layer] = {
        ...out[layer],
        problems: [...(out[layer].problems ?? []), 'its base image cannot be read']
      }
  return out
}

async function dockerfileHashes(layers: LayerConfig[], workspace: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {}
  await Promise.all(
    layers.map(async l => {
      out[l.name] = sha256(await readFile(path.join(workspace, l.dockerfile)))
    })
  )
  return out
}

/**
 * The stable image with its labels; null: no such tag. A layer that builds for a reason no parent's
 * reuse takes away (`always`, `forced`, a matching change) never reads its stable image's labels (they
 * only say `inputs changed since`, or stand for a reused image): its digest alone, which the plan's
 * look-up already has (SPEC 11: up to three requests fewer a layer).
 */
async function stableImage(
  layer: string,
  d: LayerDecision | undefined,
  deps: Pick<FactDeps, 'registry' | 'unreadable' | 'log'>
): Promise<FoundImage | null | undefined> {
  if (!d?.stable) return undefined
  const lasting = d.reasons.some(r => !/^parent .+ rebuilt$/.test(r))
  return lookUp(layer, d.stable, deps, !lasting)
}

/** An image with its labels; null: no such tag; undefined: the registry failed (recorded, SPEC 8). */
export async function lookUp(
  layer: string,
  ref: string,
  deps: Pick<FactDeps, 'registry' | 'unreadable' | 'log'>,
  withLabels = true
): Promise<FoundImage | null | undefined> {
  try {
    const info = await deps.registry.inspect(ref)
    if (!info) return null
    if (!withLabels) return { digest: info.digest, labels: null }
    const labels = await deps.registry.labels(ref)
    return { digest: info.digest, labels: labels ?? {} }
  } catch (e) {
    if (deps.unreadable) deps.unreadable.add(layer, ref, e)
    else deps.log.warning(`${ref}: ${(e as Error).message}; deciding without it`)
    return undefined
  }
}

async function settleAll<T>(
  layers: LayerConfig[],
  fn: (l: LayerConfig) => Promise<T>
): Promise<Record<string, T>> {
  const values = await Promise.all(layers.map(fn))
  return Object.fromEntries(layers.map((l, i) => [l.name, values[i]]))
}

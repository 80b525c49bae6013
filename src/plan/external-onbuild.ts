// SPEC 3a: an external image with ONBUILD runs instructions in every build FROM it that Strata never
// reads, so the inputs of each layer built on it are unknowable. Each resolved base image's config is
// read by digest (manifest, the platform's manifest of an index, config blob) through the registry
// adapter's image store, once per digest, side by side with the other look-ups.
import type { ImageStore } from '../adapters/registry-images.js'
import { parseImageRef } from '../core/image-ref.js'

/** One layer's external bases (`FROM` images that are not layers) → their resolved digests. */
export interface BaseUse {
  layer: string
  /** image → digest ('' when not resolved: that layer has no digest anyway). */
  bases: Record<string, string>
  /** The platforms it builds for; empty: every platform of an index is read. */
  platforms: string[]
}

export interface OnbuildFindings {
  /** Layer → why its inputs are unknowable (`localhost:5000/base:1 has ONBUILD COPY . /app`). */
  unknowable: Record<string, string>
  /** Layer → the ref that could not be read and the error (SPEC 8: the layer is unknown). */
  failed: Record<string, { ref: string; error: unknown }>
}

interface Descriptor {
  digest?: unknown
  platform?: { os?: unknown; architecture?: unknown; variant?: unknown }
}

/** The ONBUILD triggers of every base of `uses`, each image read once per (digest, platforms). */
export async function externalOnbuild(images: ImageStore, uses: BaseUse[]): Promise<OnbuildFindings> {
  const memo = new Map<string, Promise<string[]>>()
  const read = (image: string, digest: string, platforms: string[]): Promise<string[]> => {
    const ref = `${repositoryOf(image)}@${digest}`
    const key = `${ref} ${platforms.join(',')}`
    let p = memo.get(key)
    if (!p) memo.set(key, (p = triggers(images, ref, platforms)))
    return p
  }
  const out: OnbuildFindings = { unknowable: {}, failed: {} }
  await Promise.all(
    uses.map(async u => {
      const found: string[] = []
      for (const [image, digest] of Object.entries(u.bases)) {
        if (!digest) continue
        try {
          const ts = await read(image, digest, u.platforms)
          if (ts.length)
            found.push(`${image} has ONBUILD ${ts[0]}${ts.length > 1 ? ` (and ${ts.length - 1} more)` : ''}`)
        } catch (error) {
          out.failed[u.layer] ??= { ref: `${repositoryOf(image)}@${digest}`, error }
        }
      }
      if (found.length) out.unknowable[u.layer] = found.join('; ')
    })
  )
  return out
}

/** `host/name` of an image as written, without tag or digest (the digest read is the resolved one). */
function repositoryOf(image: string): string {
  const r = parseImageRef(image)
  return `${r.host}/${r.name}`
}

/** The ONBUILD triggers of the image at `ref` (by digest), over the platforms that are built. */
async function triggers(images: ImageStore, ref: string, platforms: string[]): Promise<string[]> {
  const top = await images.manifest(ref)
  if (!top) throw new Error(`${ref} is gone from the registry`)
  const doc = parseJson(top.bytes, ref) as { manifests?: Descriptor[]; config?: Descriptor }
  const repo = ref.slice(0, ref.lastIndexOf('@'))
  const manifests = Array.isArray(doc.manifests)
    ? await Promise.all(platformEntries(doc.manifests, platforms).map(d => child(images, repo, d)))
    : [doc]
  const out = new Set<string>()
  for (const m of manifests) {
    const digest = m.config?.digest
    if (typeof digest !== 'string') throw new Error(`${ref}: a manifest without a config`)
    const config = parseJson(await images.blob(repo, digest), `${ref} config`) as {
      config?: { OnBuild?: unknown }
    }
    const onbuild = config.config?.OnBuild
    if (Array.isArray(onbuild)) for (const t of onbuild) if (typeof t === 'string' && t.trim()) out.add(t)
  }
  return [...out]
}

/** The index entries of the platforms built (all when none match or none are named; attestations left out). */
function platformEntries(entries: Descriptor[], platforms: string[]): Descriptor[] {
  const images = entries.filter(e => e.platform?.os !== 'unknown')
  const wanted = images.filter(e =>
    platforms.some(p => {
      const [os, arch, variant] = p.split('/')
      const v = e.platform?.variant
      return e.platform?.os === os && e.platform.architecture === arch && (!variant || !v || v === variant)
    })
  )
  return wanted.length ? wanted : images
}

async function child(images: ImageStore, repo: string, d: Descriptor): Promise<{ config?: Descriptor }> {
  if (typeof d.digest !== 'string') throw new Error(`${repo}: an index entry without a digest`)
  const m = await images.manifest(`${repo}@${d.digest}`)
  if (!m) throw new Error(`${repo}@${d.digest}: its index names a manifest the registry does not have`)
  return parseJson(m.bytes, `${repo}@${d.digest}`) as { config?: Descriptor }
}

function parseJson(bytes: Buffer, what: string): Record<string, unknown> {
  try {
    const v: unknown = JSON.parse(bytes.toString('utf8'))
    if (v && typeof v === 'object') return v as Record<string, unknown>
  } catch {
    // said below
  }
  throw new Error(`${what}: the registry answered something that is not a JSON object`)
}

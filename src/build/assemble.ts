// SPEC 7a: a layer assembled in the registry, no docker process: the parent's manifest and config read
// (never its layers), each COPY --link written as a layer blob and uploaded when the repository lacks it,
// the config (parent config + the stage's instructions + history + labels) and one manifest per platform
// put, then the index (or the one manifest) under the layer's versioned tags. Media types follow the
// parent's (OCI or Docker).
import type { ImageStore, StoredManifest } from '../adapters/registry-images.js'
import type { ContextView, LayerBlob } from './assemble-tar.js'
import { copyEntries, layerBlob } from './assemble-tar.js'
import type { Assembly } from '../core/assemble.js'
import type { Evaluated, ImageConfigDoc } from '../core/assemble-image.js'
import { evaluate, imageConfig } from '../core/assemble-image.js'
import { parseImageRef } from '../core/image-ref.js'
import { sha256 } from '../core/input-digest.js'

const OCI_INDEX = 'application/vnd.oci.image.index.v1+json'
const DOCKER_LIST = 'application/vnd.docker.distribution.manifest.list.v2+json'
const DOCKER_MANIFEST = 'application/vnd.docker.distribution.manifest.v2+json'
const LAYER_TYPE: Record<string, string> = {
  [DOCKER_MANIFEST]: 'application/vnd.docker.image.rootfs.diff.tar.gzip',
  'application/vnd.oci.image.manifest.v1+json': 'application/vnd.oci.image.layer.v1.tar+gzip'
}

export interface AssembleInput {
  assembly: Assembly
  /** `repo:tag@sha256:…` of the parent image. */
  parent: string
  /** The layer's repository. */
  image: string
  /** Full refs `repo:tag` the new image goes under (versioned and input tags). */
  tags: string[]
  platforms: string[]
  /** Labels every built image gets (SPEC 4a and 7), put on after the Dockerfile's. */
  labels: Record<string, string>
  context: ContextView
  /** Every timestamp of the new layers, the config's `created` and its history's. */
  time: Date
}

export interface Assembled {
  digest: string
  ref: string
  /** Bytes uploaded (blobs, configs, manifests). */
  bytesPushed: number
  /** Every manifest put (per platform, then the index): what attestations sign. */
  pushed: string[]
}

interface Descriptor {
  mediaType: string
  digest: string
  size: number
  platform?: { os?: string; architecture?: string; variant?: string }
}

interface ManifestDoc {
  mediaType?: string
  config: Descriptor
  layers: Descriptor[]
  manifests?: Descriptor[]
}

export async function assembleLayer(input: AssembleInput, store: ImageStore): Promise<Assembled> {
  const parentRepo = repoOf(input.parent)
  const ownRepo = repoOf(input.image)
  const top = await store.manifest(input.parent)
  if (!top) throw new Error(`the parent image ${input.parent} is not in the registry`)
  const index = isIndex(top) ? (JSON.parse(top.bytes.toString('utf8')) as ManifestDoc) : undefined
  const blobs = new Map<string, Promise<LayerBlob>>()
  let bytesPushed = 0
  const upload = async (digest: string, bytes: Buffer): Promise<void> => {
    if ((await store.putBlob(input.image, digest, bytes)) === 'uploaded') bytesPushed += bytes.length
  }
  const perPlatform = await Promise.all(
    input.platforms.map(async platform => {
      const entry = index ? platformEntry(index, platform, input.parent) : undefined
      const m = entry ? await store.manifest(`${parentRepo}@${entry.digest}`) : top
      if (!m)
        throw new Error(`${input.parent} names ${entry?.digest} (${platform}), which the registry lacks`)
      const doc = JSON.parse(m.bytes.toString('utf8')) as ManifestDoc
      const parentConfig = JSON.parse(
        (await store.blob(parentRepo, doc.config.digest)).toString('utf8')
      ) as ImageConfigDoc
      if (!index) checkPlatform(parentConfig, platform, input.parent)
      if (parentConfig.config?.OnBuild?.length) {
        throw new Error(`the parent image ${input.parent} has ONBUILD triggers, which only BuildKit runs`)
      }
      const evaluated = evaluate(
        forPlatform(input.assembly, platform),
        parentConfig.config ?? {},
        input.labels
      )
      const layers = await Promise.all(layerBlobs(input, evaluated, blobs))
      if (parentRepo !== ownRepo) await mountParent(store, input.image, parentRepo, doc)
      await Promise.all(layers.map(l => upload(l.digest, l.gz)))
      const config = Buffer.from(
        JSON.stringify(
          imageConfig(
            parentConfig,
            evaluated,
            layers.map(l => l.diffId),
            input.time.toISOString()
          )
        )
      )
      await upload(sha256(config), config)
      const mediaType = m.mediaType
      const manifest = Buffer.from(
        JSON.stringify({
          schemaVersion: 2,
          mediaType,
          config: { mediaType: doc.config.mediaType, digest: sha256(config), size: config.length },
          layers: [
            ...doc.layers,
            ...layers.map(l => ({
              mediaType: LAYER_TYPE[mediaType] ?? LAYER_TYPE[DOCKER_MANIFEST],
              digest: l.digest,
              size: l.gz.length
            }))
          ]
        })
      )
      if (!LAYER_TYPE[mediaType])
        throw new Error(`the parent image ${input.parent} is a ${mediaType}, not an image manifest`)
      return { manifest, mediaType, platform: entry?.platform }
    })
  )
  const pushed: string[] = []
  const putAll = async (bytes: Buffer, mediaType: string, refs: string[]): Promise<string> => {
    bytesPushed += bytes.length * refs.length
    await Promise.all(refs.map(r => store.putManifest(input.image, r, bytes, mediaType)))
    pushed.push(sha256(bytes))
    return sha256(bytes)
  }
  const tags = input.tags.map(t => t.slice(t.lastIndexOf(':') + 1))
  if (!index) {
    const only = perPlatform[0]
    const digest = await putAll(only.manifest, only.mediaType, tags)
    return { digest, ref: `${input.tags[0]}@${digest}`, bytesPushed, pushed }
  }
  const manifests = await Promise.all(
    perPlatform.map(async p => {
      await putAll(p.manifest, p.mediaType, [sha256(p.manifest)])
      return {
        mediaType: p.mediaType,
        digest: sha256(p.manifest),
        size: p.manifest.length,
        platform: p.platform
      }
    })
  )
  const indexType = top.mediaType === DOCKER_LIST ? DOCKER_LIST : OCI_INDEX
  const bytes = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: indexType, manifests }))
  const digest = await putAll(bytes, indexType, tags)
  return { digest, ref: `${input.tags[0]}@${digest}`, bytesPushed, pushed }
}

/** The blobs of the evaluated layers, each written once a run (platforms share them). */
function layerBlobs(
  input: AssembleInput,
  e: Evaluated,
  blobs: Map<string, Promise<LayerBlob>>
): Promise<LayerBlob>[] {
  return e.layers.map(async l => {
    const list = l.kind === 'empty' ? [] : await copyEntries(input.context, l)
    const key = JSON.stringify(list)
    if (!blobs.has(key)) blobs.set(key, layerBlob(list, input.time))
    return blobs.get(key) as Promise<LayerBlob>
  })
}

/** The parent's layers and config into the layer's repository when it lives in another one (a mount each). */
async function mountParent(store: ImageStore, image: string, from: string, doc: ManifestDoc): Promise<void> {
  await Promise.all(
    [doc.config, ...doc.layers].map(async d => {
      const got = await store.putBlob(image, d.digest, Buffer.alloc(0), from)
      if (got === 'uploaded') throw new Error(`${d.digest} of ${from} could not be mounted into ${image}`)
    })
  )
}

function isIndex(m: StoredManifest): boolean {
  return m.mediaType === OCI_INDEX || m.mediaType === DOCKER_LIST
}

/** The index entry of `platform` (`os/arch[/variant]`); arm64's `v8` counts as no variant. */
function platformEntry(index: ManifestDoc, platform: string, ref: string): Descriptor {
  const [os, arch, variant] = platform.split('/')
  const norm = (a?: string, v?: string): string => (a === 'arm64' && v === 'v8' ? '' : (v ?? ''))
  const found = (index.manifests ?? []).find(
    m =>
      m.platform?.os === os &&
      m.platform.architecture === arch &&
      norm(arch, m.platform.variant) === norm(arch, variant)
  )
  if (!found) {
    const have = (index.manifests ?? [])
      .filter(m => m.platform?.os !== 'unknown')
      .map(m => [m.platform?.os, m.platform?.architecture, m.platform?.variant].filter(Boolean).join('/'))
    throw new Error(`the parent image ${ref} has no ${platform} image (it has ${have.join(', ') || 'none'})`)
  }
  return found
}

function checkPlatform(config: ImageConfigDoc, platform: string, ref: string): void {
  const [os, arch] = platform.split('/')
  if (config.os !== os || config.architecture !== arch) {
    throw new Error(
      `the parent image ${ref} is ${String(config.os)}/${String(config.architecture)}, not ${platform}`
    )
  }
}

/** The assembly with BuildKit's automatic platform args of `platform`. */
function forPlatform(a: Assembly, platform: string): Assembly {
  const [os, arch, variant = ''] = platform.split('/')
  const globals = {
    ...a.globals,
    TARGETPLATFORM: platform,
    TARGETOS: os,
    TARGETARCH: arch,
    TARGETVARIANT: variant
  }
  return { ...a, globals }
}

function repoOf(ref: string): string {
  const r = parseImageRef(ref)
  return `${r.host}/${r.name}`
}

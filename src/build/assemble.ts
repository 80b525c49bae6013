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
import { evaluate, foldersOf, imageConfig } from '../core/assemble-image.js'
import { parseImageRef } from '../core/image-ref.js'
import { sha256 } from '../core/input-digest.js'
import { strataLabels } from '../core/same-inputs.js'

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

/** What one assembly shares across its platforms: the store, the input, blobs written and uploads made. */
interface Job {
  input: AssembleInput
  store: ImageStore
  parentRepo: string
  /** Layer blobs by their entries, written once (platforms share them). */
  blobs: Map<string, Promise<LayerBlob>>
  /** Uploads by digest, each once however many platforms name the blob. */
  uploads: Map<string, Promise<void>>
  bytesPushed: number
  pushed: string[]
}

interface PlatformImage {
  manifest: Buffer
  mediaType: string
  platform?: Descriptor['platform']
}

export async function assembleLayer(input: AssembleInput, store: ImageStore): Promise<Assembled> {
  const top = await store.manifest(input.parent)
  if (!top) throw new Error(`the parent image ${input.parent} is not in the registry`)
  const index = isIndex(top) ? (JSON.parse(top.bytes.toString('utf8')) as ManifestDoc) : undefined
  const job: Job = {
    input,
    store,
    parentRepo: repoOf(input.parent),
    blobs: new Map(),
    uploads: new Map(),
    bytesPushed: 0,
    pushed: []
  }
  const images = await Promise.all(input.platforms.map(p => platformImage(job, top, index, p)))
  const tags = input.tags.map(t => t.slice(t.lastIndexOf(':') + 1))
  // One platform: its manifest goes under the tags as it is (an index of one image is one more PUT).
  if (images.length === 1) {
    const digest = await putAll(job, images[0].manifest, images[0].mediaType, tags)
    return { digest, ref: `${input.tags[0]}@${digest}`, bytesPushed: job.bytesPushed, pushed: job.pushed }
  }
  const manifests = await Promise.all(
    images.map(async p => {
      const digest = await putAll(job, p.manifest, p.mediaType, [sha256(p.manifest)])
      return { mediaType: p.mediaType, digest, size: p.manifest.length, platform: p.platform }
    })
  )
  const indexType = top.mediaType === DOCKER_LIST ? DOCKER_LIST : OCI_INDEX
  const bytes = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: indexType, manifests }))
  const digest = await putAll(job, bytes, indexType, tags)
  return { digest, ref: `${input.tags[0]}@${digest}`, bytesPushed: job.bytesPushed, pushed: job.pushed }
}

/** One platform's new image: the parent's manifest and config read, the layers and config uploaded. */
async function platformImage(
  job: Job,
  top: StoredManifest,
  index: ManifestDoc | undefined,
  platform: string
): Promise<PlatformImage> {
  const { input, store, parentRepo } = job
  const entry = index ? platformEntry(index, platform, input.parent) : undefined
  const m = entry ? await store.manifest(`${parentRepo}@${entry.digest}`) : top
  if (!m) throw new Error(`${input.parent} names ${entry?.digest} (${platform}), which the registry lacks`)
  if (!LAYER_TYPE[m.mediaType])
    throw new Error(`the parent image ${input.parent} is a ${m.mediaType}, not an image manifest`)
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
    input.labels,
    foldersOf(parentConfig)
  )
  const layers = await Promise.all(layerBlobs(input, evaluated, job.blobs))
  if (parentRepo !== repoOf(input.image)) await mountParent(store, input.image, parentRepo, doc)
  await Promise.all(layers.map(l => upload(job, l.digest, l.gz, true)))
  const diffIds = layers.map(l => l.diffId)
  const config = Buffer.from(
    JSON.stringify(imageConfig(parentConfig, evaluated, diffIds, input.time.toISOString()))
  )
  // A new config (it names this commit and time) is uploaded without asking whether the registry has it.
  await upload(job, sha256(config), config, false)
  const layerType = LAYER_TYPE[m.mediaType]
  const manifest = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: m.mediaType,
      config: { mediaType: doc.config.mediaType, digest: sha256(config), size: config.length },
      layers: [
        ...doc.layers,
        ...layers.map(l => ({ mediaType: layerType, digest: l.digest, size: l.gz.length }))
      ],
      // SPEC 4a's labels as annotations too, as a build writes them (build-steps.ts annotationFields);
      // a Docker manifest has no annotations.
      ...(m.mediaType !== DOCKER_MANIFEST && annotated(input.labels))
    })
  )
  return { manifest, mediaType: m.mediaType, platform: entry?.platform }
}

/** Uploads a blob once a run (HEAD first when `ask`); counts the bytes sent. */
function upload(job: Job, digest: string, bytes: Buffer, ask: boolean): Promise<void> {
  let p = job.uploads.get(digest)
  if (!p) {
    p = job.store.putBlob(job.input.image, digest, bytes, { ask }).then(got => {
      if (got === 'uploaded') job.bytesPushed += bytes.length
    })
    job.uploads.set(digest, p)
  }
  return p
}

/** Puts a manifest under each reference of the layer's repository; returns its digest. */
async function putAll(job: Job, bytes: Buffer, mediaType: string, refs: string[]): Promise<string> {
  job.bytesPushed += bytes.length * refs.length
  await Promise.all(refs.map(r => job.store.putManifest(job.input.image, r, bytes, mediaType)))
  job.pushed.push(sha256(bytes))
  return sha256(bytes)
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
  await Promise.all([doc.config, ...doc.layers].map(d => store.mountBlob(image, d.digest, from)))
}

/** `{ annotations }` of the `dev.strata.*` labels; nothing when there are none. */
function annotated(labels: Record<string, string>): { annotations?: Record<string, string> } {
  const annotations = strataLabels(labels)
  return Object.keys(annotations).length ? { annotations } : {}
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

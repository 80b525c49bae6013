// Sigstore bundles stored next to an image as OCI referrers (SPEC 4b): read through the referrers
// API, or through the referrers tag `sha256-<hex>` where the registry has no such API (OCI 1.1's
// fallback, as Distribution 2.8 and older registries need); attached the same way.
import { parseImageRef, type ImageRef } from '../core/image-ref.js'
import { sha256 } from '../core/input-digest.js'
import { createLimiter } from '../core/limit.js'
import { createRegistryClient, type RegistryClient, type Reply } from './registry-http.js'

export const BUNDLE_TYPE = 'application/vnd.dev.sigstore.bundle.v0.3+json'
const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json'
const OCI_INDEX = 'application/vnd.oci.image.index.v1+json'
const EMPTY_TYPE = 'application/vnd.oci.empty.v1+json'
const EMPTY = Buffer.from('{}')
// An image has a handful of attestations; more is someone filling the registry: read the first ones.
const MAX_BUNDLES = 16

export interface Referrers {
  /** The Sigstore bundles (JSON text) attached to `image@digest`; [] when none. Throws when the registry fails. */
  bundles(image: string, digest: string): Promise<string[]>
  /** Attaches a bundle to `image@digest`; returns the referrer manifest's digest. */
  attach(image: string, digest: string, bundle: string, annotations?: Record<string, string>): Promise<string>
}

interface Descriptor {
  mediaType: string
  digest: string
  size: number
  artifactType?: string
  annotations?: Record<string, string>
}

type Client = (host: string) => RegistryClient

export function createReferrers(
  opts: { dockerConfig?: string; env?: Record<string, string | undefined> } = {}
): Referrers {
  const limit = createLimiter(8)
  const clients = new Map<string, RegistryClient>()
  const client: Client = host => {
    let c = clients.get(host)
    if (!c) {
      c = createRegistryClient({ host, dockerConfig: opts.dockerConfig, env: opts.env, limit })
      clients.set(host, c)
    }
    return c
  }
  // One upload per blob and repository: attaching to several images of a repository at once sends the
  // same bundle and empty config, and concurrent uploads of one blob made Distribution 2.8 now and then
  // refuse (400) the manifest that names it.
  const uploads = new Map<string, Promise<Descriptor>>()
  const once: Uploader = (r, bytes) => {
    const key = `${r.host}/${r.name}@${sha256(bytes)}`
    let p = uploads.get(key)
    if (!p) {
      p = upload(client, r, bytes)
      uploads.set(key, p)
      p.catch(() => uploads.delete(key))
    }
    return p
  }
  return {
    bundles: (image, digest) => bundles(client, image, digest),
    attach: (image, digest, bundle, annotations = {}) =>
      attach(client, once, image, digest, bundle, annotations)
  }
}

type Uploader = (r: ImageRef, bytes: Buffer) => Promise<Descriptor>

async function get(client: Client, r: ImageRef, path: string, accept?: string): Promise<Reply> {
  return client(r.host).request('GET', `/v2/${r.name}/${path}`, accept ? { accept } : {})
}

async function bundles(client: Client, image: string, digest: string): Promise<string[]> {
  const r = parseImageRef(image)
  const found = (await listed(client, r, digest))
    .filter(d => d.artifactType === BUNDLE_TYPE)
    .slice(0, MAX_BUNDLES)
  const texts = await Promise.all(found.map(d => bundleOf(client, r, d)))
  return texts.filter((t): t is string => t !== undefined)
}

/** The referrer descriptors of `digest`, from the API or the referrers tag. */
async function listed(client: Client, r: ImageRef, digest: string): Promise<Descriptor[]> {
  let reply = await get(client, r, `referrers/${digest}`, OCI_INDEX)
  if (reply.status === 404) reply = await get(client, r, `manifests/${fallbackTag(digest)}`, OCI_INDEX)
  if (reply.status === 404) return []
  if (!reply.ok)
    throw new Error(`cannot list the referrers of ${r.host}/${r.name}@${digest}: HTTP ${reply.status}`)
  const doc = JSON.parse(reply.body.toString('utf8')) as { manifests?: Descriptor[] }
  return Array.isArray(doc.manifests) ? doc.manifests : []
}

async function bundleOf(client: Client, r: ImageRef, d: Descriptor): Promise<string | undefined> {
  const m = await get(client, r, `manifests/${d.digest}`, OCI_MANIFEST)
  if (!m.ok || sha256(m.body) !== d.digest) return undefined
  const layer = (JSON.parse(m.body.toString('utf8')) as { layers?: Descriptor[] }).layers?.[0]
  if (!layer || layer.mediaType !== BUNDLE_TYPE || !/^sha256:[0-9a-f]{64}$/.test(layer.digest))
    return undefined
  const blob = await get(client, r, `blobs/${layer.digest}`)
  return blob.ok && sha256(blob.body) === layer.digest ? blob.body.toString('utf8') : undefined
}

async function upload(client: Client, r: ImageRef, bytes: Buffer): Promise<Descriptor & { digest: string }> {
  const digest = sha256(bytes)
  const c = client(r.host)
  const head = await c.request('HEAD', `/v2/${r.name}/blobs/${digest}`)
  if (!head.ok) {
    const start = await c.request('POST', `/v2/${r.name}/blobs/uploads/`)
    const location = start.headers.get('location')
    if (start.status !== 202 || !location)
      throw new Error(`cannot upload to ${r.host}/${r.name}: HTTP ${start.status}`)
    const url = new URL(location, `${c.base}/`)
    url.searchParams.set('digest', digest)
    const put = await c.request('PUT', url.toString(), {
      body: bytes,
      contentType: 'application/octet-stream'
    })
    if (!put.ok) throw new Error(`cannot upload to ${r.host}/${r.name}: HTTP ${put.status}`)
  }
  return { mediaType: '', digest, size: bytes.length }
}

async function putManifest(
  client: Client,
  r: ImageRef,
  reference: string,
  bytes: Buffer,
  type: string
): Promise<Reply> {
  const reply = await client(r.host).request('PUT', `/v2/${r.name}/manifests/${reference}`, {
    body: bytes,
    contentType: type
  })
  if (!reply.ok) throw new Error(`cannot put ${r.host}/${r.name}:${reference}: HTTP ${reply.status}`)
  return reply
}

async function attach(
  client: Client,
  upload: Uploader,
  image: string,
  digest: string,
  bundle: string,
  annotations: Record<string, string>
): Promise<string> {
  const r = parseImageRef(image)
  const subject = await client(r.host).request('HEAD', `/v2/${r.name}/manifests/${digest}`, {
    accept: [
      OCI_INDEX,
      OCI_MANIFEST,
      'application/vnd.docker.distribution.manifest.v2+json',
      'application/vnd.docker.distribution.manifest.list.v2+json'
    ].join(', ')
  })
  if (!subject.ok) throw new Error(`cannot attach to ${r.host}/${r.name}@${digest}: HTTP ${subject.status}`)
  const [config, layer] = await Promise.all([upload(r, EMPTY), upload(r, Buffer.from(bundle))])
  const manifest = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: OCI_MANIFEST,
      artifactType: BUNDLE_TYPE,
      config: { ...config, mediaType: EMPTY_TYPE },
      layers: [{ ...layer, mediaType: BUNDLE_TYPE }],
      subject: {
        mediaType: subject.headers.get('content-type')?.split(';')[0] ?? OCI_MANIFEST,
        digest,
        size: Number(subject.headers.get('content-length'))
      },
      annotations
    })
  )
  const own = sha256(manifest)
  const put = await putManifest(client, r, own, manifest, OCI_MANIFEST)
  // A registry with the referrers API says so; any other needs the referrers tag kept up to date.
  if (!put.headers.get('oci-subject')) {
    const entry = {
      mediaType: OCI_MANIFEST,
      digest: own,
      size: manifest.length,
      artifactType: BUNDLE_TYPE,
      annotations
    }
    await addToReferrersTag(client, r, digest, entry)
  }
  return own
}

/** OCI 1.1's fallback: the index under the referrers tag `sha256-<hex>` gets `entry` (once). */
async function addToReferrersTag(
  client: Client,
  r: ImageRef,
  digest: string,
  entry: Descriptor
): Promise<void> {
  const now = await get(client, r, `manifests/${fallbackTag(digest)}`, OCI_INDEX)
  const before = now.ok
    ? ((JSON.parse(now.body.toString('utf8')) as { manifests?: Descriptor[] }).manifests ?? [])
    : []
  const index = {
    schemaVersion: 2,
    mediaType: OCI_INDEX,
    manifests: [...before.filter(d => d.digest !== entry.digest), entry]
  }
  await putManifest(client, r, fallbackTag(digest), Buffer.from(JSON.stringify(index)), OCI_INDEX)
}

/** The OCI 1.1 referrers tag of a digest: `sha256-<hex>`. */
export function fallbackTag(digest: string): string {
  return digest.replace(':', '-')
}

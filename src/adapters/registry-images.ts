// Writing images over the distribution API, for layers assembled in the registry (SPEC 7a): a
// manifest and a blob read, a blob uploaded only when the repository lacks it (HEAD, then one monolithic
// upload), a cross-repository mount, and a manifest put under a digest or a tag.
import { parseImageRef } from '../core/image-ref.js'
import { sha256 } from '../core/input-digest.js'
import type { RegistryClient, Reply } from './registry-http.js'

export interface StoredManifest {
  bytes: Buffer
  digest: string
  mediaType: string
}

export interface ImageStore {
  /** `ref` (`repo:tag`, `repo@sha256:…`) as the registry stores it; null when it does not exist. */
  manifest(ref: string): Promise<StoredManifest | null>
  /** A blob's bytes (an image config), checked against its digest. */
  blob(repo: string, digest: string): Promise<Buffer>
  /**
   * Uploads `bytes` unless `repo` has them (a HEAD asks first; `ask: false` skips it for a blob that
   * is new by construction, the registry then takes the same bytes again at worst).
   */
  putBlob(
    repo: string,
    digest: string,
    bytes: Buffer,
    opts?: { ask?: boolean }
  ): Promise<'present' | 'uploaded'>
  /** Mounts a blob of `from` (a repository of the same host) into `repo`: one POST, no HEAD. */
  mountBlob(repo: string, digest: string, from: string): Promise<void>
  /** Puts a manifest under `reference` (a digest or a tag) of `repo`. */
  putManifest(repo: string, reference: string, bytes: Buffer, mediaType: string): Promise<void>
}

export interface ImageStoreDeps {
  client(host: string): RegistryClient
  accept: string
  /** The registry refused or failed: an Error that says what and why (the adapter's wording). */
  failure(what: string, reply: Reply, host: string): Error
  /** A tag was put: forget what was memoized about it. */
  forget(ref: string): void
}

export function createImageStore(d: ImageStoreDeps): ImageStore {
  return {
    manifest: ref => manifest(d, ref),
    blob: (repo, digest) => blob(d, repo, digest),
    putBlob: (repo, digest, bytes, opts) => putBlob(d, repo, digest, bytes, opts?.ask ?? true),
    mountBlob: (repo, digest, from) => mountBlob(d, repo, digest, from),
    putManifest: (repo, reference, bytes, mediaType) => putManifest(d, repo, reference, bytes, mediaType)
  }
}

function repoOf(repo: string): { host: string; name: string } {
  const r = parseImageRef(repo)
  return { host: r.host, name: r.name }
}

async function manifest(d: ImageStoreDeps, ref: string): Promise<StoredManifest | null> {
  const r = parseImageRef(ref)
  const reference = r.digest ?? r.tag ?? 'latest'
  const reply = await d.client(r.host).request('GET', `/v2/${r.name}/manifests/${reference}`, {
    accept: d.accept
  })
  if (reply.status === 404) return null
  if (!reply.ok) throw d.failure(`cannot read the manifest of ${ref}`, reply, r.host)
  const digest = sha256(reply.body)
  if (r.digest && digest !== r.digest) {
    throw new Error(`cannot read the manifest of ${ref}: the registry answered bytes of ${digest}`)
  }
  const type = reply.headers.get('content-type')?.split(';')[0].trim()
  const doc = JSON.parse(reply.body.toString('utf8')) as { mediaType?: string }
  const mediaType = doc.mediaType ?? type
  if (!mediaType) throw new Error(`cannot read the manifest of ${ref}: it names no media type`)
  return { bytes: reply.body, digest, mediaType }
}

async function blob(d: ImageStoreDeps, repo: string, digest: string): Promise<Buffer> {
  const { host, name } = repoOf(repo)
  const reply = await d.client(host).request('GET', `/v2/${name}/blobs/${digest}`)
  if (!reply.ok) throw d.failure(`cannot read the blob ${digest} of ${repo}`, reply, host)
  if (sha256(reply.body) !== digest) {
    throw new Error(`cannot read the blob ${digest} of ${repo}: the registry answered other bytes`)
  }
  return reply.body
}

/**
 * A monolithic upload: POST for a session, PUT of the bytes with the digest. With `ask`, the POST asks
 * to mount the blob from the repository itself: 201 says it is there already, 202 starts the upload (one
 * request where a HEAD then a POST took two; a registry that refuses such a mount is asked with a HEAD).
 */
async function putBlob(
  d: ImageStoreDeps,
  repo: string,
  digest: string,
  bytes: Buffer,
  ask: boolean
): Promise<'present' | 'uploaded'> {
  const { host, name } = repoOf(repo)
  const what = `cannot upload the blob ${digest} to ${repo}`
  const c = d.client(host)
  const uploads = `/v2/${name}/blobs/uploads/`
  const mount = `?mount=${encodeURIComponent(digest)}&from=${encodeURIComponent(name)}`
  let started = await c.request('POST', ask ? uploads + mount : uploads)
  if (ask && started.status === 201) return 'present'
  if (ask && started.status !== 202) {
    if ((await c.request('HEAD', `/v2/${name}/blobs/${digest}`)).ok) return 'present'
    started = await c.request('POST', uploads)
  }
  if (started.status !== 202) throw d.failure(what, started, host)
  const location = started.headers.get('location')
  if (!location) throw new Error(`${what}: the registry started an upload without a Location`)
  const url = new URL(location, `${c.base}/v2/${name}/blobs/uploads/`)
  url.searchParams.set('digest', digest)
  const put = await c.request('PUT', url.toString(), { body: bytes, contentType: 'application/octet-stream' })
  if (put.status !== 201) throw d.failure(what, put, host)
  return 'uploaded'
}

/** A cross-repository mount: 201 when `repo` has the blob now; anything else is an error. */
async function mountBlob(d: ImageStoreDeps, repo: string, digest: string, from: string): Promise<void> {
  const { host, name } = repoOf(repo)
  const source = repoOf(from)
  const what = `cannot mount the blob ${digest} of ${from} into ${repo}`
  if (source.host !== host) throw new Error(`${what}: they are on different registries`)
  const query = `?mount=${encodeURIComponent(digest)}&from=${encodeURIComponent(source.name)}`
  const c = d.client(host)
  const reply = await c.request('POST', `/v2/${name}/blobs/uploads/${query}`)
  if (reply.status === 201) return
  if (reply.status === 202) {
    // The registry started an upload instead (it could not mount): end that session before failing.
    const location = reply.headers.get('location')
    if (location)
      await c.request('DELETE', new URL(location, `${c.base}/v2/${name}/blobs/uploads/`).toString())
    throw new Error(`${what}: the registry did not mount it (HTTP 202)`)
  }
  throw d.failure(what, reply, host)
}

async function putManifest(
  d: ImageStoreDeps,
  repo: string,
  reference: string,
  bytes: Buffer,
  mediaType: string
): Promise<void> {
  const { host, name } = repoOf(repo)
  const what = `cannot put a manifest under ${repo}${reference.startsWith('sha256:') ? '@' : ':'}${reference}`
  const reply = await d.client(host).request('PUT', `/v2/${name}/manifests/${reference}`, {
    body: bytes,
    contentType: mediaType
  })
  if (!reply.ok) throw d.failure(what, reply, host)
  const answered = reply.headers.get('docker-content-digest')
  if (answered && answered !== sha256(bytes)) {
    throw new Error(`${what}: the registry answered the digest ${answered}, not ${sha256(bytes)}`)
  }
  if (!reference.startsWith('sha256:')) d.forget(`${repo}:${reference}`)
}

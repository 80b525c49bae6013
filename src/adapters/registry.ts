// The registry as Strata sees it, over the OCI distribution API (no docker process): existence and
// digests (HEAD, memoized: one request per ref per run, side by side), tag moves that put the
// source manifest's bytes under each new tag, image config labels, and per-platform indexes.
import { parseImageRef, type ImageRef } from '../core/image-ref.js'
import { sha256 } from '../core/input-digest.js'
import { createLimiter } from '../core/limit.js'
import type { ImageInfo, PlatformManifest, Registry } from '../core/types.js'
import { LABEL_INPUTS, strataLabels } from '../core/same-inputs.js'
import { createRegistryClient, RegistryAuthError, type RegistryClient, type Reply } from './registry-http.js'
import { denialHint, failure, guard, isDockerHub, missing } from './registry-answers.js'
import { createImageStore, type ImageStore } from './registry-images.js'
import { memoizedReads } from './registry-memo.js'

export { denialHint, missing }

export const OCI_INDEX = 'application/vnd.oci.image.index.v1+json'
const DOCKER_LIST = 'application/vnd.docker.distribution.manifest.list.v2+json'
const INDEX_TYPES = [OCI_INDEX, DOCKER_LIST]
export const MANIFEST_TYPES = [
  ...INDEX_TYPES,
  'application/vnd.oci.image.manifest.v1+json',
  'application/vnd.docker.distribution.manifest.v2+json'
]
const ACCEPT = MANIFEST_TYPES.join(', ')

export interface RegistryOptions {
  /** Directory of the Docker config.json (default `$DOCKER_CONFIG`, else `~/.docker`). */
  dockerConfig?: string
  /** Added to process.env for `DOCKER_CONFIG` and credential helpers. */
  env?: Record<string, string | undefined>
  /** At most this many requests at once (default 8). */
  parallel?: number
  /** A request whose answer has not begun after this long fails as unanswered (default 30 s). */
  answerTimeoutMs?: number
}

export interface RegistryAdapter extends Registry {
  /** Every HTTP request sent, `METHOD URL`: for tests and the dry-run log. */
  readonly requests: string[]
  /** Blobs and manifests written, for layers assembled in the registry (SPEC 7a). */
  readonly images: ImageStore
}

interface Manifest {
  mediaType?: string
  config?: { digest?: string }
  annotations?: unknown
  manifests?: {
    digest: string
    mediaType?: string
    platform?: { os?: string; architecture?: string; variant?: string }
  }[]
}

/** The parts of an image config Strata reads. */
interface ImageConfig {
  os?: string
  architecture?: string
  variant?: string
  config?: { Labels?: unknown }
  rootfs?: { diff_ids?: unknown }
}

const mediaTypeOf = (r: Reply): string | undefined =>
  r.headers.get('content-type')?.split(';')[0].trim() || undefined
const reference = (r: ImageRef): string => r.digest ?? r.tag ?? 'latest'

/** What the module's functions share: a client per host, the run's look-ups by ref, the request log. */
interface Ctx {
  client(host: string): RegistryClient
  memo: Map<string, Promise<ImageInfo | null>>
}

export function createRegistry(opts: RegistryOptions = {}): RegistryAdapter {
  const requests: string[] = []
  const limit = createLimiter(opts.parallel ?? 8)
  const clients = new Map<string, RegistryClient>()
  const contents = new Map<string, Reply>()
  const client = (host: string): RegistryClient => {
    let c = clients.get(host)
    if (!c) {
      const http = createRegistryClient({
        host,
        dockerConfig: opts.dockerConfig,
        env: opts.env,
        limit,
        log: requests,
        answerTimeoutMs: opts.answerTimeoutMs
      })
      c = memoizedReads(http, contents)
      clients.set(host, c)
    }
    return c
  }
  const ctx: Ctx = { client, memo: new Map() }
  const images = createImageStore({ client, accept: ACCEPT, failure, forget: ref => forget(ctx, [ref]) })
  return {
    requests,
    images,
    inspect: (ref, o) => inspect(ctx, ref, o?.read ?? false),
    retag: (source, targets) => retag(ctx, source, targets),
    labels: ref => labels(ctx, ref),
    diffIds: ref => diffIds(ctx, ref),
    putIndex: (manifests, tags) => putIndex(ctx, manifests, tags)
  }
}

/** A tag's digest and media type, once a run per ref (a GET when `read`); null when it does not exist. */
function inspect(ctx: Ctx, ref: string, read: boolean): Promise<ImageInfo | null> {
  let p = ctx.memo.get(ref)
  if (!p) {
    p = lookUp(ctx, ref, read)
    ctx.memo.set(ref, p)
  }
  return p
}

/** The tags moved (or may have): a later look-up must ask again. */
function forget(ctx: Ctx, refs: string[]): void {
  const tags = refs.map(r => parseImageRef(r))
  for (const key of [...ctx.memo.keys()]) if (tags.some(t => sameTag(key, t))) ctx.memo.delete(key)
}

/** A manifest GET, or null when the registry says the tag or repository does not exist. */
async function getManifest(
  ctx: Ctx,
  r: ImageRef,
  ref: string,
  what: string
): Promise<{ reply: Reply; doc: Manifest } | null> {
  const reply = await ctx.client(r.host).request('GET', `/v2/${r.name}/manifests/${ref}`, { accept: ACCEPT })
  if (!reply.ok) {
    if (missing(reply, r.host)) return null
    throw failure(what, reply, r.host)
  }
  try {
    return { reply, doc: JSON.parse(reply.body.toString('utf8')) as Manifest }
  } catch (e) {
    throw new Error(`${what}: the manifest is not JSON (${(e as Error).message})`)
  }
}

/** The image config of an image manifest (untrusted JSON); null when the manifest names none. */
async function imageConfig(ctx: Ctx, r: ImageRef, doc: Manifest, what: string): Promise<ImageConfig | null> {
  const config = doc.config?.digest
  if (!config) return null
  const blob = await ctx.client(r.host).request('GET', `/v2/${r.name}/blobs/${config}`)
  if (!blob.ok) throw failure(`${what}: image config ${config}`, blob, r.host)
  try {
    const parsed: unknown = JSON.parse(blob.body.toString('utf8'))
    return parsed && typeof parsed === 'object' ? (parsed as ImageConfig) : null
  } catch (e) {
    throw new Error(`${what}: the image config ${config} is not JSON (${(e as Error).message})`)
  }
}

async function lookUp(ctx: Ctx, ref: string, read: boolean): Promise<ImageInfo | null> {
  const what = `cannot look up ${ref} in the registry`
  return guard(what, ref, async () => {
    const r = parseImageRef(ref)
    const path = `/v2/${r.name}/manifests/${reference(r)}`
    // A GET's bytes are kept under their digest (registry-memo.ts): the labels read them from there.
    const method = read && !isDockerHub(r.host) ? 'GET' : 'HEAD'
    let reply = await ctx.client(r.host).request(method, path, { accept: ACCEPT })
    // A HEAD answer has no body: ask again with GET to read the error, or a digest the HEAD left out.
    if (
      method === 'HEAD' &&
      ((!reply.ok && reply.status !== 404) ||
        (reply.ok && !reply.headers.get('docker-content-digest') && !r.digest))
    ) {
      reply = await ctx.client(r.host).request('GET', path, { accept: ACCEPT })
    }
    if (!reply.ok) {
      if (missing(reply, r.host)) return null
      throw failure(what, reply, r.host)
    }
    const digest = reply.headers.get('docker-content-digest') ?? r.digest ?? sha256(reply.body)
    if (!/^sha256:[0-9a-f]{64}$/.test(digest)) {
      throw new Error(`${what}: the registry answered the digest ${JSON.stringify(digest.slice(0, 100))}`)
    }
    const mediaType = mediaTypeOf(reply)
    return mediaType ? { digest, mediaType } : { digest }
  })
}

function sameRepository(src: ImageRef, refs: string[], what: string): ImageRef[] {
  return refs.map(t => {
    const r = parseImageRef(t)
    if (r.host !== src.host || r.name !== src.name || !r.tag || r.digest) {
      throw new Error(
        `${what}: ${t} must be a tag (repo:tag) in ${src.host}/${src.name}, the source's repository`
      )
    }
    return r
  })
}

/** PUTs `bytes` under every tag, side by side; every tag is tried, then the failures are thrown together. */
async function putUnder(
  ctx: Ctx,
  tags: ImageRef[],
  bytes: Buffer,
  mediaType: string,
  what: string
): Promise<void> {
  const digest = sha256(bytes)
  const results = await Promise.allSettled(
    tags.map(async t => {
      const name = `${t.host}/${t.name}:${t.tag}`
      const reply = await ctx.client(t.host).request('PUT', `/v2/${t.name}/manifests/${t.tag}`, {
        body: bytes,
        contentType: mediaType
      })
      if (!reply.ok) throw failure(name, reply, t.host)
      const answered = reply.headers.get('docker-content-digest')
      if (answered !== digest) {
        throw new Error(`${name}: the registry answered the digest ${answered ?? '(none)'}, not ${digest}`)
      }
    })
  )
  forget(
    ctx,
    tags.map(t => `${t.host}/${t.name}:${t.tag}`)
  )
  const failed = results.flatMap((r, i) => {
    if (r.status === 'fulfilled') return []
    const e = r.reason as Error
    return [`${e.message}${e instanceof RegistryAuthError ? denialHint(tags[i].host) : ''}`]
  })
  if (failed.length > 0) throw new Error(`${what}: ${failed.join('; ')}`)
}

/** Puts the source manifest's bytes under each target tag (same repository; no docker process). */
async function retag(ctx: Ctx, source: string, targets: string[]): Promise<void> {
  if (targets.length === 0) return
  const what = `cannot tag ${source} as ${targets.join(', ')}`
  await guard(what, targets[0], async () => {
    const src = parseImageRef(source)
    const tags = sameRepository(src, targets, what)
    const got = await getManifest(ctx, src, reference(src), what)
    if (!got) throw new Error(`${what}: ${source} does not exist in the registry`)
    const bytes = got.reply.body
    if (src.digest && sha256(bytes) !== src.digest) {
      throw new Error(
        `${what}: the registry answered bytes whose digest is ${sha256(bytes)}, not ${src.digest}`
      )
    }
    const mediaType = mediaTypeOf(got.reply) ?? got.doc.mediaType
    if (!mediaType || !MANIFEST_TYPES.includes(mediaType)) {
      throw new Error(
        `${what}: ${source} has the media type ${JSON.stringify(mediaType)}, not an image or index`
      )
    }
    await putUnder(ctx, tags, bytes, mediaType, what)
  })
}

/**
 * The labels of an image (an index: its linux/amd64 image, else its first); null when none. Strata's
 * own (`dev.strata.*`, SPEC 4a) come from the image manifest's annotations where its build wrote them
 * there: the manifest answers them, and the config is not read (SPEC 11).
 */
async function labels(ctx: Ctx, ref: string): Promise<Record<string, string> | null> {
  const what = `cannot read the labels of ${ref}`
  return guard(what, ref, async () => {
    const r = parseImageRef(ref)
    // A tag this run looked up: the manifest it named, read by digest (kept for the run, SPEC 11).
    const seen = r.digest ? undefined : await ctx.memo.get(ref)?.catch(() => undefined)
    if (seen === null) return null
    let got = await getManifest(ctx, r, seen?.digest ?? reference(r), what)
    if (!got) return null
    const doc = got.doc
    if (INDEX_TYPES.includes(doc.mediaType ?? mediaTypeOf(got.reply) ?? '') || Array.isArray(doc.manifests)) {
      const entries = (doc.manifests ?? []).filter(m => m.platform?.os !== 'unknown')
      const image =
        entries.find(m => m.platform?.os === 'linux' && m.platform.architecture === 'amd64') ?? entries[0]
      if (!image) return null
      got = await getManifest(ctx, r, image.digest, what)
      if (!got) throw new Error(`${what}: its index names ${image.digest}, which the registry does not have`)
    }
    const annotated = strataAnnotations(got.doc.annotations)
    if (annotated) return annotated
    const found = (await imageConfig(ctx, r, got.doc, what))?.config?.Labels
    if (!found || typeof found !== 'object' || Array.isArray(found)) return null
    return Object.fromEntries(Object.entries(found).filter(([, v]) => typeof v === 'string')) as Record<
      string,
      string
    >
  })
}

/** The `dev.strata.*` annotations of a manifest that carries `dev.strata.inputs`; undefined otherwise. */
function strataAnnotations(annotations: unknown): Record<string, string> | undefined {
  if (!annotations || typeof annotations !== 'object' || Array.isArray(annotations)) return undefined
  const strata = strataLabels(annotations as Record<string, unknown>)
  return strata[LABEL_INPUTS] !== undefined ? strata : undefined
}

/** Per platform, the image's layers (`rootfs.diff_ids`) from manifests and configs; null when it does not exist. */
async function diffIds(ctx: Ctx, ref: string): Promise<Record<string, string[]> | null> {
  const what = `cannot read the layers of ${ref}`
  return guard(what, ref, async () => {
    const r = parseImageRef(ref)
    const got = await getManifest(ctx, r, reference(r), what)
    if (!got) return null
    const images = Array.isArray(got.doc.manifests)
      ? got.doc.manifests.filter(m => m.platform?.os !== 'unknown')
      : [undefined]
    const out: Record<string, string[]> = {}
    for (const m of images) {
      const doc = m ? (await getManifest(ctx, r, m.digest, what))?.doc : got.doc
      if (!doc) throw new Error(`${what}: its index names ${m?.digest}, which the registry does not have`)
      const config = await imageConfig(ctx, r, doc, what)
      const ids = config?.rootfs?.diff_ids
      if (!config || !Array.isArray(ids) || !ids.every(d => typeof d === 'string'))
        throw new Error(`${what}: an image config without rootfs.diff_ids`)
      const platform = [config.os, config.architecture, config.variant].filter(Boolean).join('/')
      out[platform] = ids as string[]
    }
    return out
  })
}

/** An OCI index of the platform manifests, put under every tag; returns its digest. */
async function putIndex(ctx: Ctx, manifests: PlatformManifest[], tags: string[]): Promise<string> {
  const what = `cannot put an index under ${tags.join(', ')}`
  if (tags.length === 0) throw new Error('putIndex needs at least one tag')
  return guard(what, tags[0], async () => {
    const first = parseImageRef(tags[0])
    const targets = sameRepository(first, tags, what)
    if (manifests.length === 0) throw new Error(`${what}: no platform manifests given`)
    const descriptors = await Promise.all(manifests.map(m => descriptor(ctx, first, m, what)))
    const bytes = Buffer.from(
      JSON.stringify({ schemaVersion: 2, mediaType: OCI_INDEX, manifests: descriptors })
    )
    await putUnder(ctx, targets, bytes, OCI_INDEX, what)
    return sha256(bytes)
  })
}

/** The index entry of one platform's manifest: its media type and size from a HEAD. */
async function descriptor(ctx: Ctx, repo: ImageRef, m: PlatformManifest, what: string): Promise<object> {
  const p = /^([a-z0-9]+)\/([a-z0-9_]+)(?:\/([a-z0-9]+))?$/.exec(m.platform)
  if (!p) throw new Error(`${what}: the platform ${JSON.stringify(m.platform)} is not os/arch[/variant]`)
  if (!/^sha256:[0-9a-f]{64}$/.test(m.digest)) {
    throw new Error(`${what}: ${JSON.stringify(m.digest)} (${m.platform}) is not a sha256 digest`)
  }
  const path = `/v2/${repo.name}/manifests/${m.digest}`
  let reply = await ctx.client(repo.host).request('HEAD', path, { accept: ACCEPT })
  let size = Number(reply.headers.get('content-length'))
  if (reply.ok && !(size > 0)) {
    reply = await ctx.client(repo.host).request('GET', path, { accept: ACCEPT })
    size = reply.body.length
  }
  if (!reply.ok)
    throw failure(`${what}: ${repo.host}/${repo.name}@${m.digest} (${m.platform})`, reply, repo.host)
  const mediaType = mediaTypeOf(reply)
  if (!mediaType || INDEX_TYPES.includes(mediaType) || !MANIFEST_TYPES.includes(mediaType)) {
    throw new Error(
      `${what}: ${m.digest} (${m.platform}) is ${mediaType ?? 'of no media type'}, not one platform's image manifest`
    )
  }
  const platform = { architecture: p[2], os: p[1], ...(p[3] && { variant: p[3] }) }
  return { mediaType, digest: m.digest, size, platform }
}

/** A memo key names `t` (`host/name:tag`, Docker Hub's with or without `docker.io/`). */
function sameTag(key: string, t: ImageRef): boolean {
  try {
    const k = parseImageRef(key)
    return k.host === t.host && k.name === t.name && k.tag === t.tag && !k.digest
  } catch {
    return false
  }
}

// The registry's own HTTP API (OCI distribution / Docker Registry v2), for mode: cleanup: list
// every tag (all pages), read each manifest for its digest, creation time and children, delete
// by digest. Credentials come from the Docker config that `docker login` / docker/login-action
// leave; a Bearer challenge is answered with a token from the registry's token service.
import { parseImageRef } from '../core/image-ref.js'
import { sha256 } from '../core/input-digest.js'
import { mapLimit } from '../core/limit.js'
import type { Credentials } from './docker-auth.js'
import { MANIFEST_TYPES } from './registry.js'
import { createRegistryClient, nextLink, type RegistryClient, type Reply } from './registry-http.js'

const INDEX_TYPES = MANIFEST_TYPES.slice(0, 2)
const CONFIG_TYPES = [
  'application/vnd.oci.image.config.v1+json',
  'application/vnd.docker.container.image.v1+json'
]

export interface ManifestInfo {
  digest: string
  mediaType: string
  /** The image config's `created` (an index: its first platform image's); undefined when none. */
  created?: Date
  /** An index's manifests. */
  children?: string[]
}

/** One digest of the repository with every tag on it. */
export interface RegistryImage extends ManifestInfo {
  tags: string[]
}

export interface OciRegistry {
  /** Every tag, all pages. Throws when a page fails or is malformed: a partial list is never returned. */
  listTags(): Promise<string[]>
  /** The manifest behind a tag or digest. Throws when it is missing or unreadable. */
  manifest(reference: string): Promise<ManifestInfo>
  /** Every tag grouped by digest. Throws on any failure, like listTags. */
  listImages(): Promise<RegistryImage[]>
  /** Deletes a manifest by digest (and with it every tag on it). */
  deleteManifest(digest: string): Promise<void>
}

export interface OciRegistryOptions {
  /** Repository without tag: `localhost:5000/strata-test/x`, `ghcr.io/acme/sindri`. */
  image: string
  /** Base URL of the registry; default `http://` for localhost and 127.0.0.1, else `https://` of the host. */
  url?: string
  /** Directory of config.json; default `$DOCKER_CONFIG`, else `~/.docker`. */
  dockerConfig?: string
  /** Used when the Docker config has no entry for the host (GHCR: the GitHub token). */
  credentials?: Credentials
  /** Tags asked for per page (`n`). */
  pageSize?: number
  /** Manifest reads at once. */
  concurrency?: number
}

/** One repository's client: its HTTP client, paging, and the manifests and configs read so far. */
interface Repo {
  image: string
  /** The repository's path on its registry. */
  name: string
  client: RegistryClient
  pageSize: number
  concurrency: number
  /** Manifests by digest (content-addressed: read once); tags are always asked again. */
  manifests: Map<string, Promise<ManifestInfo>>
  /** Image configs' `created`, by config digest. */
  configs: Map<string, Promise<Date | undefined>>
}

export function createOciRegistry(opts: OciRegistryOptions): OciRegistry {
  const { host, name } = parseImageRef(opts.image)
  const r: Repo = {
    image: opts.image,
    name,
    client: createRegistryClient({
      host,
      url: opts.url,
      dockerConfig: opts.dockerConfig,
      credentials: opts.credentials
    }),
    pageSize: opts.pageSize ?? 100,
    concurrency: opts.concurrency ?? 8,
    manifests: new Map(),
    configs: new Map()
  }
  return {
    listTags: () => listTags(r),
    manifest: reference => manifest(r, reference),
    listImages: () => listImages(r),
    deleteManifest: digest => deleteManifest(r, digest)
  }
}

function fail(res: Reply, what: string): never {
  // The registry's words, on one line: no control character from an answer reaches the log.
  const text = res.body
    .subarray(0, 4096)
    .toString('utf8')
    .replace(/[\p{Cc}\s]+/gu, ' ')
    .slice(0, 300)
  const hint =
    res.status === 401 || res.status === 403
      ? ': the credentials lack permission (GHCR: packages: write; delete needs the registry to allow it)'
      : res.status === 405
        ? ': the registry does not allow deletes (distribution: storage.delete.enabled: true)'
        : ''
  throw new Error(`${what}: HTTP ${res.status}${hint}${text ? ` (${text.trim()})` : ''}`)
}

function json<T>(res: Reply, what: string): T {
  try {
    return JSON.parse(res.body.toString('utf8')) as T
  } catch (e) {
    throw new Error(`${what} is not valid JSON (${(e as Error).message})`)
  }
}

async function listTags(r: Repo): Promise<string[]> {
  const tags: string[] = []
  const seen = new Set<string>()
  let url: string | undefined = `${r.client.base}/v2/${r.name}/tags/list?n=${r.pageSize}`
  for (let page = 1; url; page++) {
    if (seen.has(url)) throw new Error(`listing tags of ${r.image}: page ${page} repeats ${url}`)
    seen.add(url)
    // A next page on another host is followed without credentials (the client's rule).
    const res = await r.client.request('GET', url, { accept: 'application/json' })
    if (res.status === 404 && page === 1) {
      const body = res.body.toString('utf8')
      if (body.includes('NAME_UNKNOWN')) return [] // no such repository: nothing to clean
      throw new Error(`listing tags of ${r.image}: HTTP 404 (${body.slice(0, 200).trim()})`)
    }
    if (!res.ok) fail(res, `listing tags of ${r.image} (page ${page})`)
    tags.push(...tagsOfPage(r.image, res, page))
    url = nextLink(res.headers.get('link'), res.url)
  }
  return [...new Set(tags)]
}

/** One page's `tags` (null: none), or an error naming the page. */
function tagsOfPage(image: string, res: Reply, page: number): string[] {
  const body = json<{ tags?: unknown }>(res, `listing tags of ${image}: page ${page}`)
  if (body.tags !== null && !(Array.isArray(body.tags) && body.tags.every(t => typeof t === 'string'))) {
    throw new Error(`listing tags of ${image}: page ${page} has no "tags" list`)
  }
  return (body.tags as string[] | null) ?? []
}

function manifest(r: Repo, reference: string): Promise<ManifestInfo> {
  const cached = r.manifests.get(reference)
  if (cached) return cached
  const p = readManifest(r, reference)
  if (reference.startsWith('sha256:')) r.manifests.set(reference, p)
  return p
}

interface ManifestDoc {
  mediaType?: string
  config?: { mediaType?: string; digest?: string }
  manifests?: { digest: string; mediaType?: string; platform?: { os?: string; architecture?: string } }[]
}

async function readManifest(r: Repo, reference: string): Promise<ManifestInfo> {
  const what = `reading manifest ${r.image}:${reference}`
  const res = await r.client.request('GET', `/v2/${r.name}/manifests/${reference}`, {
    accept: MANIFEST_TYPES.join(', ')
  })
  if (!res.ok) fail(res, what)
  const digest = res.headers.get('docker-content-digest') ?? sha256(res.body)
  const doc = json<ManifestDoc>(res, what.replace('reading manifest', 'manifest'))
  const mediaType = doc.mediaType ?? res.headers.get('content-type') ?? ''
  if (INDEX_TYPES.includes(mediaType) || Array.isArray(doc.manifests))
    return indexInfo(r, doc, digest, mediaType)
  const info: ManifestInfo = { digest, mediaType }
  const config = doc.config
  if (config?.digest && (!config.mediaType || CONFIG_TYPES.includes(config.mediaType))) {
    const created = await createdOf(r, config.digest)
    if (created) info.created = created
  }
  return info
}

/** An index: its manifests are its children; its age is that of its first platform image. */
async function indexInfo(
  r: Repo,
  doc: ManifestDoc,
  digest: string,
  mediaType: string
): Promise<ManifestInfo> {
  // A buildkit cache index lists blobs, not manifests: those are not children.
  const entries = (doc.manifests ?? []).filter(m => !m.mediaType || MANIFEST_TYPES.includes(m.mediaType))
  const image = entries.find(m => m.platform?.os !== 'unknown') ?? entries[0]
  const info: ManifestInfo = { digest, mediaType, children: entries.map(m => m.digest) }
  if (image) {
    const created = (await manifest(r, image.digest)).created
    if (created) info.created = created
  }
  return info
}

function createdOf(r: Repo, digest: string): Promise<Date | undefined> {
  let p = r.configs.get(digest)
  if (!p) {
    p = (async () => {
      const res = await r.client.request('GET', `/v2/${r.name}/blobs/${digest}`)
      if (!res.ok) fail(res, `reading image config ${r.image}@${digest}`)
      const created = json<{ created?: string }>(res, `image config ${r.image}@${digest}`).created
      const date = created ? new Date(created) : undefined
      return date && !Number.isNaN(date.getTime()) ? date : undefined
    })()
    r.configs.set(digest, p)
  }
  return p
}

async function listImages(r: Repo): Promise<RegistryImage[]> {
  const tags = (await listTags(r)).sort()
  const infos = await mapLimit(tags, r.concurrency, t => manifest(r, t))
  const byDigest = new Map<string, RegistryImage>()
  tags.forEach((tag, i) => {
    const info = infos[i]
    const img = byDigest.get(info.digest) ?? { ...info, tags: [] }
    img.tags.push(tag)
    byDigest.set(info.digest, img)
  })
  return [...byDigest.values()]
}

async function deleteManifest(r: Repo, digest: string): Promise<void> {
  const res = await r.client.request('DELETE', `/v2/${r.name}/manifests/${digest}`)
  if (res.status === 404) return // already gone: what we wanted
  if (!res.ok) fail(res, `deleting ${r.image}@${digest}`)
}

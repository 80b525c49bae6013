// The registry's own HTTP API (OCI distribution / Docker Registry v2), for mode: cleanup: list
// every tag (all pages), read each manifest for its digest, creation time and children, delete
// by digest. Credentials come from the Docker config that `docker login` / docker/login-action
// leave; a Bearer challenge is answered with a token from the registry's token service.
import { createHash } from 'node:crypto'
import { readFile } from 'node:fs/promises'
import { homedir } from 'node:os'
import { join } from 'node:path'

export const MANIFEST_TYPES = [
  'application/vnd.oci.image.index.v1+json',
  'application/vnd.docker.distribution.manifest.list.v2+json',
  'application/vnd.oci.image.manifest.v1+json',
  'application/vnd.docker.distribution.manifest.v2+json'
]
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

export interface Credentials {
  username: string
  password: string
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

export function parseImage(image: string): { host: string; name: string } {
  const slash = image.indexOf('/')
  const first = slash < 0 ? '' : image.slice(0, slash)
  if (first.includes('.') || first.includes(':') || first === 'localhost') {
    return { host: first, name: image.slice(slash + 1) }
  }
  return { host: 'docker.io', name: image.includes('/') ? image : `library/${image}` }
}

function defaultUrl(host: string): string {
  if (host === 'docker.io') return 'https://registry-1.docker.io'
  const bare = host.replace(/:\d+$/, '')
  return `${bare === 'localhost' || bare === '127.0.0.1' ? 'http' : 'https'}://${host}`
}

/** Credentials for `host` from a Docker config.json (`auths`: `auth` = base64 user:pass, or username/password). */
export async function dockerCredentials(host: string, dir?: string): Promise<Credentials | undefined> {
  const file = join(dir ?? process.env.DOCKER_CONFIG ?? join(homedir(), '.docker'), 'config.json')
  let text: string
  try {
    text = await readFile(file, 'utf8')
  } catch {
    return undefined
  }
  let auths: Record<string, { auth?: string; username?: string; password?: string }>
  try {
    auths = (JSON.parse(text) as { auths?: typeof auths }).auths ?? {}
  } catch (e) {
    throw new Error(
      `${file} is not valid JSON (${(e as Error).message}); log in again with docker/login-action`
    )
  }
  const hosts = host === 'docker.io' ? ['docker.io', 'index.docker.io', 'registry-1.docker.io'] : [host]
  for (const [key, entry] of Object.entries(auths)) {
    const keyHost = key.replace(/^https?:\/\//, '').replace(/\/.*$/, '')
    if (!hosts.includes(keyHost)) continue
    if (entry.auth) {
      const plain = Buffer.from(entry.auth, 'base64').toString('utf8')
      const colon = plain.indexOf(':')
      if (colon > 0) return { username: plain.slice(0, colon), password: plain.slice(colon + 1) }
    }
    if (entry.username && entry.password) return { username: entry.username, password: entry.password }
  }
  return undefined
}

interface Challenge {
  scheme: string
  params: Record<string, string>
}

export function parseChallenge(header: string): Challenge {
  const space = header.indexOf(' ')
  const scheme = (space < 0 ? header : header.slice(0, space)).toLowerCase()
  const params: Record<string, string> = {}
  for (const m of header.slice(space + 1).matchAll(/(\w+)=(?:"([^"]*)"|([^,\s]*))/g))
    params[m[1]] = m[2] ?? m[3]
  return { scheme, params }
}

/** The `rel="next"` target of a Link header, resolved against the request URL. */
export function nextLink(header: string | null, base: string): string | undefined {
  if (!header) return undefined
  for (const part of header.split(',')) {
    const m = /<([^>]*)>\s*;.*rel="?next"?/.exec(part)
    if (m) return new URL(m[1], base).toString()
  }
  return undefined
}

export function createOciRegistry(opts: OciRegistryOptions): OciRegistry {
  const { host, name } = parseImage(opts.image)
  const base = (opts.url ?? defaultUrl(host)).replace(/\/+$/, '')
  const pageSize = opts.pageSize ?? 100
  const concurrency = opts.concurrency ?? 8
  const scopes = new Set<string>()
  let authorization: string | undefined
  let creds: Promise<Credentials | undefined> | undefined
  const credentials = (): Promise<Credentials | undefined> =>
    (creds ??= dockerCredentials(host, opts.dockerConfig).then(c => c ?? opts.credentials))
  const configs = new Map<string, Promise<Date | undefined>>()
  const manifests = new Map<string, Promise<ManifestInfo>>()

  async function send(method: string, url: string, accept?: string): Promise<Response> {
    const headers: Record<string, string> = {}
    if (accept) headers.accept = accept
    if (authorization) headers.authorization = authorization
    return fetch(url, { method, headers })
  }

  /** One request: answers a 401 challenge once; reads retry 429, 5xx and network errors twice. */
  async function request(method: string, url: string, accept?: string): Promise<Response> {
    const retry = method !== 'DELETE'
    for (let attempt = 0; ; attempt++) {
      let res: Response
      try {
        res = await send(method, url, accept)
      } catch (e) {
        if (!retry || attempt >= 2) throw new Error(`${method} ${url}: ${(e as Error).message}`)
        await sleep(250 * 4 ** attempt)
        continue
      }
      if (res.status === 401) {
        const header = res.headers.get('www-authenticate')
        await res.arrayBuffer()
        if (!header) throw new Error(`${host} answered 401 without a WWW-Authenticate challenge`)
        await authenticate(parseChallenge(header))
        res = await send(method, url, accept)
      }
      if (retry && attempt < 2 && (res.status === 429 || res.status >= 500)) {
        await res.arrayBuffer()
        await sleep(250 * 4 ** attempt)
        continue
      }
      return res
    }
  }

  async function authenticate(ch: Challenge): Promise<void> {
    const c = await credentials()
    const basic = c ? `Basic ${Buffer.from(`${c.username}:${c.password}`).toString('base64')}` : undefined
    if (ch.scheme === 'basic') {
      if (!basic) throw new Error(noCredentials())
      authorization = basic
      return
    }
    if (ch.scheme !== 'bearer' || !ch.params.realm) {
      throw new Error(`${host} asks for an authentication scheme Strata does not speak: ${ch.scheme}`)
    }
    for (const s of (ch.params.scope ?? '').split(' ')) if (s) scopes.add(s)
    const url = new URL(ch.params.realm)
    if (ch.params.service) url.searchParams.set('service', ch.params.service)
    for (const s of scopes) url.searchParams.append('scope', s)
    const res = await fetch(url, { headers: basic ? { authorization: basic } : {} })
    if (!res.ok) {
      await res.arrayBuffer()
      throw new Error(
        `${host}: the token service ${url.origin}${url.pathname} refused ${c ? `user ${c.username}` : 'an anonymous request'} ` +
          `(HTTP ${res.status})${c ? '' : `; ${noCredentials()}`}`
      )
    }
    const body = (await res.json()) as { token?: string; access_token?: string }
    const token = body.token ?? body.access_token
    if (!token) throw new Error(`${host}: the token service answered without a token`)
    authorization = `Bearer ${token}`
  }

  function noCredentials(): string {
    return `${host} asks for credentials and the Docker config (${opts.dockerConfig ?? process.env.DOCKER_CONFIG ?? '~/.docker'}/config.json) has none for it: log in first (docker/login-action)`
  }

  async function fail(res: Response, what: string): Promise<never> {
    const text = (await res.text()).slice(0, 300)
    const hint =
      res.status === 401 || res.status === 403
        ? ': the credentials lack permission (GHCR: packages: write; delete needs the registry to allow it)'
        : res.status === 405
          ? ': the registry does not allow deletes (distribution: storage.delete.enabled: true)'
          : ''
    throw new Error(`${what}: HTTP ${res.status}${hint}${text ? ` (${text.trim()})` : ''}`)
  }

  async function listTags(): Promise<string[]> {
    const tags: string[] = []
    const seen = new Set<string>()
    let url: string | undefined = `${base}/v2/${name}/tags/list?n=${pageSize}`
    for (let page = 1; url; page++) {
      if (seen.has(url)) throw new Error(`listing tags of ${opts.image}: page ${page} repeats ${url}`)
      seen.add(url)
      const res = await request('GET', url, 'application/json')
      if (res.status === 404 && page === 1) {
        const body = await res.text()
        if (body.includes('NAME_UNKNOWN')) return [] // no such repository: nothing to clean
        throw new Error(`listing tags of ${opts.image}: HTTP 404 (${body.slice(0, 200).trim()})`)
      }
      if (!res.ok) await fail(res, `listing tags of ${opts.image} (page ${page})`)
      let body: { tags?: unknown }
      try {
        body = (await res.json()) as { tags?: unknown }
      } catch (e) {
        throw new Error(
          `listing tags of ${opts.image}: page ${page} is not valid JSON (${(e as Error).message})`
        )
      }
      if (body.tags !== null && !(Array.isArray(body.tags) && body.tags.every(t => typeof t === 'string'))) {
        throw new Error(`listing tags of ${opts.image}: page ${page} has no "tags" list`)
      }
      tags.push(...((body.tags as string[] | null) ?? []))
      url = nextLink(res.headers.get('link'), url)
    }
    return [...new Set(tags)]
  }

  function manifest(reference: string): Promise<ManifestInfo> {
    const cached = manifests.get(reference)
    if (cached) return cached
    const p = readManifest(reference)
    if (reference.startsWith('sha256:')) manifests.set(reference, p)
    return p
  }

  async function readManifest(reference: string): Promise<ManifestInfo> {
    const what = `reading manifest ${opts.image}:${reference}`
    const res = await request('GET', `${base}/v2/${name}/manifests/${reference}`, MANIFEST_TYPES.join(', '))
    if (!res.ok) await fail(res, what)
    const bytes = Buffer.from(await res.arrayBuffer())
    const digest =
      res.headers.get('docker-content-digest') ?? `sha256:${createHash('sha256').update(bytes).digest('hex')}`
    let doc: {
      mediaType?: string
      config?: { mediaType?: string; digest?: string }
      manifests?: { digest: string; mediaType?: string; platform?: { os?: string; architecture?: string } }[]
    }
    try {
      doc = JSON.parse(bytes.toString('utf8'))
    } catch (e) {
      throw new Error(`${what}: not JSON (${(e as Error).message})`)
    }
    const mediaType = doc.mediaType ?? res.headers.get('content-type') ?? ''
    if (INDEX_TYPES.includes(mediaType) || Array.isArray(doc.manifests)) {
      // A buildkit cache index lists blobs, not manifests: those are not children.
      const entries = (doc.manifests ?? []).filter(m => !m.mediaType || MANIFEST_TYPES.includes(m.mediaType))
      const image = entries.find(m => m.platform?.os !== 'unknown') ?? entries[0]
      const info: ManifestInfo = { digest, mediaType, children: entries.map(m => m.digest) }
      if (image) {
        const created = (await manifest(image.digest)).created
        if (created) info.created = created
      }
      return info
    }
    const info: ManifestInfo = { digest, mediaType }
    const config = doc.config
    if (config?.digest && (!config.mediaType || CONFIG_TYPES.includes(config.mediaType))) {
      const created = await createdOf(config.digest)
      if (created) info.created = created
    }
    return info
  }

  function createdOf(digest: string): Promise<Date | undefined> {
    let p = configs.get(digest)
    if (!p) {
      p = (async () => {
        const res = await request('GET', `${base}/v2/${name}/blobs/${digest}`)
        if (!res.ok) await fail(res, `reading image config ${opts.image}@${digest}`)
        const created = ((await res.json()) as { created?: string }).created
        const date = created ? new Date(created) : undefined
        return date && !Number.isNaN(date.getTime()) ? date : undefined
      })()
      configs.set(digest, p)
    }
    return p
  }

  async function listImages(): Promise<RegistryImage[]> {
    const tags = (await listTags()).sort()
    const infos = await mapLimit(tags, concurrency, t => manifest(t))
    const byDigest = new Map<string, RegistryImage>()
    tags.forEach((tag, i) => {
      const info = infos[i]
      const img = byDigest.get(info.digest) ?? { ...info, tags: [] }
      img.tags.push(tag)
      byDigest.set(info.digest, img)
    })
    return [...byDigest.values()]
  }

  async function deleteManifest(digest: string): Promise<void> {
    const res = await request('DELETE', `${base}/v2/${name}/manifests/${digest}`)
    if (res.status === 404) {
      await res.arrayBuffer() // already gone: what we wanted
      return
    }
    if (!res.ok) await fail(res, `deleting ${opts.image}@${digest}`)
    await res.arrayBuffer()
  }

  return { listTags, manifest, listImages, deleteManifest }
}

const sleep = (ms: number): Promise<void> => new Promise(r => setTimeout(r, ms))

/** Promise.all over `items`, at most `limit` at a time; rejects on the first failure. */
export async function mapLimit<T, R>(items: T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length)
  let next = 0
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const i = next++
      out[i] = await fn(items[i])
    }
  }
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker))
  return out
}

// Tools for tests against the real registry (scripts/stack.sh): push tiny images straight over the
// distribution API (no build needed), and a proxy in front of the registry that behaves like
// registries that distribution 2.8 is not: paginated tag lists (Link headers, as the OCI
// distribution spec and GHCR do), a Bearer token service, and faults on chosen requests.
import { createHash, randomBytes } from 'node:crypto'
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'

export interface Credentials {
  username: string
  password: string
}

const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json'
const OCI_INDEX = 'application/vnd.oci.image.index.v1+json'
const basic = (c: Credentials): string =>
  `Basic ${Buffer.from(`${c.username}:${c.password}`).toString('base64')}`
const sha256 = (b: Buffer): string => `sha256:${createHash('sha256').update(b).digest('hex')}`

async function put(url: string, body: Buffer, contentType: string, auth?: Credentials): Promise<void> {
  const headers: Record<string, string> = { 'content-type': contentType }
  if (auth) headers.authorization = basic(auth)
  const res = await fetch(url, { method: 'PUT', headers, body })
  if (res.status !== 201) throw new Error(`PUT ${url}: HTTP ${res.status} ${await res.text()}`)
}

async function pushBlob(registry: string, name: string, blob: Buffer, auth?: Credentials): Promise<string> {
  const digest = sha256(blob)
  const headers: Record<string, string> = auth ? { authorization: basic(auth) } : {}
  const res = await fetch(`${registry}/v2/${name}/blobs/uploads/`, { method: 'POST', headers })
  if (res.status !== 202)
    throw new Error(`starting an upload to ${name}: HTTP ${res.status} ${await res.text()}`)
  const location = new URL(res.headers.get('location') ?? '', registry)
  location.searchParams.set('digest', digest)
  await put(location.toString(), blob, 'application/octet-stream', auth)
  return digest
}

export interface Pushed {
  digest: string
  size: number
}

/** Pushes a layer-less image whose config says `created` (and `id`, so that images differ), under `tags`. */
export async function pushTestImage(
  registry: string,
  name: string,
  opts: { created: Date; id: string; tags: string[]; auth?: Credentials }
): Promise<Pushed> {
  const config = Buffer.from(
    JSON.stringify({
      architecture: 'amd64',
      os: 'linux',
      created: opts.created.toISOString(),
      config: { Labels: { 'strata.test.id': opts.id } },
      rootfs: { type: 'layers', diff_ids: [] }
    })
  )
  const configDigest = await pushBlob(registry, name, config, opts.auth)
  const manifest = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: OCI_MANIFEST,
      config: {
        mediaType: 'application/vnd.oci.image.config.v1+json',
        digest: configDigest,
        size: config.length
      },
      layers: []
    })
  )
  const digest = sha256(manifest)
  for (const ref of opts.tags.length > 0 ? opts.tags : [digest]) {
    await put(`${registry}/v2/${name}/manifests/${ref}`, manifest, OCI_MANIFEST, opts.auth)
  }
  return { digest, size: manifest.length }
}

/** Pushes an OCI index over `children` (manifests already in the repository), under `tags`. */
export async function pushTestIndex(
  registry: string,
  name: string,
  children: Pushed[],
  tags: string[]
): Promise<Pushed> {
  const index = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: OCI_INDEX,
      manifests: children.map((c, i) => ({
        mediaType: OCI_MANIFEST,
        digest: c.digest,
        size: c.size,
        platform: { architecture: i === 0 ? 'amd64' : 'arm64', os: 'linux' }
      }))
    })
  )
  const digest = sha256(index)
  for (const ref of tags.length > 0 ? tags : [digest]) {
    await put(`${registry}/v2/${name}/manifests/${ref}`, index, OCI_INDEX)
  }
  return { digest, size: index.length }
}

/** Every tag of `name` straight from the registry (distribution 2.8 lists them all at once). */
export async function registryTags(registry: string, name: string, auth?: Credentials): Promise<string[]> {
  const res = await fetch(`${registry}/v2/${name}/tags/list`, {
    headers: auth ? { authorization: basic(auth) } : {}
  })
  if (res.status === 404) return []
  const body = (await res.json()) as { tags: string[] | null }
  return (body.tags ?? []).sort()
}

export interface ProxyRequest {
  method: string
  path: string
  /** For tag lists: which page (1-based). */
  page?: number
}

export interface RegistryProxyOptions {
  /** The real registry: `http://127.0.0.1:5000`. */
  upstream: string
  upstreamAuth?: Credentials
  /** Ask clients for a Bearer token from the proxy's `/token`, which it issues for these credentials. */
  bearer?: Credentials
  /** Serve tag lists in pages of at most this many, with `Link: <…>; rel="next"`. */
  pageSize?: number
  /** Break a request: answer HTTP 500, or cut the body off mid-JSON. */
  fault?: (req: ProxyRequest) => 'error' | 'truncated' | undefined
}

export interface RegistryProxy {
  url: string
  /** `127.0.0.1:<port>`, for image names and Docker config `auths`. */
  host: string
  requests: ProxyRequest[]
  close(): Promise<void>
}

export async function startRegistryProxy(opts: RegistryProxyOptions): Promise<RegistryProxy> {
  const requests: ProxyRequest[] = []
  const tokens = new Map<string, Set<string>>()
  let origin = ''

  const upstream = (path: string, method: string, accept?: string): Promise<Response> => {
    const headers: Record<string, string> = {}
    if (accept) headers.accept = accept
    if (opts.upstreamAuth) headers.authorization = basic(opts.upstreamAuth)
    return fetch(`${opts.upstream}${path}`, { method, headers })
  }

  function issueToken(req: IncomingMessage, res: ServerResponse, url: URL): void {
    if (!opts.bearer || req.headers.authorization !== basic(opts.bearer)) {
      res.writeHead(401, { 'content-type': 'application/json' }).end('{"details":"bad credentials"}')
      return
    }
    const token = randomBytes(12).toString('hex')
    tokens.set(token, new Set(url.searchParams.getAll('scope')))
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ token, expires_in: 300 }))
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', origin)
    if (url.pathname === '/token') return issueToken(req, res, url)
    const method = req.method ?? 'GET'
    const m = /^\/v2\/(.+?)\/(tags\/list|manifests\/[^/]+|blobs\/[^/]+)$/.exec(url.pathname)
    if (opts.bearer && m) {
      const scope = `repository:${m[1]}:${method === 'DELETE' ? 'delete' : 'pull'}`
      const auth = req.headers.authorization ?? ''
      const granted = tokens.get(auth.replace(/^Bearer /, ''))
      if (!auth.startsWith('Bearer ') || !granted?.has(scope)) {
        requests.push({ method, path: url.pathname + url.search })
        res
          .writeHead(401, {
            'content-type': 'application/json',
            'www-authenticate': `Bearer realm="${origin}/token",service="strata-test",scope="${scope}"`
          })
          .end('{"errors":[{"code":"UNAUTHORIZED"}]}')
        return
      }
    }
    if (m && m[2] === 'tags/list' && method === 'GET') return tagPage(m[1], url, res)
    const entry: ProxyRequest = { method, path: url.pathname + url.search }
    requests.push(entry)
    if (opts.fault?.(entry) === 'error') {
      res.writeHead(500, { 'content-type': 'application/json' }).end('{"errors":[{"code":"UNKNOWN"}]}')
      return
    }
    const up = await upstream(url.pathname + url.search, method, req.headers.accept)
    const headers: Record<string, string> = {}
    for (const h of ['content-type', 'docker-content-digest', 'www-authenticate', 'link']) {
      const v = up.headers.get(h)
      if (v) headers[h] = v
    }
    res.writeHead(up.status, headers).end(Buffer.from(await up.arrayBuffer()))
  }

  async function tagPage(name: string, url: URL, res: ServerResponse): Promise<void> {
    const last = url.searchParams.get('last')
    const n = Math.min(Number(url.searchParams.get('n') ?? Infinity), opts.pageSize ?? Infinity)
    const up = await upstream(`/v2/${name}/tags/list`, 'GET', 'application/json')
    if (!up.ok) {
      res
        .writeHead(up.status, { 'content-type': 'application/json' })
        .end(Buffer.from(await up.arrayBuffer()))
      return
    }
    const all = (((await up.json()) as { tags: string[] | null }).tags ?? []).sort()
    const from = last ? all.findIndex(t => t > last) : 0
    const rest = from < 0 ? [] : all.slice(from)
    const page = rest.slice(0, n)
    const entry: ProxyRequest = {
      method: 'GET',
      path: url.pathname + url.search,
      page: Math.floor((all.length - rest.length) / (Number.isFinite(n) ? n : 1)) + 1
    }
    requests.push(entry)
    const fault = opts.fault?.(entry)
    if (fault === 'error') {
      res.writeHead(500, { 'content-type': 'application/json' }).end('{"errors":[{"code":"UNKNOWN"}]}')
      return
    }
    const headers: Record<string, string> = { 'content-type': 'application/json' }
    if (rest.length > page.length) {
      headers.link = `</v2/${name}/tags/list?n=${n}&last=${encodeURIComponent(page[page.length - 1])}>; rel="next"`
    }
    const body = JSON.stringify({ name, tags: page })
    res.writeHead(200, headers).end(fault === 'truncated' ? body.slice(0, body.length / 2) : body)
  }

  const server = createServer((req, res) => {
    handle(req, res).catch((e: Error) => {
      if (!res.headersSent) res.writeHead(502, { 'content-type': 'text/plain' })
      res.end(`proxy: ${e.message}`)
    })
  })
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  origin = `http://127.0.0.1:${port}`
  return {
    url: origin,
    host: `127.0.0.1:${port}`,
    requests,
    close: () =>
      new Promise<void>(resolve => {
        server.closeAllConnections()
        server.close(() => resolve())
      })
  }
}

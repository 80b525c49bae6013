// Tools for tests against the real registry (scripts/stack.sh): push tiny images straight over the
// distribution API (no build needed), and a proxy in front of the registry that behaves like
// registries that distribution 2.8 is not: paginated tag lists (Link headers, as the OCI
// distribution spec and GHCR do), a Bearer token service, and faults on chosen requests.
import { createHash, randomBytes } from 'node:crypto'
import { createServer, request, type IncomingMessage, type ServerResponse } from 'node:http'
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
  /** The Host header the request came with. */
  host?: string
  /** The Authorization header it carried (for the hostile-host tests), or undefined. */
  authorization?: string
}

export interface RegistryProxyOptions {
  /** The real registry: `http://127.0.0.1:5000`. */
  upstream: string
  upstreamAuth?: Credentials
  /** Ask clients for a Bearer token from the proxy's `/token`, which it issues for these credentials. */
  bearer?: Credentials
  /**
   * Answer as Docker Hub does: the token service also issues anonymous tokens, which grant `pull`
   * only on repositories that exist; any request its token does not cover gets 401 UNAUTHORIZED.
   */
  hub?: boolean
  /** Bearer: the token service also takes this refresh token (OAuth2 POST), as an identity token. */
  identityToken?: string
  /** Ask clients for these credentials with a Basic challenge. */
  basic?: Credentials
  /** Bearer: put the token service on the other host (`elsewhere`, which issues tokens to anyone). */
  realmOn?: 'elsewhere' | 'alias'
  /** Serve tag lists in pages of at most this many, with `Link: <…>; rel="next"`. */
  pageSize?: number
  /** Where the Link of the next tag page points: this host (relative, default), or another host. */
  linkTo?: 'elsewhere' | 'alias' | 'elsewhere-protocol-relative'
  /** Answer an authorized request with a redirect to the same path on another host. */
  redirect?: (req: ProxyRequest) => { status: number; to: 'elsewhere' | 'alias' | 'self' } | undefined
  /** Break a request: answer HTTP 500, or cut the body off mid-JSON. */
  fault?: (req: ProxyRequest) => 'error' | 'truncated' | undefined
  /** Hold every registry request this long (ms), to see how many run at once. */
  delay?: number
}

export interface RegistryProxy {
  url: string
  /** `127.0.0.1:<port>`, for image names and Docker config `auths`. */
  host: string
  requests: ProxyRequest[]
  /**
   * Everything that reached "another host": the second server (`elsewhereUrl`) or this one under
   * another name (`aliasUrl`, `localhost:<port>`), with the Authorization header each carried.
   */
  elsewhere: ProxyRequest[]
  elsewhereUrl: string
  aliasUrl: string
  /** The most registry requests that were in flight at once. */
  maxInFlight(): number
  /** Forget every token issued, as if they had expired. */
  expireTokens(): void
  close(): Promise<void>
}

export async function startRegistryProxy(opts: RegistryProxyOptions): Promise<RegistryProxy> {
  const requests: ProxyRequest[] = []
  const elsewhere: ProxyRequest[] = []
  const tokens = new Map<string, Set<string>>()
  let origin = ''
  let elsewhereUrl = ''
  let aliasUrl = ''
  let inFlight = 0
  let maxInFlight = 0

  const upstream = (path: string, method: string, accept?: string): Promise<Response> => {
    const headers: Record<string, string> = {}
    if (accept) headers.accept = accept
    if (opts.upstreamAuth) headers.authorization = basic(opts.upstreamAuth)
    return fetch(`${opts.upstream}${path}`, { method, headers })
  }

  const originOf = (to: 'elsewhere' | 'alias' | 'self'): string =>
    to === 'elsewhere' ? elsewhereUrl : to === 'alias' ? aliasUrl : origin

  async function repositoryExists(name: string): Promise<boolean> {
    const res = await upstream(`/v2/${name}/tags/list`, 'GET', 'application/json')
    await res.arrayBuffer()
    return res.ok
  }

  async function issueToken(
    req: IncomingMessage,
    res: ServerResponse,
    url: URL,
    open: boolean
  ): Promise<void> {
    let asked = url.searchParams.getAll('scope').flatMap(s => s.split(' '))
    let known = opts.bearer !== undefined && req.headers.authorization === basic(opts.bearer)
    let oauth = false
    if (req.method === 'POST') {
      const chunks: Buffer[] = []
      for await (const c of req) chunks.push(c as Buffer)
      const form = new URLSearchParams(Buffer.concat(chunks).toString('utf8'))
      asked = (form.get('scope') ?? '').split(' ').filter(Boolean)
      oauth = true
      known =
        form.get('grant_type') === 'refresh_token' &&
        opts.identityToken !== undefined &&
        form.get('refresh_token') === opts.identityToken
    }
    if (!open && !known && !(opts.hub && req.headers.authorization === undefined)) {
      res.writeHead(401, { 'content-type': 'application/json' }).end('{"details":"bad credentials"}')
      return
    }
    const granted = new Set<string>()
    for (const scope of asked) {
      const m = /^repository:(.+):([a-z,]+)$/.exec(scope)
      if (open || known) granted.add(scope)
      else if (m && m[2] === 'pull' && (await repositoryExists(m[1]))) granted.add(scope)
    }
    const token = randomBytes(12).toString('hex')
    tokens.set(token, granted)
    const body = oauth ? { access_token: token, expires_in: 300 } : { token, expires_in: 300 }
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(body))
  }

  /** A request to "another host": served straight from upstream (or a token), nothing checked. */
  async function handleElsewhere(req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
    elsewhere.push({
      method: req.method ?? 'GET',
      path: url.pathname + url.search,
      host: req.headers.host,
      authorization: req.headers.authorization
    })
    if (url.pathname === '/token') return issueToken(req, res, url, true)
    const tags = /^\/v2\/(.+?)\/tags\/list$/.exec(url.pathname)
    if (tags) return tagPage(tags[1], url, res, false)
    if (req.method === 'PUT' || req.method === 'POST' || req.method === 'PATCH') return forward(req, res, url)
    return pass(req, res, url)
  }

  async function pass(req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
    const up = await upstream(url.pathname + url.search, req.method ?? 'GET', req.headers.accept)
    const headers: Record<string, string> = {}
    for (const h of ['content-type', 'content-length', 'docker-content-digest', 'www-authenticate', 'link']) {
      const v = up.headers.get(h)
      if (v) headers[h] = v
    }
    res.writeHead(up.status, headers).end(Buffer.from(await up.arrayBuffer()))
  }

  function challenge(res: ServerResponse, scope: string): void {
    const header = opts.basic
      ? 'Basic realm="strata-test"'
      : `Bearer realm="${opts.realmOn ? originOf(opts.realmOn) : origin}/token",service="strata-test",scope="${scope}"`
    const detail = opts.hub ? ',"message":"authentication required"' : ''
    res
      .writeHead(401, { 'content-type': 'application/json', 'www-authenticate': header })
      .end(`{"errors":[{"code":"UNAUTHORIZED"${detail}}]}`)
  }

  function authorized(req: IncomingMessage, scope: string): boolean {
    const auth = req.headers.authorization ?? ''
    if (opts.basic) return auth === basic(opts.basic)
    if (!opts.bearer && !opts.hub) return true
    return auth.startsWith('Bearer ') && tokens.get(auth.slice(7))?.has(scope) === true
  }

  async function handle(req: IncomingMessage, res: ServerResponse, port: string): Promise<void> {
    const url = new URL(req.url ?? '/', origin)
    if (port !== new URL(origin).port || req.headers.host !== new URL(origin).host) {
      return handleElsewhere(req, res, url)
    }
    if (url.pathname === '/token') return issueToken(req, res, url, false)
    const method = req.method ?? 'GET'
    const entry: ProxyRequest = {
      method,
      path: url.pathname + url.search,
      host: req.headers.host,
      authorization: req.headers.authorization
    }
    const m = /^\/v2\/(.+?)\/(tags\/list|manifests\/[^/]+|blobs\/.+)$/.exec(url.pathname)
    if (m) {
      const action =
        method === 'DELETE' ? 'delete' : method === 'GET' || method === 'HEAD' ? 'pull' : 'pull,push'
      const scope = `repository:${m[1]}:${action}`
      if (!authorized(req, scope)) {
        requests.push(entry)
        return challenge(res, scope)
      }
    }
    inFlight++
    maxInFlight = Math.max(maxInFlight, inFlight)
    try {
      if (opts.delay) await new Promise(r => setTimeout(r, opts.delay))
      const redirect = opts.redirect?.(entry)
      if (redirect) {
        requests.push(entry)
        res.writeHead(redirect.status, { location: `${originOf(redirect.to)}${entry.path}` }).end()
        return
      }
      if (m && m[2] === 'tags/list' && method === 'GET') return await tagPage(m[1], url, res, true, entry)
      requests.push(entry)
      if (opts.fault?.(entry) === 'error') {
        res.writeHead(500, { 'content-type': 'application/json' }).end('{"errors":[{"code":"UNKNOWN"}]}')
        return
      }
      if (method === 'PUT' || method === 'POST' || method === 'PATCH') return await forward(req, res, url)
      return await pass(req, res, url)
    } finally {
      inFlight--
    }
  }

  /** A write, body and content type as sent. */
  async function forward(req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
    const chunks: Buffer[] = []
    for await (const c of req) chunks.push(c as Buffer)
    const headers: Record<string, string> = {}
    if (req.headers['content-type']) headers['content-type'] = req.headers['content-type']
    if (opts.upstreamAuth) headers.authorization = basic(opts.upstreamAuth)
    const up = await fetch(`${opts.upstream}${url.pathname}${url.search}`, {
      method: req.method,
      headers,
      body: Buffer.concat(chunks)
    })
    const out: Record<string, string> = {}
    for (const h of ['content-type', 'docker-content-digest', 'location']) {
      const v = up.headers.get(h)
      if (v) out[h] = v
    }
    res.writeHead(up.status, out).end(Buffer.from(await up.arrayBuffer()))
  }

  async function tagPage(
    name: string,
    url: URL,
    res: ServerResponse,
    main: boolean,
    seen?: ProxyRequest
  ): Promise<void> {
    const last = url.searchParams.get('last')
    const n = Math.min(Number(url.searchParams.get('n') ?? Infinity), opts.pageSize ?? Infinity)
    const up = await upstream(`/v2/${name}/tags/list`, 'GET', 'application/json')
    if (!up.ok) {
      if (main && seen) requests.push(seen)
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
      ...seen,
      method: 'GET',
      path: url.pathname + url.search,
      page: Math.floor((all.length - rest.length) / (Number.isFinite(n) ? n : 1)) + 1
    }
    if (main) requests.push(entry)
    const fault = main ? opts.fault?.(entry) : undefined
    if (fault === 'error') {
      res.writeHead(500, { 'content-type': 'application/json' }).end('{"errors":[{"code":"UNKNOWN"}]}')
      return
    }
    const headers: Record<string, string> = { 'content-type': 'application/json' }
    if (rest.length > page.length) {
      const next = `/v2/${name}/tags/list?n=${n}&last=${encodeURIComponent(page[page.length - 1])}`
      const to = opts.linkTo
      const prefix =
        to === 'elsewhere-protocol-relative' ? `//${new URL(elsewhereUrl).host}` : to ? originOf(to) : ''
      headers.link = `<${prefix}${next}>; rel="next"`
    }
    const body = JSON.stringify({ name, tags: page })
    res.writeHead(200, headers).end(fault === 'truncated' ? body.slice(0, body.length / 2) : body)
  }

  const serve = (port: () => string) =>
    createServer((req, res) => {
      handle(req, res, port()).catch((e: Error) => {
        if (!res.headersSent) res.writeHead(502, { 'content-type': 'text/plain' })
        res.end(`proxy: ${e.message}`)
      })
    })
  let mainPort = ''
  let otherPort = ''
  const server = serve(() => mainPort)
  const other = serve(() => otherPort)
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
  await new Promise<void>(resolve => other.listen(0, '127.0.0.1', resolve))
  mainPort = String((server.address() as AddressInfo).port)
  otherPort = String((other.address() as AddressInfo).port)
  origin = `http://127.0.0.1:${mainPort}`
  elsewhereUrl = `http://127.0.0.1:${otherPort}`
  aliasUrl = `http://localhost:${mainPort}`
  const close = (s: typeof server) =>
    new Promise<void>(resolve => {
      s.closeAllConnections()
      s.close(() => resolve())
    })
  return {
    url: origin,
    host: `127.0.0.1:${mainPort}`,
    requests,
    elsewhere,
    elsewhereUrl,
    aliasUrl,
    maxInFlight: () => maxInFlight,
    expireTokens: () => tokens.clear(),
    close: async () => {
      await Promise.all([close(server), close(other)])
    }
  }
}

export interface PassThroughProxy {
  /** `127.0.0.1:<port>`, for image names. */
  host: string
  close(): Promise<void>
}

/**
 * A plain proxy on loopback in front of the registry at 127.0.0.1:`port`: every request is forwarded
 * byte for byte as it came (Host kept, so upload Locations point back here), unless `answer` answers
 * it itself (and returns true). For builders and engines, which the semantic proxy above does not serve.
 */
export function startPassThroughProxy(
  port: number,
  answer: (req: IncomingMessage, res: ServerResponse) => boolean
): Promise<PassThroughProxy> {
  const server = createServer((req, res) => {
    if (answer(req, res)) return
    const up = request(
      { host: '127.0.0.1', port, method: req.method, path: req.url, headers: req.headers },
      reply => {
        res.writeHead(reply.statusCode ?? 502, reply.headers)
        reply.pipe(res)
      }
    )
    up.on('error', e => res.writeHead(502).end(e.message))
    req.pipe(up)
  })
  return new Promise(done =>
    server.listen(0, '127.0.0.1', () =>
      done({
        host: `127.0.0.1:${(server.address() as AddressInfo).port}`,
        close: () => new Promise<void>(closed => server.close(() => closed()))
      })
    )
  )
}

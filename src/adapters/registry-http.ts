// One registry host over the OCI distribution API: answers Basic and Bearer challenges with the
// Docker config's credentials (tokens cached per scope), retries reads, follows redirects by hand.
// A credential only ever goes to the registry's own origin (SPEC 10): a redirect, a `Link` page
// or a token realm on another host gets no `Authorization`.
import type { Limiter } from '../core/limit.js'
import { dockerAuth, dockerConfigDir, type Credentials, type DockerAuth } from './docker-auth.js'
import { credentialsMayGo, defaultRegistryUrl } from './registry-origin.js'

export { credentialsMayGo, defaultRegistryUrl }

export interface RegistryClientOptions {
  /** Registry host as in an image name: `ghcr.io`, `localhost:5000`, `docker.io`. */
  host: string
  /** Base URL; default `http://` for localhost and 127.0.0.1, `https://registry-1.docker.io` for Docker Hub, else `https://<host>`. */
  url?: string
  /** Directory of config.json (default `$DOCKER_CONFIG`, else `~/.docker`). */
  dockerConfig?: string
  /** Added to process.env for `DOCKER_CONFIG` and credential helpers. */
  env?: Record<string, string | undefined>
  /** Used when the Docker config has nothing for the host (GHCR cleanup: the GitHub token). */
  credentials?: Credentials
  /** Every request runs through it (retries and redirects inside one slot). */
  limit?: Limiter
  /** Each request sent, `METHOD URL` (never a credential). */
  log?: string[]
  /** A request whose answer has not begun after this long fails as unanswered (default 30 s). */
  answerTimeoutMs?: number
}

export interface RequestOptions {
  accept?: string
  body?: Buffer
  contentType?: string
}

export interface Reply {
  status: number
  ok: boolean
  headers: Headers
  body: Buffer
  /** The final URL, after redirects. */
  url: string
  /** This answer is to a request that carried a bearer token just issued: anonymous or for credentials. */
  afterToken?: 'anonymous' | 'credentials'
}

export interface RegistryClient {
  readonly host: string
  readonly base: string
  /** `path` is `/v2/…` under the base, or an absolute URL (a `Link`). Throws on network failure or a refused login. */
  request(method: string, path: string, opts?: RequestOptions): Promise<Reply>
}

/** A login the registry or its token service refused, or credentials that are missing. */
export class RegistryAuthError extends Error {
  constructor(
    message: string,
    readonly status: number
  ) {
    super(message)
    this.name = 'RegistryAuthError'
  }
}

/** A registry answer that is an error (not a missing tag): its HTTP status, for the fix to offer. */
export class RegistryReplyError extends Error {
  constructor(
    message: string,
    readonly status: number
  ) {
    super(message)
    this.name = 'RegistryReplyError'
  }
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

const REDIRECTS = new Set([301, 302, 303, 307, 308])
const RETRIED = new Set(['GET', 'HEAD', 'PUT'])
const sleep = (ms: number): Promise<void> => new Promise(r => setTimeout(r, ms))

/** The scope a request needs: `repository:<name>:pull` (reads), `pull,push` (writes), `delete`. */
function scopeOf(method: string, url: URL): string | undefined {
  const m = /^\/v2\/(.+?)\/(?:tags\/list|manifests\/[^/]+|blobs\/.+)$/.exec(url.pathname)
  if (!m) return undefined
  const action = method === 'DELETE' ? 'delete' : method === 'GET' || method === 'HEAD' ? 'pull' : 'pull,push'
  return `repository:${m[1]}:${action}`
}

/** One host's state: its options, the Basic header once known, bearer tokens by scope, the login read once. */
interface Session {
  opts: RegistryClientOptions
  host: string
  base: string
  limit: Limiter
  basic?: string
  /** Bearer tokens by `realm service scope`, and which token key a request scope last used. */
  tokens: Map<string, Promise<string>>
  tokenFor: Map<string, { header: string; key: string }>
  auth?: Promise<DockerAuth | undefined>
}

export function createRegistryClient(opts: RegistryClientOptions): RegistryClient {
  const s: Session = {
    opts,
    host: opts.host,
    base: (opts.url ?? defaultRegistryUrl(opts.host)).replace(/\/+$/, ''),
    limit: opts.limit ?? (task => task()),
    tokens: new Map(),
    tokenFor: new Map()
  }
  return { host: s.host, base: s.base, request: (method, path, o) => request(s, method, path, o) }
}

function credentials(s: Session): Promise<DockerAuth | undefined> {
  return (s.auth ??= dockerAuth(s.host, { dir: s.opts.dockerConfig, env: s.opts.env }).then(
    a => a ?? s.opts.credentials
  ))
}

function noCredentials(s: Session, status: number): RegistryAuthError {
  const dir = dockerConfigDir({ dir: s.opts.dockerConfig, env: s.opts.env })
  return new RegistryAuthError(
    `${s.host} asks for credentials (HTTP ${status}) and the Docker config (${dir}/config.json) has none for it: log in first (docker/login-action)`,
    status
  )
}

async function send(
  s: Session,
  method: string,
  url: URL,
  o: RequestOptions,
  authorization?: string
): Promise<Response> {
  const headers: Record<string, string> = {}
  if (o.accept) headers.accept = o.accept
  if (o.contentType) headers['content-type'] = o.contentType
  if (authorization) headers.authorization = authorization
  s.opts.log?.push(`${method} ${url.toString()}`)
  // A host that accepts the connection and never answers must not hold the run up (SPEC 8).
  const seconds = (s.opts.answerTimeoutMs ?? 30_000) / 1000
  const silent = new AbortController()
  const timer = setTimeout(() => silent.abort(new Error(`no answer in ${seconds} s`)), seconds * 1000)
  try {
    return await fetch(url, { method, headers, body: o.body, redirect: 'manual', signal: silent.signal })
  } catch (e) {
    throw new NetworkError(method, url, e)
  } finally {
    clearTimeout(timer)
  }
}

/** One hop of a request, with the authorization its origin may carry; follows redirects by hand. */
async function exchange(
  s: Session,
  method: string,
  start: URL,
  o: RequestOptions,
  bearer?: string
): Promise<Response> {
  let url = start
  let verb = method
  let body = o
  for (let hop = 0; ; hop++) {
    const own = credentialsMayGo(s.base, url.toString(), 'request')
    const res = await send(s, verb, url, body, own ? (bearer ?? s.basic) : undefined)
    const location = res.headers.get('location')
    if (!REDIRECTS.has(res.status) || !location) return res
    await res.arrayBuffer()
    if (hop >= 5) throw new Error(`${method} ${start}: more than 5 redirects`)
    url = new URL(location, url)
    if (url.protocol !== 'http:' && url.protocol !== 'https:') {
      throw new Error(`${method} ${start}: redirected to ${url.protocol} (not HTTP)`)
    }
    if (res.status === 303 || ((res.status === 301 || res.status === 302) && verb === 'POST')) {
      verb = verb === 'HEAD' ? 'HEAD' : 'GET'
      body = { accept: o.accept }
    }
  }
}

async function token(
  s: Session,
  ch: Challenge,
  scope: string | undefined
): Promise<{ value: string; key: string; who: 'anonymous' | 'credentials' }> {
  const realm = ch.params.realm
  let url: URL
  try {
    url = new URL(realm)
  } catch {
    throw new Error(`${s.host} names a token realm that is not a URL: ${JSON.stringify(realm)}`)
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new Error(`${s.host} names a token realm that is not HTTP: ${JSON.stringify(realm)}`)
  }
  const c = credentialsMayGo(s.base, url.toString(), 'realm') ? await credentials(s) : undefined
  const key = `${url} ${ch.params.service ?? ''} ${scope ?? ''} ${c ? 'c' : 'a'}`
  let p = s.tokens.get(key)
  if (!p) {
    p = fetchToken(s, url, ch.params.service, scope, c)
    s.tokens.set(key, p)
    p.catch(() => s.tokens.delete(key))
  }
  return { value: await p, key, who: c ? 'credentials' : 'anonymous' }
}

/** Asks the token service: an identity token by OAuth2's refresh grant, else GET with Basic (or none). */
async function tokenReply(
  s: Session,
  url: URL,
  service: string | undefined,
  scope: string | undefined,
  c?: DockerAuth
): Promise<Response> {
  if (c && 'identityToken' in c) {
    // OAuth2 refresh-token grant (distribution's token spec), as docker does with an identity token.
    const form = new URLSearchParams({
      grant_type: 'refresh_token',
      refresh_token: c.identityToken,
      client_id: 'strata'
    })
    if (service) form.set('service', service)
    if (scope) form.set('scope', scope)
    s.opts.log?.push(`POST ${url}`)
    return fetch(url, { method: 'POST', body: form, redirect: 'error' }).catch((e: unknown) => {
      throw new NetworkError('POST', url, e)
    })
  }
  if (service) url.searchParams.set('service', service)
  if (scope) for (const one of scope.split(' ')) url.searchParams.append('scope', one)
  const headers: Record<string, string> = {}
  if (c) headers.authorization = `Basic ${Buffer.from(`${c.username}:${c.password}`).toString('base64')}`
  s.opts.log?.push(`GET ${url}`)
  return fetch(url, { headers, redirect: 'error' }).catch((e: unknown) => {
    throw new NetworkError('GET', url, e)
  })
}

async function fetchToken(
  s: Session,
  realm: URL,
  service: string | undefined,
  scope: string | undefined,
  c?: DockerAuth
): Promise<string> {
  const url = new URL(realm)
  const res = await tokenReply(s, url, service, scope, c)
  if (!res.ok) {
    await res.arrayBuffer()
    const who = c
      ? 'username' in c && c.username
        ? `user ${c.username}`
        : 'the identity token'
      : 'an anonymous request'
    throw new RegistryAuthError(
      `${s.host}: the token service ${url.origin}${url.pathname} refused ${who} (HTTP ${res.status})` +
        (c ? '' : `; ${noCredentials(s, res.status).message}`),
      res.status
    )
  }
  const body = (await res.json()) as { token?: unknown; access_token?: unknown }
  const value = typeof body.token === 'string' ? body.token : body.access_token
  if (typeof value !== 'string' || !value)
    throw new Error(`${s.host}: the token service answered without a token`)
  return value
}

/** Answers a 401 challenge: returns the authorization to retry with, or throws when there is none. */
async function answer(
  s: Session,
  res: Response,
  want: string | undefined
): Promise<{ bearer?: string; who?: 'anonymous' | 'credentials' }> {
  const header = res.headers.get('www-authenticate')
  if (!header) throw new RegistryAuthError(`${s.host} answered 401 without a WWW-Authenticate challenge`, 401)
  const ch = parseChallenge(header)
  if (ch.scheme === 'basic') {
    const c = await credentials(s)
    if (!c || !('password' in c)) throw noCredentials(s, 401)
    s.basic = `Basic ${Buffer.from(`${c.username}:${c.password}`).toString('base64')}`
    return {}
  }
  if (ch.scheme !== 'bearer' || !ch.params.realm) {
    throw new Error(`${s.host} asks for an authentication scheme Strata does not speak: ${ch.scheme}`)
  }
  const scope = ch.params.scope ?? want
  const t = await token(s, ch, scope)
  if (want) s.tokenFor.set(want, { header: `Bearer ${t.value}`, key: t.key })
  return { bearer: `Bearer ${t.value}`, who: t.who }
}

async function once(s: Session, method: string, url: URL, o: RequestOptions): Promise<Reply> {
  const want = scopeOf(method, url)
  const cached = want ? s.tokenFor.get(want) : undefined
  let res = await exchange(s, method, url, o, cached?.header)
  let afterToken: Reply['afterToken']
  if (res.status === 401 && credentialsMayGo(s.base, res.url || url.toString(), 'request')) {
    await res.arrayBuffer()
    // A token that no longer works (expired) is dropped, so that the challenge gets a new one.
    if (cached) s.tokens.delete(cached.key)
    if (want) s.tokenFor.delete(want)
    const a = await answer(s, res, want)
    afterToken = a.who
    res = await exchange(s, method, url, o, a.bearer)
  }
  const body = Buffer.from(await res.arrayBuffer())
  return {
    status: res.status,
    ok: res.ok,
    headers: res.headers,
    body,
    url: res.url || url.toString(),
    afterToken
  }
}

async function request(s: Session, method: string, path: string, o: RequestOptions = {}): Promise<Reply> {
  const url = new URL(path, `${s.base}/`)
  return s.limit(async () => {
    for (let attempt = 0; ; attempt++) {
      const retry = RETRIED.has(method) && attempt < 2
      let reply: Reply
      try {
        reply = await once(s, method, url, o)
      } catch (e) {
        // Only a connection that failed is worth another try; a refusal or a bad config is not.
        if (!(e instanceof NetworkError) || !retry) throw e
        await sleep(250 * 4 ** attempt)
        continue
      }
      if (retry && (reply.status === 429 || reply.status >= 500)) {
        await sleep(250 * 4 ** attempt)
        continue
      }
      return reply
    }
  })
}

/** The request never got an answer (connection refused, reset, DNS, no answer in time). */
export class NetworkError extends Error {
  constructor(method: string, url: URL, e: unknown) {
    const err = e as Error & { cause?: { code?: string; message?: string } }
    const cause =
      err.cause?.code === 'ECONNREFUSED' ? 'connection refused (ECONNREFUSED)' : err.cause?.message
    super(`${method} ${url}: ${err.message}${cause ? `: ${cause}` : ''}`)
    this.name = 'NetworkError'
  }
}

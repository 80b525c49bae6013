// Local servers that answer like the services behind GitHub's build provenance (SPEC 4b), on one
// 127.0.0.1 port: the runner's OIDC token endpoint (ACTIONS_ID_TOKEN_REQUEST_URL) and its issuer's
// discovery and keys, Fulcio (a test CA from @sigstore/mock issuing certificates with GitHub's
// extensions: issuer, build signer URI, source repository, ref, commit, run), Rekor (@sigstore/mock's
// log, after the canonical dsse entry real Rekor stores) and the repository attestations API. A
// trusted_root.json for the CA and the log is written for the verifier. `as` says who signs next.
import { createHash, generateKeyPairSync, sign, verify, type KeyObject } from 'node:crypto'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { createServer, type IncomingMessage, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fulcioHandler, initializeCA, initializeTLog, rekorHandler } from '@sigstore/mock'

export const GITHUB_ISSUER = 'https://token.actions.githubusercontent.com'

/** The OIDC claims of a signing job (GitHub's names). */
export interface JobIdentity {
  repository: string
  /** `owner/repo/.github/workflows/file.yml@ref` of the job's workflow (the reusable one when called). */
  job_workflow_ref: string
  ref: string
  sha: string
  event_name?: string
  run_id?: string
}

export interface SigstoreServers {
  url: string
  /** Path of the trusted_root.json that trusts this CA and log. */
  trustedRoot: string
  /** The environment a signing step needs (the runner's token endpoint, the endpoints Strata signs with). */
  env: Record<string, string>
  /** Who signs from now on. */
  as(identity: JobIdentity): void
  /** Certificates from now on: from a CA the trust root does not know, or already expired. */
  certificates(kind: 'trusted' | 'untrusted-ca' | 'expired'): Promise<void>
  /** Every request, `METHOD path`. */
  requests: string[]
  close(): Promise<void>
}

const keys = (): { publicKey: KeyObject; privateKey: KeyObject } =>
  generateKeyPairSync('ec', { namedCurve: 'P-256' })
const b64url = (o: object): string => Buffer.from(JSON.stringify(o)).toString('base64url')

export async function startSigstoreServers(): Promise<SigstoreServers> {
  const caKeys = keys()
  const logKeys = keys()
  const oidc = generateKeyPairSync('rsa', { modulusLength: 2048 })
  const requests: string[] = []
  const stored = new Map<string, object[]>()
  let identity: JobIdentity | undefined
  let fulcio = fulcioHandler(await initializeCA(caKeys))
  const trustedCa = fulcio
  let url = ''

  const issuer = (): string => `${url}/oidc`
  function token(audience: string): string {
    if (!identity) throw new Error('no signing identity: call as() first')
    const now = Math.floor(Date.now() / 1000)
    const [owner] = identity.repository.split('/')
    const claims = {
      iss: issuer(),
      aud: audience,
      sub: `repo:${identity.repository}:ref:${identity.ref}`,
      iat: now,
      exp: now + 300,
      repository_owner: owner,
      repository_id: '1',
      repository_owner_id: '1',
      runner_environment: 'github-hosted',
      event_name: 'push',
      run_id: '1',
      run_attempt: '1',
      workflow_ref: identity.job_workflow_ref,
      ...identity
    }
    const head = b64url({ alg: 'RS256', kid: 'test', typ: 'JWT' })
    const body = b64url(claims)
    const sig = sign('sha256', Buffer.from(`${head}.${body}`), oidc.privateKey).toString('base64url')
    return `${head}.${body}.${sig}`
  }

  /** Fulcio checks the token against its issuer's keys; this one certifies the local issuer as GitHub Actions'. */
  function asFulcioSees(body: string): string {
    const req = JSON.parse(body) as { credentials: { oidcIdentityToken: string } }
    const [head, payload, sig] = req.credentials.oidcIdentityToken.split('.')
    if (!verify('sha256', Buffer.from(`${head}.${payload}`), oidc.publicKey, Buffer.from(sig, 'base64url')))
      throw new Error('invalid OIDC token')
    const claims = JSON.parse(Buffer.from(payload, 'base64url').toString()) as Record<string, unknown>
    if (claims.iss !== issuer()) throw new Error(`unknown issuer ${String(claims.iss)}`)
    req.credentials.oidcIdentityToken = `${b64url({ alg: 'none' })}.${b64url({ ...claims, iss: GITHUB_ISSUER })}.`
    return JSON.stringify(req)
  }

  /** Real Rekor stores a dsse entry as hashes and signatures, not the envelope it was sent. */
  function canonicalDsse(body: string): string {
    const e = JSON.parse(body) as { spec: { proposedContent: { envelope: string; verifiers: string[] } } }
    const p = e.spec.proposedContent
    const env = JSON.parse(p.envelope) as { payload: string; signatures: { sig: string }[] }
    const hex = (b: Buffer | string): string => createHash('sha256').update(b).digest('hex')
    return JSON.stringify({
      apiVersion: '0.0.1',
      kind: 'dsse',
      spec: {
        envelopeHash: { algorithm: 'sha256', value: hex(p.envelope) },
        payloadHash: { algorithm: 'sha256', value: hex(Buffer.from(env.payload, 'base64')) },
        signatures: env.signatures.map((s, i) => ({ signature: s.sig, verifier: p.verifiers[i] }))
      }
    })
  }

  function attestationsApi(method: string, path: string, body: string): [number, object] | undefined {
    const m = /^\/api\/repos\/([^/]+\/[^/]+)\/attestations(?:\/(sha256:[0-9a-f]{64}))?$/.exec(path)
    if (!m) return undefined
    if (method === 'POST' && !m[2]) {
      const bundle = (JSON.parse(body) as { bundle: { dsseEnvelope: { payload: string } } }).bundle
      const statement = JSON.parse(Buffer.from(bundle.dsseEnvelope.payload, 'base64').toString()) as {
        subject: { digest: { sha256: string } }[]
      }
      for (const s of statement.subject) {
        const key = `${m[1]}@sha256:${s.digest.sha256}`
        stored.set(key, [...(stored.get(key) ?? []), bundle])
      }
      return [201, { id: stored.size }]
    }
    if (method === 'GET' && m[2]) {
      const list = stored.get(`${m[1]}@${m[2]}`)
      return list
        ? [200, { attestations: list.map(bundle => ({ bundle, repository_id: 1 })) }]
        : [404, { message: 'Not Found' }]
    }
    return [405, { message: 'method' }]
  }

  async function answer(req: IncomingMessage): Promise<[number, string, string]> {
    const chunks: Buffer[] = []
    for await (const c of req) chunks.push(c as Buffer)
    const body = Buffer.concat(chunks).toString()
    const u = new URL(req.url ?? '/', url)
    const json = (status: number, o: object): [number, string, string] => [
      status,
      JSON.stringify(o),
      'application/json'
    ]
    if (u.pathname === '/token') return json(200, { value: token(u.searchParams.get('audience') ?? '') })
    if (u.pathname === '/oidc/.well-known/openid-configuration')
      return json(200, { issuer: issuer(), jwks_uri: `${issuer()}/jwks` })
    if (u.pathname === '/oidc/jwks')
      return json(200, {
        keys: [{ ...oidc.publicKey.export({ format: 'jwk' }), kid: 'test', alg: 'RS256', use: 'sig' }]
      })
    const api = attestationsApi(req.method ?? 'GET', u.pathname, body)
    if (api) return json(...api)
    const h = [fulcio, rekor].find(x => x?.path === u.pathname)
    if (!h) return [404, 'not found', 'text/plain']
    try {
      const input = h === fulcio ? asFulcioSees(body) : canonicalDsse(body)
      const r = await h.fn(input)
      return [r.statusCode, Buffer.from(r.response as string).toString(), r.contentType ?? 'application/json']
    } catch (e) {
      return [400, (e as Error).message, 'text/plain']
    }
  }

  const server: Server = createServer((req, res) => {
    requests.push(`${req.method} ${req.url}`)
    answer(req).then(
      ([status, text, type]) => res.writeHead(status, { 'content-type': type }).end(text),
      (e: Error) => res.writeHead(500).end(e.message)
    )
  })
  await new Promise<void>(r => server.listen(0, '127.0.0.1', r))
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  const rekor = rekorHandler(await initializeTLog(url, logKeys))

  const dir = mkdtempSync(join(tmpdir(), 'strata-sigstore-'))
  const trustedRoot = join(dir, 'trusted_root.json')
  const der = (k: KeyObject): Buffer => k.export({ format: 'der', type: 'spki' })
  const ca = await initializeCA(caKeys)
  writeFileSync(
    trustedRoot,
    JSON.stringify({
      mediaType: 'application/vnd.dev.sigstore.trustedroot+json;version=0.1',
      tlogs: [
        {
          baseUrl: url,
          hashAlgorithm: 'SHA2_256',
          publicKey: {
            rawBytes: der(logKeys.publicKey).toString('base64'),
            keyDetails: 'PKIX_ECDSA_P256_SHA_256',
            validFor: { start: '2020-01-01T00:00:00Z' }
          },
          logId: { keyId: createHash('sha256').update(der(logKeys.publicKey)).digest('base64') }
        }
      ],
      certificateAuthorities: [
        {
          subject: { organization: 'sigstore.mock', commonName: 'sigstore' },
          uri: url,
          certChain: { certificates: [{ rawBytes: Buffer.from(ca.rootCertificate).toString('base64') }] },
          validFor: { start: '2020-01-01T00:00:00Z' }
        }
      ],
      ctlogs: [],
      timestampAuthorities: []
    })
  )

  return {
    url,
    trustedRoot,
    env: {
      ACTIONS_ID_TOKEN_REQUEST_URL: `${url}/token?run=1`,
      ACTIONS_ID_TOKEN_REQUEST_TOKEN: 'runner-token',
      STRATA_FULCIO_URL: url,
      STRATA_REKOR_URL: url,
      STRATA_OIDC_ISSUER: `${url}/oidc`,
      STRATA_TRUSTED_ROOT: trustedRoot,
      GITHUB_API_URL: `${url}/api`
    },
    as(id) {
      identity = id
    },
    async certificates(kind) {
      if (kind === 'trusted') fulcio = trustedCa
      else if (kind === 'untrusted-ca') fulcio = fulcioHandler(await initializeCA(keys()))
      // A CA whose clock is an hour behind: its certificates (10 minutes) have expired when logged.
      else fulcio = fulcioHandler(await initializeCA(caKeys, undefined, new Date(Date.now() - 3_600_000)))
    },
    requests,
    close: () => new Promise(r => server.close(() => r()))
  }
}

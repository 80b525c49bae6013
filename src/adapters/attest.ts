// Signed build provenance for the images a step pushed (SPEC 4b): one SLSA v1 statement (the
// predicate from @actions/attest, made from the run's OIDC token) whose subjects are every pushed
// digest, signed by Sigstore's own client (a Fulcio certificate for the job's OIDC identity, witnessed
// by Rekor or a timestamp authority), then stored as an OCI referrer of each image and in the
// repository's attestations. Signing goes through @sigstore/sign with the endpoints named here (the
// ones @actions/attest uses by default) so that each can be pointed at another server.
import { buildSLSAProvenancePredicate } from '@actions/attest'
import { bundleToJSON } from '@sigstore/bundle'
import { CIContextProvider, DSSEBundleBuilder, FulcioSigner, RekorWitness, TSAWitness } from '@sigstore/sign'
import type { Witness } from '@sigstore/sign'
import { parseImageRef } from '../core/image-ref.js'
import type { Referrers } from './referrers.js'

export interface PushedImage {
  /** Repository without tag, `ghcr.io/acme/sindri`. */
  image: string
  digest: string
}

export interface Attester {
  /**
   * Signs one statement for every image and attaches it to each (throws when that fails); `apiError`:
   * why the repository's attestations did not take it (the registry copy is the one reuse reads).
   */
  attest(images: PushedImage[]): Promise<{ attested: string[]; apiError?: string }>
}

export interface SigningEndpoints {
  fulcioUrl: string
  /** Public-good Sigstore witnesses with Rekor; GitHub's own instance with a timestamp authority. */
  rekorUrl?: string
  tsaUrl?: string
  /** The OIDC issuer whose keys check the run's token (default: GitHub Actions'). */
  oidcIssuer?: string
}

export interface AttesterOptions extends SigningEndpoints {
  referrers: Referrers
  /** The repository's attestations API (`POST /repos/{owner}/{repo}/attestations`); absent: the registry alone. */
  api?: { url: string; token: string; repository: string }
}

const INTOTO_STATEMENT = 'https://in-toto.io/Statement/v1'
const INTOTO_PAYLOAD = 'application/vnd.in-toto+json'
const TIMEOUT_MS = 10_000

/** The endpoints @actions/attest signs with: public-good Sigstore for a public repository, else GitHub's. */
export function defaultEndpoints(serverUrl: string, visibility: string | undefined): SigningEndpoints {
  if (visibility === 'public')
    return { fulcioUrl: 'https://fulcio.sigstore.dev', rekorUrl: 'https://rekor.sigstore.dev' }
  let host = new URL(serverUrl).hostname
  if (host === 'github.com') host = 'githubapp.com'
  return { fulcioUrl: `https://fulcio.${host}`, tsaUrl: `https://timestamp.${host}` }
}

export function createAttester(opts: AttesterOptions): Attester {
  const builder = bundleBuilder(opts)
  return { attest: images => attest(builder, opts, images) }
}

/** Sigstore's DSSE bundle builder: a Fulcio certificate for the job's OIDC identity, Rekor or a TSA witness. */
function bundleBuilder(opts: SigningEndpoints): DSSEBundleBuilder {
  const witnesses: Witness[] = []
  if (opts.rekorUrl)
    witnesses.push(
      new RekorWitness({ rekorBaseURL: opts.rekorUrl, fetchOnConflict: true, timeout: TIMEOUT_MS, retry: 2 })
    )
  if (opts.tsaUrl) witnesses.push(new TSAWitness({ tsaBaseURL: opts.tsaUrl, timeout: TIMEOUT_MS, retry: 2 }))
  return new DSSEBundleBuilder({
    signer: new FulcioSigner({
      identityProvider: new CIContextProvider('sigstore'),
      fulcioBaseURL: opts.fulcioUrl,
      timeout: TIMEOUT_MS,
      retry: 2
    }),
    witnesses
  })
}

/** The repository's attestations API takes the bundle; nothing to do without one. */
async function store(api: AttesterOptions['api'], bundle: object): Promise<void> {
  if (!api) return
  const { url, token, repository } = api
  const res = await fetch(`${url.replace(/\/+$/, '')}/repos/${repository}/attestations`, {
    method: 'POST',
    headers: {
      accept: 'application/vnd.github+json',
      authorization: `Bearer ${token}`,
      'content-type': 'application/json'
    },
    body: JSON.stringify({ bundle })
  })
  await res.arrayBuffer()
  if (!res.ok)
    throw new Error(
      `the attestations API answered HTTP ${res.status} (the job needs \`attestations: write\`)`
    )
}

async function attest(
  builder: DSSEBundleBuilder,
  opts: AttesterOptions,
  images: PushedImage[]
): Promise<{ attested: string[]; apiError?: string }> {
  if (images.length === 0) return { attested: [] }
  const predicate = await buildSLSAProvenancePredicate(opts.oidcIssuer)
  const subject = images.map(i => {
    const r = parseImageRef(i.image)
    return { name: `${r.host}/${r.name}`, digest: { sha256: i.digest.replace(/^sha256:/, '') } }
  })
  const statement = {
    _type: INTOTO_STATEMENT,
    subject,
    predicateType: predicate.type,
    predicate: predicate.params
  }
  const signed = await builder.create({ data: Buffer.from(JSON.stringify(statement)), type: INTOTO_PAYLOAD })
  const bundle = bundleToJSON(signed)
  const text = JSON.stringify(bundle)
  const annotations = {
    'dev.sigstore.bundle.content': 'dsse-envelope',
    'dev.sigstore.bundle.predicateType': predicate.type
  }
  const stored = store(opts.api, bundle).then(
    () => undefined,
    (e: Error) => e.message
  )
  await Promise.all(images.map(i => opts.referrers.attach(i.image, i.digest, text, annotations)))
  const apiError = await stored
  return { attested: images.map(i => i.digest), ...(apiError && { apiError }) }
}

// The attestations of an image, checked by Sigstore's own verifier (SPEC 4b): bundles come from the
// registry (OCI referrers) and from the repository's attestations (GitHub's API); each is verified
// against the trust root (certificate chain, signature, transparency log or timestamp), and what its
// certificate and statement then say goes to core/trust.ts to be judged.
import { readFile } from 'node:fs/promises'
import { bundleFromJSON } from '@sigstore/bundle'
import { ASN1Obj, X509Certificate } from '@sigstore/core'
import { TrustedRoot } from '@sigstore/protobuf-specs'
import { getTrustedRoot } from '@sigstore/tuf'
import { toSignedEntity, toTrustMaterial, Verifier, type TrustMaterial } from '@sigstore/verify'
import type { Attested, Verification } from '../core/trust.js'
import type { Referrers } from './referrers.js'

export interface AttestationFinder {
  /** Every attestation found for `image@digest`, each verified or with why not. Never throws. */
  find(image: string, digest: string): Promise<Verification[]>
}

export interface AttestationOptions {
  referrers: Referrers
  /** A trusted_root.json to verify against (tests, air-gapped runners); default: Sigstore's TUF repository. */
  trustedRoot?: string
  /** Where @sigstore/tuf keeps its copy of the TUF repository. */
  tufCache?: string
  /** The repository's attestations (`GET /repos/{owner}/{repo}/attestations/{digest}`); absent: the registry alone. */
  api?: { url: string; token: string; repository: string }
}

// Fulcio's certificate extensions for GitHub Actions (the v2 ones, DER UTF8String values).
const OID = {
  issuer: '1.3.6.1.4.1.57264.1.8',
  signer: '1.3.6.1.4.1.57264.1.9',
  repository: '1.3.6.1.4.1.57264.1.12',
  commit: '1.3.6.1.4.1.57264.1.13',
  ref: '1.3.6.1.4.1.57264.1.14',
  run: '1.3.6.1.4.1.57264.1.21'
} as const

export function createAttestationFinder(opts: AttestationOptions): AttestationFinder {
  let material: Promise<{ trust: TrustMaterial; ctlogs: number }> | undefined
  const trust = (): Promise<{ trust: TrustMaterial; ctlogs: number }> =>
    (material ??= loadRoot(opts).then(root => ({ trust: toTrustMaterial(root), ctlogs: root.ctlogs.length })))

  async function fromApi(digest: string): Promise<string[]> {
    if (!opts.api) return []
    const { url, token, repository } = opts.api
    const res = await fetch(
      `${url.replace(/\/+$/, '')}/repos/${repository}/attestations/${digest}?per_page=30`,
      {
        headers: { accept: 'application/vnd.github+json', authorization: `Bearer ${token}` }
      }
    )
    if (res.status === 404) return []
    if (!res.ok) throw new Error(`the attestations API answered HTTP ${res.status}`)
    const doc = (await res.json()) as { attestations?: { bundle?: unknown }[] }
    return (doc.attestations ?? []).filter(a => a.bundle).map(a => JSON.stringify(a.bundle))
  }

  return {
    async find(image, digest) {
      const errors: Verification[] = []
      const lists = await Promise.all([
        opts.referrers.bundles(image, digest).catch((e: Error) => {
          errors.push({ error: `registry: ${e.message}` })
          return []
        }),
        fromApi(digest).catch((e: Error) => {
          errors.push({ error: `attestations API: ${e.message}` })
          return []
        })
      ])
      const texts = [...new Set(lists.flat())]
      if (texts.length === 0) return errors
      let t: { trust: TrustMaterial; ctlogs: number }
      try {
        t = await trust()
      } catch (e) {
        return [{ error: `no trust root: ${(e as Error).message}` }]
      }
      return [...texts.map(text => verifyBundle(text, t.trust, t.ctlogs)), ...errors]
    }
  }
}

async function loadRoot(opts: AttestationOptions): Promise<TrustedRoot> {
  if (opts.trustedRoot) return TrustedRoot.fromJSON(JSON.parse(await readFile(opts.trustedRoot, 'utf8')))
  return getTrustedRoot(opts.tufCache ? { cachePath: opts.tufCache } : {})
}

/** One bundle through Sigstore's verifier, then what its certificate and in-toto statement say. */
export function verifyBundle(text: string, trust: TrustMaterial, ctlogs: number): Verification {
  try {
    const bundle = bundleFromJSON(JSON.parse(text))
    const entity = toSignedEntity(bundle)
    new Verifier(trust, {
      // A public-good bundle carries a transparency log entry; one of GitHub's instance a timestamp.
      tlogThreshold: entity.tlogEntries.length > 0 ? 1 : 0,
      ctlogThreshold: ctlogs > 0 ? 1 : 0,
      timestampThreshold: 1
    }).verify(entity)
    if (entity.key.$case !== 'certificate') return { error: 'signed with a key, not a certificate' }
    const cert = entity.key.certificate
    const content = bundle.content
    if (content.$case !== 'dsseEnvelope') return { error: 'not an in-toto attestation' }
    return { attested: { ...certificateFacts(cert), subjects: subjectsOf(content.dsseEnvelope.payload) } }
  } catch (e) {
    return { error: oneLine((e as Error).message) }
  }
}

function certificateFacts(cert: X509Certificate): Omit<Attested, 'subjects'> {
  const ext = (oid: string): string => {
    const e = cert.extension(oid)
    return e ? ASN1Obj.parseBuffer(e.value as Buffer<ArrayBuffer>).value.toString('utf8') : ''
  }
  return {
    issuer: ext(OID.issuer),
    signer: ext(OID.signer),
    repository: ext(OID.repository),
    commit: ext(OID.commit),
    ref: ext(OID.ref),
    run: ext(OID.run)
  }
}

function subjectsOf(payload: Buffer): string[] {
  const statement = JSON.parse(payload.toString('utf8')) as {
    subject?: { digest?: Record<string, unknown> }[]
  }
  return (statement.subject ?? [])
    .map(s => s.digest?.sha256)
    .filter((d): d is string => typeof d === 'string' && /^[0-9a-f]{64}$/.test(d))
    .map(d => `sha256:${d}`)
}

const oneLine = (s: string): string =>
  s
    .replace(/[\p{Cc}\s]+/gu, ' ')
    .trim()
    .slice(0, 200)

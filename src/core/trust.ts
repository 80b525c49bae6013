// Reuse that can be trusted (SPEC 4b): whether a verified attestation vouches for an image under a
// layer's `reuse`. Pure: adapters/attestations.ts fetches the Sigstore bundles and checks their
// signatures against the trust root; this judges what the certificate and the statement then say.

/** What one attestation says once its Sigstore bundle verified (certificate extensions, statement subjects). */
export interface Attested {
  /** The OIDC issuer that vouched for the signing job. */
  issuer: string
  /** Build Signer URI: the workflow whose job signed (`https://github.com/o/r/.github/workflows/f.yml@refs/…`). */
  signer: string
  /** Source Repository URI (`https://github.com/o/r`). */
  repository: string
  /** Source Repository Ref: the ref the signing run was for. */
  ref: string
  /** Source Repository Digest: the commit. */
  commit: string
  /** Run Invocation URI: the run that signed. */
  run: string
  /** The statement's subject digests, `sha256:<hex>`. */
  subjects: string[]
}

/** One attestation found for an image: verified, or why its bundle did not verify. */
export type Verification = { attested: Attested } | { error: string }

export interface TrustPolicy {
  /** `https://github.com`, or the GitHub Enterprise server. */
  serverUrl: string
  /** `owner/repo` of this run. */
  repository: string
  defaultBranch: string
  /** Strata's reusable workflow at the ref this step was pinned to: `owner/repo/.github/workflows/build-layer.yml@ref`. */
  strataWorkflows: string[]
  /** The config's `trusted-signers`. */
  trustedSigners: string[]
  /** `reuse: default-branch`: only a run on the default branch may have signed. */
  defaultBranchOnly: boolean
}

export type TrustAnswer = { ok: true; by: Attested } | { ok: false; why: string }

/** The OIDC issuer of GitHub Actions tokens for a server (github.com, GHE.com, or GitHub Enterprise Server). */
export function actionsIssuer(serverUrl: string): string {
  const url = new URL(serverUrl)
  if (url.hostname === 'github.com') return 'https://token.actions.githubusercontent.com'
  if (url.hostname.endsWith('.ghe.com')) return `https://token.actions.${url.hostname}`
  return `${url.origin}/_services/token`
}

/** `owner/repo/path@ref` of a Build Signer URI on this server; undefined when it is on another. */
export function workflowIdentity(signer: string, serverUrl: string): string | undefined {
  const prefix = `${serverUrl.replace(/\/+$/, '')}/`
  return signer.startsWith(prefix) ? signer.slice(prefix.length) : undefined
}

/**
 * Whether a signing workflow (`owner/repo/path@refs/tags/v1`) is the one a pattern names
 * (`owner/repo/path@v1`, `@refs/tags/v1` or `@<sha>`): owner and repository names compare
 * without case, as GitHub compares them; the path and the ref exactly.
 */
export function sameWorkflow(identity: string, pattern: string): boolean {
  const [idPath, idRef] = splitRef(identity)
  const [pPath, pRef] = splitRef(pattern)
  if (!idRef || !pRef || ownerRepo(idPath) !== ownerRepo(pPath)) return false
  if (filePath(idPath) !== filePath(pPath)) return false
  return idRef === pRef || idRef === `refs/tags/${pRef}` || idRef === `refs/heads/${pRef}`
}

const splitRef = (s: string): [string, string] => {
  const at = s.lastIndexOf('@')
  return at < 0 ? [s, ''] : [s.slice(0, at), s.slice(at + 1)]
}
const ownerRepo = (p: string): string => p.split('/').slice(0, 2).join('/').toLowerCase()
const filePath = (p: string): string => p.split('/').slice(2).join('/')

/** Why a signer is trusted (`undefined`: it is not). */
export function trustedSigner(signer: string, policy: TrustPolicy): string | undefined {
  const id = workflowIdentity(signer, policy.serverUrl)
  if (!id) return undefined
  if (policy.strataWorkflows.some(w => sameWorkflow(id, w))) return "Strata's reusable workflow"
  const [path, ref] = splitRef(id)
  if (ownerRepo(path) === policy.repository.toLowerCase() && ref === `refs/heads/${policy.defaultBranch}`)
    return "this repository's default branch"
  if (policy.trustedSigners.some(w => sameWorkflow(id, w))) return 'trusted-signers'
  return undefined
}

/** One attestation against the policy: undefined when it vouches for `digest`, else why not and how far it got. */
function refusal(
  v: Verification,
  digest: string,
  policy: TrustPolicy
): { why: string; stage: number } | undefined {
  if ('error' in v) return { why: `its attestation did not verify (${v.error})`, stage: 0 }
  const a = v.attested
  if (a.issuer !== actionsIssuer(policy.serverUrl))
    return { why: `its attestation was signed through ${a.issuer}, not GitHub Actions`, stage: 1 }
  if (!a.subjects.includes(digest)) return { why: 'its attestation is for another image', stage: 2 }
  const repo = `${policy.serverUrl.replace(/\/+$/, '')}/${policy.repository}`
  if (a.repository.toLowerCase() !== repo.toLowerCase())
    return { why: `its attestation comes from ${a.repository}, not ${repo}`, stage: 3 }
  if (policy.defaultBranchOnly && a.ref !== `refs/heads/${policy.defaultBranch}`)
    return { why: `it was signed by a run on ${a.ref}, not the default branch`, stage: 4 }
  if (!trustedSigner(a.signer, policy))
    return {
      why: `its signer ${workflowIdentity(a.signer, policy.serverUrl) ?? a.signer} is not trusted (not Strata's reusable workflow, not this repository's default branch, not in trusted-signers)`,
      stage: 5
    }
  return undefined
}

/**
 * SPEC 4b: the first attestation that vouches for `digest`, or why none does (the reason of the one
 * that got furthest: a bad signature says less than an untrusted signer).
 */
export function judge(digest: string, found: Verification[], policy: TrustPolicy): TrustAnswer {
  let best: { why: string; stage: number } | undefined
  for (const v of found) {
    const r = refusal(v, digest, policy)
    if (!r) return { ok: true, by: (v as { attested: Attested }).attested }
    if (!best || r.stage > best.stage) best = r
  }
  if (!best) return { ok: false, why: `no attestation of ${digest.slice(0, 19)}…` }
  return { ok: false, why: found.length > 1 ? `${best.why}, and ${found.length - 1} more` : best.why }
}

/** Who built a verified image, for the summary: run, ref and commit. */
export function builtBy(a: Attested): string {
  const run = a.run.replace(/\/attempts\/\d+$/, '')
  return `${run} (${a.ref}, ${a.commit.slice(0, 7)})`
}

// SPEC 4b's services, made once per run from the environment: the attestation finder (always: the
// default branch needs it), the signer (where the job can request an OIDC token), and whom the
// policy trusts besides the repository. Each endpoint can be pointed at another server (tests,
// air-gapped runners; README "Build provenance"): STRATA_TRUSTED_ROOT, STRATA_FULCIO_URL,
// STRATA_REKOR_URL, STRATA_TSA_URL, STRATA_OIDC_ISSUER, and the runner's own GITHUB_API_URL and
// ACTIONS_ID_TOKEN_REQUEST_URL.
import { createAttester, defaultEndpoints, type Attester, type SigningEndpoints } from './adapters/attest.js'
import { createAttestationFinder, type AttestationFinder } from './adapters/attestations.js'
import { createReferrers } from './adapters/referrers.js'
import type { TrustPolicy } from './core/trust.js'

export interface TrustServices {
  attestations: AttestationFinder
  /** undefined: the job cannot request an OIDC token (no `id-token: write`). */
  attester?: Attester
  trust: Pick<TrustPolicy, 'serverUrl' | 'strataWorkflows'>
}

/** Strata's reusable workflow at the ref this step's action was pinned to (the runner names both). */
export function strataWorkflows(env: NodeJS.ProcessEnv): string[] {
  const repo = env.GITHUB_ACTION_REPOSITORY
  const ref = env.GITHUB_ACTION_REF
  return repo && ref ? [`${repo}/.github/workflows/build-layer.yml@${ref}`] : []
}

/** Where signing goes: the environment's endpoints where any is named, else those @actions/attest uses. */
export function signingEndpoints(
  env: NodeJS.ProcessEnv,
  serverUrl: string,
  visibility?: string
): SigningEndpoints {
  const issuer = env.STRATA_OIDC_ISSUER ? { oidcIssuer: env.STRATA_OIDC_ISSUER } : {}
  if (!env.STRATA_FULCIO_URL) return { ...defaultEndpoints(serverUrl, visibility), ...issuer }
  return {
    fulcioUrl: env.STRATA_FULCIO_URL,
    ...(env.STRATA_REKOR_URL && { rekorUrl: env.STRATA_REKOR_URL }),
    ...(env.STRATA_TSA_URL && { tsaUrl: env.STRATA_TSA_URL }),
    ...issuer
  }
}

export function trustServices(
  env: NodeJS.ProcessEnv,
  o: { token?: string; visibility?: string }
): TrustServices {
  const serverUrl = env.GITHUB_SERVER_URL || 'https://github.com'
  const referrers = createReferrers()
  const api =
    o.token && env.GITHUB_REPOSITORY
      ? {
          url: env.GITHUB_API_URL || 'https://api.github.com',
          token: o.token,
          repository: env.GITHUB_REPOSITORY
        }
      : undefined
  const canSign = !!env.ACTIONS_ID_TOKEN_REQUEST_URL && !!env.ACTIONS_ID_TOKEN_REQUEST_TOKEN
  return {
    attestations: createAttestationFinder({
      referrers,
      trustedRoot: env.STRATA_TRUSTED_ROOT || undefined,
      api
    }),
    ...(canSign && {
      attester: createAttester({ referrers, api, ...signingEndpoints(env, serverUrl, o.visibility) })
    }),
    trust: { serverUrl, strataWorkflows: strataWorkflows(env) }
  }
}

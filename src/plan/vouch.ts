// Reuse that can be trusted (SPEC 4b), wired: before a run that promotes reuses an image found under
// an input tag, its attestations are fetched and verified (adapters/attestations.ts) and judged
// against the run's trust policy (core/trust.ts); the answer rides on the found image.
import type { AttestationFinder } from '../adapters/attestations.js'
import { LABEL_INPUTS, LABEL_REF, mustVerify, type FoundImage } from '../core/same-inputs.js'
import { judge, type TrustPolicy } from '../core/trust.js'
import type { EventContext, LayerConfig, StrataConfig } from '../core/types.js'

/** SPEC 4b's policy for this run; `defaultBranchOnly` is set per layer by `vouch`. */
export function trustPolicy(
  config: StrataConfig,
  ctx: EventContext,
  trust: Pick<TrustPolicy, 'serverUrl' | 'strataWorkflows'> | undefined
): TrustPolicy {
  return {
    serverUrl: trust?.serverUrl ?? 'https://github.com',
    repository: `${ctx.owner}/${ctx.repo}`,
    defaultBranch: ctx.defaultBranch,
    strataWorkflows: trust?.strataWorkflows ?? [],
    trustedSigners: config.trustedSigners ?? [],
    defaultBranchOnly: false
  }
}

/**
 * Sets `found.trust` where this run must verify before reusing (`mustVerify`), and only for an image
 * whose labels would let it through: attestations are not fetched for an image refused anyway.
 */
export async function vouch(
  layer: LayerConfig,
  found: FoundImage | null | undefined,
  inputs: string,
  run: { ctx: EventContext; policy: TrustPolicy; attestations?: AttestationFinder }
): Promise<void> {
  const reuse = layer.reuse ?? 'verified'
  if (!found || !mustVerify(reuse, run.ctx) || found.labels?.[LABEL_INPUTS] !== inputs) return
  if (reuse === 'default-branch' && found.labels[LABEL_REF] !== run.ctx.defaultBranch) return
  const attestations = run.attestations
    ? await run.attestations.find(layer.image, found.digest)
    : [{ error: 'this run does not check attestations' }]
  found.trust = judge(found.digest, attestations, {
    ...run.policy,
    defaultBranchOnly: reuse === 'default-branch'
  })
}

// SPEC 4b: after a step pushed images, one signed build provenance attestation for all of them.
// `attest: auto` signs where the job can request an OIDC token and says once how to enable it where
// it cannot; a failure to sign is a warning, never a failed build. `attest: true` makes both errors.
import type { Attester } from './adapters/attest.js'
import type { AttestSetting } from './core/inputs-parse.js'
import type { LayerResult } from './core/types.js'
import type { Logger, StrataConfig } from './core/types.js'

export const ATTEST_PERMISSIONS =
  'give the job `permissions: id-token: write` and `attestations: write` (the default branch reuses only images with a verified attestation)'

/** The images a step pushed: built, assembled or merged layers with a digest. */
export function pushedImages(
  config: StrataConfig,
  layers: Record<string, LayerResult>
): { image: string; digest: string }[] {
  const images = new Map(config.layers.map(l => [l.name, l.image]))
  return Object.values(layers)
    .filter(
      r =>
        (r.status === 'built' || r.status === 'assembled') &&
        r.digest &&
        /^sha256:[0-9a-f]{64}$/.test(r.digest)
    )
    .map(r => ({ image: images.get(r.name)!, digest: r.digest! }))
}

/** Signs and stores one attestation for `images`; returns the digests attested. */
export async function attestPushed(
  images: { image: string; digest: string }[],
  setting: AttestSetting,
  attester: Attester | undefined,
  log: Logger
): Promise<string[]> {
  if (setting === false || images.length === 0) return []
  if (!attester) {
    if (setting === true)
      throw new Error(`attest: true, but this job cannot request an OIDC token: ${ATTEST_PERMISSIONS}`)
    log.notice(
      `No build provenance attestation: this job cannot request an OIDC token; ${ATTEST_PERMISSIONS}`
    )
    return []
  }
  const started = Date.now()
  try {
    const done = await attester.attest(images)
    log.info(`Attested ${done.attested.length} image(s) (SLSA build provenance, ${Date.now() - started} ms)`)
    if (done.apiError)
      log.notice(
        `The attestation is stored in the registry, not in the repository's attestations: ${done.apiError}`
      )
    return done.attested
  } catch (e) {
    const message = `cannot attest ${images.map(i => `${i.image}@${i.digest}`).join(', ')}: ${(e as Error).message.replace(/\s+/g, ' ').slice(0, 300)}`
    if (setting === true) throw new Error(message)
    log.warning(
      `${message}; the images are pushed without attestation, so the default branch will build them again`
    )
    return []
  }
}

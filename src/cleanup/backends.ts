// Where cleanup lists and deletes an image's versions: the registry API (OCI distribution), or for
// GHCR with a token the GitHub Packages API (GHCR does not delete through the registry API).
import { registryHost } from '../core/image-ref.js'
import { mapLimit } from '../core/limit.js'
import type { RetentionVersion } from '../core/retention.js'
import type { CleanupDeps, CleanupImage } from './types.js'

export interface Backend {
  kind: CleanupImage['backend']
  list(): Promise<RetentionVersion[]>
  remove(digest: string): Promise<void>
}

/** The image's backend, from the clients wiring.ts made (the Packages API ones only with a token). */
export function backendFor(image: string, deps: CleanupDeps, warn: (m: string) => void): Backend {
  const host = registryHost(image)
  if (host === 'ghcr.io' && deps.ghcr) return packagesBackend(image, deps.ghcr(image), deps)
  if (host === 'ghcr.io') {
    warn(
      `${image}: no token, so the registry API is used, and GHCR does not delete through it: ` +
        `pass \`token\` (with \`permissions: packages: write\`) to delete through the GitHub Packages API`
    )
  }
  if (!deps.oci)
    throw new Error(`${image}: cleanup was given no registry client (wiring.ts cleanupClients())`)
  const oci = deps.oci(image)
  return {
    kind: 'registry',
    list: async () => (await oci.listImages()).map(toVersion),
    remove: digest => oci.deleteManifest(digest)
  }
}

function packagesBackend(
  image: string,
  api: ReturnType<NonNullable<CleanupDeps['ghcr']>>,
  deps: CleanupDeps
): Backend {
  const ids = new Map<string, number>()
  return {
    kind: 'packages',
    async list() {
      const versions = await api.listVersions()
      for (const v of versions) ids.set(v.digest, v.id)
      const out: RetentionVersion[] = versions.map(v => {
        const r: RetentionVersion = { digest: v.digest, tags: v.tags }
        if (v.created) r.created = v.created
        return r
      })
      // GHCR lists the platform images and attestations of a multi-platform index as untagged
      // versions: read the tagged manifests to learn which digests each index holds, so that
      // the untagged rule never breaks a kept image.
      if (out.some(v => v.tags.length === 0)) {
        if (!deps.ghcrManifests) throw new Error(`${image}: cleanup was given no GHCR manifest reader`)
        const reg = deps.ghcrManifests(image)
        const tagged = out.filter(v => v.tags.length > 0)
        const infos = await mapLimit(tagged, 8, v => reg.manifest(v.digest))
        tagged.forEach((v, i) => {
          if (infos[i].children) v.children = infos[i].children
        })
      }
      return out
    },
    async remove(digest) {
      const id = ids.get(digest)
      if (id === undefined) throw new Error(`${digest} is not a version of the package listed`)
      await api.deleteVersion(id)
    }
  }
}

function toVersion(img: {
  digest: string
  tags: string[]
  created?: Date
  children?: string[]
}): RetentionVersion {
  const v: RetentionVersion = { digest: img.digest, tags: img.tags }
  if (img.created) v.created = img.created
  if (img.children) v.children = img.children
  return v
}

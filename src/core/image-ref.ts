// The one image-reference parser (Docker's rules): `[host[:port]/]path[:tag][@digest]`. Pure.

export interface ImageRef {
  /** Registry host as Docker names it: `ghcr.io`, `localhost:5000`, `docker.io` for Docker Hub. */
  host: string
  /** Repository path on that host; Docker Hub's official images get `library/`. */
  name: string
  tag?: string
  /** `sha256:<64 hex>`. */
  digest?: string
}

const DIGEST = /^sha256:[0-9a-f]{64}$/
const TAG = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/
const PATH_COMPONENT = /^[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*$/

/** Parses `ref`; throws with what is wrong for anything Docker would not accept as a reference. */
export function parseImageRef(ref: string): ImageRef {
  const bad = (why: string): Error => new Error(`${JSON.stringify(ref)} is not an image reference: ${why}`)
  let rest = ref
  let digest: string | undefined
  const at = rest.indexOf('@')
  if (at >= 0) {
    digest = rest.slice(at + 1)
    rest = rest.slice(0, at)
    if (!DIGEST.test(digest)) throw bad(`the digest must be sha256: and 64 lower-case hex`)
  }
  let tag: string | undefined
  const colon = rest.lastIndexOf(':')
  if (colon > rest.lastIndexOf('/')) {
    tag = rest.slice(colon + 1)
    rest = rest.slice(0, colon)
    if (!TAG.test(tag)) throw bad(`the tag ${JSON.stringify(tag)} has characters Docker does not allow`)
  }
  const slash = rest.indexOf('/')
  const first = slash < 0 ? '' : rest.slice(0, slash)
  const hasHost = first.includes('.') || first.includes(':') || first === 'localhost'
  const host = hasHost ? first : 'docker.io'
  let name = hasHost ? rest.slice(slash + 1) : rest
  if (host === 'docker.io' && !name.includes('/')) name = `library/${name}`
  if (!name || !name.split('/').every(c => PATH_COMPONENT.test(c))) {
    throw bad('the repository must be lower-case letters, digits and . _ - between slashes')
  }
  if (hasHost && !/^[A-Za-z0-9.-]+(?::\d+)?$/.test(host))
    throw bad(`the registry host ${JSON.stringify(host)} is not a host name`)
  return { host, name, ...(tag !== undefined && { tag }), ...(digest !== undefined && { digest }) }
}

/** The registry host of an image or reference (`docker.io` for Docker Hub). */
export function registryHost(ref: string): string {
  const slash = ref.indexOf('/')
  const first = slash < 0 ? '' : ref.slice(0, slash)
  return first.includes('.') || first.includes(':') || first === 'localhost' ? first : 'docker.io'
}

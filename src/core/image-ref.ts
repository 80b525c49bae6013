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

/** A reference split as written (no host added, no `library/`): `repository[:tag][@digest]`. */
export interface RefParts {
  repository: string
  tag?: string
  digest?: string
}

/**
 * Splits `ref` at its digest (`@`) and its tag (a `:` after the last `/`; a registry port is no tag),
 * checking nothing: for references Strata made itself. Use parseImageRef() for anything written.
 */
export function splitImageRef(ref: string): RefParts {
  const at = ref.indexOf('@')
  const rest = at >= 0 ? ref.slice(0, at) : ref
  const colon = rest.lastIndexOf(':')
  const tagged = colon > rest.lastIndexOf('/')
  return {
    repository: tagged ? rest.slice(0, colon) : rest,
    ...(tagged && { tag: rest.slice(colon + 1) }),
    ...(at >= 0 && { digest: ref.slice(at + 1) })
  }
}

/** The `sha256:<64 hex>` a reference is pinned to (`…@sha256:…` at its end), or undefined. */
export function pinnedDigest(ref: string | undefined): string | undefined {
  return ref ? /@(sha256:[0-9a-f]{64})$/.exec(ref)?.[1] : undefined
}

/** `repository[:tag]` of a reference: its digest left off. */
export function withoutDigest(ref: string): string {
  const { repository, tag } = splitImageRef(ref)
  return tag === undefined ? repository : `${repository}:${tag}`
}

/** Parses `ref`; throws with what is wrong for anything Docker would not accept as a reference. */
export function parseImageRef(ref: string): ImageRef {
  const bad = (why: string): Error => new Error(`${JSON.stringify(ref)} is not an image reference: ${why}`)
  const { repository: rest, tag, digest } = splitImageRef(ref)
  if (digest !== undefined && !DIGEST.test(digest))
    throw bad(`the digest must be sha256: and 64 lower-case hex`)
  if (tag !== undefined && !TAG.test(tag))
    throw bad(`the tag ${JSON.stringify(tag)} has characters Docker does not allow`)
  const written = writtenHost(rest)
  const hasHost = written !== undefined
  const host = written ?? 'docker.io'
  let name = hasHost ? rest.slice(written.length + 1) : rest
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
  return writtenHost(ref) ?? 'docker.io'
}

/** The host a reference names before its first `/` (Docker's rule: it has a `.` or `:`, or is localhost). */
function writtenHost(ref: string): string | undefined {
  const slash = ref.indexOf('/')
  const first = slash < 0 ? '' : ref.slice(0, slash)
  return first.includes('.') || first.includes(':') || first === 'localhost' ? first : undefined
}

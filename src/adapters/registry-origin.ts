// Where a registry lives and where its credentials may go (SPEC 10): a credential only ever goes to
// the registry's own origin, with one documented exception for Docker Hub's token service.

export function defaultRegistryUrl(host: string): string {
  if (host === 'docker.io') return 'https://registry-1.docker.io'
  const bare = host.replace(/:\d+$/, '')
  return `${bare === 'localhost' || bare === '127.0.0.1' ? 'http' : 'https'}://${host}`
}

const sameOrigin = (a: URL, b: URL): boolean => a.protocol === b.protocol && a.host === b.host

/**
 * May a request to `target` carry the credentials of the registry at `base`? Only its own origin.
 * The one exception, for a token `realm` only: Docker Hub's registry (registry-1.docker.io) sends
 * logins to its token service auth.docker.io, as the docker CLI does; exactly that pair, over https.
 */
export function credentialsMayGo(base: string, target: string, purpose: 'request' | 'realm'): boolean {
  let b: URL
  let t: URL
  try {
    b = new URL(base)
    t = new URL(target)
  } catch {
    return false
  }
  if (t.username || t.password) return false
  if (sameOrigin(b, t)) return true
  return (
    purpose === 'realm' &&
    b.protocol === 'https:' &&
    b.host === 'registry-1.docker.io' &&
    t.protocol === 'https:' &&
    t.host === 'auth.docker.io'
  )
}

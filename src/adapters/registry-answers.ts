// What the registry's answers mean (untrusted text): a tag or repository that does not exist (Docker
// Hub's way included), an error worded for the log, and the login hint a refusal gets.
import { registryHost } from '../core/image-ref.js'
import { RegistryAuthError, RegistryReplyError, type Reply } from './registry-http.js'

const HUB_HOSTS = new Set(['docker.io', 'index.docker.io', 'registry-1.docker.io'])

/** Docker Hub, by the names its images use: it counts a manifest GET as a pull (rate-limited), a HEAD not. */
export function isDockerHub(host: string): boolean {
  return HUB_HOSTS.has(host)
}

/** The registry says the tag or repository does not exist, including Docker Hub's way of saying it. */
export function missing(reply: Pick<Reply, 'status' | 'body' | 'afterToken'>, host: string): boolean {
  if (reply.status === 404) return true
  const { codes, text } = errorsOf(reply.body)
  if (codes.includes('NAME_UNKNOWN') || codes.includes('MANIFEST_UNKNOWN')) return true
  if (/pull access denied|repository does not exist/i.test(text)) return true
  // Docker Hub answers a name that does not exist with 401 UNAUTHORIZED even after a token was issued
  // (its documented way of saying so). Any other registry that refuses after granting a token, an
  // anonymous one included, may hold an image this login cannot read: unreadable (SPEC 8), not missing.
  return (
    (reply.status === 401 || reply.status === 403) && reply.afterToken !== undefined && HUB_HOSTS.has(host)
  )
}

/** Registry answers are untrusted: one line, no control characters, bounded. */
const oneLine = (s: string): string =>
  s
    .replace(/[\p{Cc}\s]+/gu, ' ')
    .trim()
    .slice(0, 300)

function errorsOf(body: Buffer): { codes: string[]; text: string } {
  const text = body.subarray(0, 65536).toString('utf8')
  try {
    const errors = (JSON.parse(text) as { errors?: { code?: unknown; message?: unknown }[] }).errors ?? []
    return {
      codes: errors.map(e => String(e.code)),
      text: oneLine(errors.map(e => `${String(e.code)}: ${String(e.message ?? '')}`).join('; '))
    }
  } catch {
    return { codes: [], text: oneLine(text) }
  }
}

export function failure(what: string, reply: Reply, host: string): Error {
  const { text } = errorsOf(reply.body)
  const denied = reply.status === 401 || reply.status === 403
  return new RegistryReplyError(
    `${what}: HTTP ${reply.status}${text ? ` ${text}` : ''}${denied ? denialHint(host) : ''}`,
    reply.status
  )
}

/** Runs `fn`; prefixes errors that are not yet about `ref` with `what`, and adds the login hint to refusals. */
export async function guard<T>(what: string, ref: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn()
  } catch (e) {
    const message = (e as Error).message
    if (message.startsWith(what)) throw e
    const denied = e instanceof RegistryAuthError ? denialHint(registryHost(ref)) : ''
    throw new Error(`${what}: ${message}${denied}`, { cause: e })
  }
}

/** What to do about a denial: GHCR needs `packages` permissions; elsewhere log in first. */
export function denialHint(registry: string): string {
  if (registry === 'ghcr.io') {
    return ' — the job needs `permissions: packages: write` (read for look-ups) and a docker/login-action step for ghcr.io'
  }
  return ` — log in to ${registry} before Strata runs (docker/login-action, or \`docker login ${registry}\`)`
}

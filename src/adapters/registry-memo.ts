// SPEC 11: registry reads are never repeated within a run. Manifests by digest and blobs are
// content-addressed, so a verified answer (its bytes hash to the digest asked for) is kept for the
// rest of the run, per repository: a later GET, or a HEAD (only its headers are read), gets it
// without asking again. A manifest read by tag or just put is kept under its digest the same way.
// Tag answers are never kept here (a tag moves); one memo per registry adapter, never across runs.
import { sha256 } from '../core/input-digest.js'
import type { RegistryClient, Reply, RequestOptions } from './registry-http.js'

const ADDRESSED = /^\/v2\/(.+?)\/(manifests|blobs)\/(sha256:[0-9a-f]{64})$/
const BY_TAG = /^\/v2\/(.+?)\/manifests\/([^/]+)$/

/** `client`, with its content-addressed reads memoized in `memo` (keyed by origin and path). */
export function memoizedReads(client: RegistryClient, memo: Map<string, Reply>): RegistryClient {
  const keyOf = (path: string): { key: string; addressed?: RegExpExecArray } | undefined => {
    const url = new URL(path, `${client.base}/`)
    if (url.search || url.origin !== new URL(client.base).origin) return undefined
    return { key: `${url.origin}${url.pathname}`, addressed: ADDRESSED.exec(url.pathname) ?? undefined }
  }
  const keep = (name: string, kind: string, digest: string, reply: Reply): void => {
    const key = `${new URL(client.base).origin}/v2/${name}/${kind}/${digest}`
    if (!memo.has(key)) memo.set(key, reply)
  }

  async function request(method: string, path: string, o: RequestOptions = {}): Promise<Reply> {
    const k = keyOf(path)
    if (k?.addressed && (method === 'GET' || method === 'HEAD')) {
      const kept = memo.get(k.key)
      if (kept) return kept
    }
    const reply = await client.request(method, path, o)
    if (!k || !reply.ok) return reply
    const [, name, kind, digest] = k.addressed ?? [undefined, undefined, undefined, undefined]
    if (method === 'GET' && name && kind && digest && sha256(reply.body) === digest) {
      keep(name, kind, digest, reply)
    }
    const tag = BY_TAG.exec(new URL(path, `${client.base}/`).pathname)
    if (method === 'GET' && tag && !k.addressed) {
      // Read by tag: the bytes are kept under the digest they hash to, never under the tag.
      keep(tag[1], 'manifests', sha256(reply.body), reply)
    }
    if (method === 'PUT' && tag && o.body && reply.headers.get('docker-content-digest') === sha256(o.body)) {
      const headers = new Headers({
        'content-type': o.contentType ?? '',
        'content-length': String(o.body.length),
        'docker-content-digest': sha256(o.body)
      })
      keep(tag[1], 'manifests', sha256(o.body), { ...reply, status: 200, headers, body: o.body })
    }
    return reply
  }

  return { host: client.host, base: client.base, request }
}

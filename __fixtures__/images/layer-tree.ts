// Reads an image straight from the test registry (plain HTTP, no docker): per platform its config and
// layer digests, and the file tree of a layer blob (path, type, mode, owner, size, content hash, link
// target), so that a test compares what BuildKit pushed with what Strata assembled.
import { createHash } from 'node:crypto'
import { gunzipSync } from 'node:zlib'
import { extract } from 'tar-stream'

const ACCEPT = [
  'application/vnd.oci.image.index.v1+json',
  'application/vnd.docker.distribution.manifest.list.v2+json',
  'application/vnd.oci.image.manifest.v1+json',
  'application/vnd.docker.distribution.manifest.v2+json'
].join(', ')

export interface PlatformImage {
  platform: string
  config: { config?: Record<string, unknown>; rootfs?: { diff_ids?: string[] } } & Record<string, unknown>
  layers: string[]
  mediaType: string
}

export interface TreeEntry {
  path: string
  type: string
  mode: string
  uid: number
  gid: number
  size: number
  sha256?: string
  link?: string
}

function split(ref: string): { base: string; name: string; reference: string } {
  const slash = ref.indexOf('/')
  const host = ref.slice(0, slash)
  const rest = ref.slice(slash + 1)
  const at = rest.indexOf('@')
  const named = at >= 0 ? rest.slice(0, at) : rest
  const colon = named.lastIndexOf(':')
  const name = colon >= 0 ? named.slice(0, colon) : named
  const reference = at >= 0 ? rest.slice(at + 1) : colon >= 0 ? named.slice(colon + 1) : 'latest'
  return { base: `http://${host}/v2/${name}`, name, reference }
}

async function get(url: string): Promise<Response> {
  const res = await fetch(url, { headers: { accept: ACCEPT } })
  if (!res.ok) throw new Error(`GET ${url}: HTTP ${res.status}`)
  return res
}

/** Every platform image of `ref` (attestation manifests left out), by `os/arch`. */
export async function platformImages(ref: string): Promise<Record<string, PlatformImage>> {
  const { base, reference } = split(ref)
  const top = (await (await get(`${base}/manifests/${reference}`)).json()) as {
    mediaType: string
    manifests?: { digest: string; platform?: { os: string; architecture: string } }[]
  }
  const entries = top.manifests
    ? top.manifests.filter(m => m.platform && m.platform.os !== 'unknown')
    : [{ digest: reference, platform: undefined }]
  const out: Record<string, PlatformImage> = {}
  for (const e of entries) {
    const m = (await (await get(`${base}/manifests/${e.digest}`)).json()) as {
      mediaType: string
      config: { digest: string }
      layers: { digest: string }[]
    }
    const config = (await (await get(`${base}/blobs/${m.config.digest}`)).json()) as PlatformImage['config']
    const platform = `${String(config.os)}/${String(config.architecture)}`
    out[platform] = { platform, config, layers: m.layers.map(l => l.digest), mediaType: m.mediaType }
  }
  return out
}

/** The file tree of one gzip layer blob of `ref`'s repository, sorted by path. */
export async function layerTree(ref: string, digest: string): Promise<TreeEntry[]> {
  const { base } = split(ref)
  const gz = Buffer.from(await (await get(`${base}/blobs/${digest}`)).arrayBuffer())
  const out: TreeEntry[] = []
  const x = extract()
  x.on('entry', (h, stream, next) => {
    const hash = createHash('sha256')
    let size = 0
    stream.on('data', (chunk: unknown) => {
      const c = chunk as Buffer
      hash.update(c)
      size += c.length
    })
    stream.on('end', () => {
      out.push({
        path: h.name.replace(/\/$/, ''),
        type: h.type ?? 'file',
        mode: (h.mode ?? 0).toString(8),
        uid: h.uid ?? 0,
        gid: h.gid ?? 0,
        size,
        ...(h.type === 'file' && { sha256: hash.digest('hex') }),
        ...(h.linkname && { link: h.linkname })
      })
      next()
    })
    stream.resume()
  })
  const done = new Promise<void>((resolve, reject) => {
    x.on('finish', resolve)
    x.on('error', reject)
  })
  x.end(gunzipSync(gz))
  await done
  return out.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0))
}

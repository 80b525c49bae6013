// GHCR on the local GitHub API server (github-api-server.ts): the Packages API's container
// versions of an org or a user (paginated like GitHub: page/per_page, at most 100, Link headers),
// deleting a version, and the registry reads of ghcr.io (`/v2/.../manifests|blobs`) for the same
// images, so that the real clients run against it. The test fills the store; deletions are
// recorded; a fault can break any page of a listing.
import { createHash } from 'node:crypto'
import type { GitHubApiServer, RouteContext } from './github-api-server.js'

const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json'
const OCI_INDEX = 'application/vnd.oci.image.index.v1+json'
const sha256 = (b: Buffer): string => `sha256:${createHash('sha256').update(b).digest('hex')}`

export interface StoredVersion {
  id: number
  owner: string
  /** Package name as GitHub names it: the image path after `ghcr.io/{owner}/` (`sindri`, `sindri/app`). */
  pkg: string
  digest: string
  tags: string[]
  created: Date
}

export interface PackagesRequest {
  method: string
  path: string
  /** For version lists: which page (1-based). */
  page?: number
}

export type Fault = 'error' | 'truncated' | 'forbidden'

export interface PackagesStore {
  /** Owner name → `orgs` or `users` (an owner not here is neither: 404). */
  owners: Record<string, 'orgs' | 'users'>
  versions: StoredVersion[]
  deleted: StoredVersion[]
  /** Registry content by digest: manifests, indexes and config blobs. */
  blobs: Map<string, { type: string; body: Buffer }>
  requests: PackagesRequest[]
  fault?: (req: PackagesRequest) => Fault | undefined
  /** Pushes a layer-less image (manifest + config) under `tags`; returns its version. */
  addImage(image: string, opts: { tags: string[]; created: Date; id?: string }): StoredVersion
  /** Pushes an index over versions already added (they stay listed as untagged versions, as on GHCR). */
  addIndex(image: string, children: StoredVersion[], opts: { tags: string[]; created: Date }): StoredVersion
  /** Tags of the image still in the store, sorted. */
  tags(image: string): string[]
  /** Empties the store (versions, deletions, requests, fault) for the next test. */
  clear(): void
}

function split(image: string): { owner: string; pkg: string } {
  const m = /^ghcr\.io\/([^/]+)\/(.+)$/.exec(image)
  if (!m) throw new Error(`not a GHCR image: ${image}`)
  return { owner: m[1], pkg: m[2] }
}

export function createPackagesStore(owners: Record<string, 'orgs' | 'users'> = {}): PackagesStore {
  let nextId = 1000
  const blobs = new Map<string, { type: string; body: Buffer }>()
  const store: PackagesStore = {
    owners,
    versions: [],
    deleted: [],
    blobs,
    requests: [],
    addImage(image, opts) {
      const { owner, pkg } = split(image)
      const config = Buffer.from(
        JSON.stringify({
          architecture: 'amd64',
          os: 'linux',
          created: opts.created.toISOString(),
          config: { Labels: { 'strata.test.id': opts.id ?? `${image}:${opts.tags.join(',')}:${nextId}` } },
          rootfs: { type: 'layers', diff_ids: [] }
        })
      )
      blobs.set(sha256(config), { type: 'application/octet-stream', body: config })
      const manifest = Buffer.from(
        JSON.stringify({
          schemaVersion: 2,
          mediaType: OCI_MANIFEST,
          config: {
            mediaType: 'application/vnd.oci.image.config.v1+json',
            digest: sha256(config),
            size: config.length
          },
          layers: []
        })
      )
      return add(owner, pkg, manifest, OCI_MANIFEST, opts.tags, opts.created)
    },
    addIndex(image, children, opts) {
      const { owner, pkg } = split(image)
      const index = Buffer.from(
        JSON.stringify({
          schemaVersion: 2,
          mediaType: OCI_INDEX,
          manifests: children.map((c, i) => ({
            mediaType: OCI_MANIFEST,
            digest: c.digest,
            size: blobs.get(c.digest)?.body.length ?? 0,
            platform: { architecture: i === 0 ? 'amd64' : 'arm64', os: 'linux' }
          }))
        })
      )
      return add(owner, pkg, index, OCI_INDEX, opts.tags, opts.created)
    },
    clear() {
      store.versions = []
      store.deleted = []
      store.requests = []
      store.fault = undefined
      blobs.clear()
    },
    tags(image) {
      const { owner, pkg } = split(image)
      return store.versions
        .filter(v => v.owner === owner && v.pkg === pkg)
        .flatMap(v => v.tags)
        .sort()
    }
  }

  function add(owner: string, pkg: string, body: Buffer, type: string, tags: string[], created: Date) {
    const digest = sha256(body)
    blobs.set(digest, { type, body })
    // A tag moves: it leaves whichever version had it.
    for (const v of store.versions)
      if (v.owner === owner && v.pkg === pkg) v.tags = v.tags.filter(t => !tags.includes(t))
    const version: StoredVersion = { id: nextId++, owner, pkg, digest, tags: [...tags], created }
    store.versions.push(version)
    return version
  }
  return store
}

const notFound = (ctx: RouteContext): void =>
  ctx.send(404, {
    message: 'Not Found',
    documentation_url: 'https://docs.github.com/rest/packages/packages',
    status: '404'
  })

function apiVersion(v: StoredVersion, base: string, kind: string): unknown {
  const pkg = encodeURIComponent(v.pkg)
  return {
    id: v.id,
    name: v.digest,
    url: `${base}/${kind}/${v.owner}/packages/container/${pkg}/versions/${v.id}`,
    package_html_url: `https://github.com/${kind === 'orgs' ? 'orgs/' : ''}${v.owner}/packages/container/package/${pkg}`,
    created_at: v.created.toISOString(),
    updated_at: v.created.toISOString(),
    html_url: `https://github.com/${kind === 'orgs' ? 'orgs/' : ''}${v.owner}/packages/container/${pkg}/${v.id}`,
    metadata: { package_type: 'container', container: { tags: v.tags } }
  }
}

/** Adds the Packages API and the ghcr.io registry reads to the server (its paths come decoded). */
export function addPackagesRoutes(server: Pick<GitHubApiServer, 'route'>, store: PackagesStore): void {
  const versionsOf = (kind: string, owner: string, pkg: string): StoredVersion[] | undefined => {
    if (store.owners[owner] !== kind) return undefined
    const mine = store.versions.filter(v => v.owner === owner && v.pkg === pkg)
    return mine.length > 0 ? mine : undefined
  }

  server.route('GET', /^\/(orgs|users)\/([^/]+)\/packages\/container\/(.+)\/versions$/, ctx => {
    const [, kind, owner, pkg] = ctx.match
    const page = Math.max(Number(ctx.url.searchParams.get('page')) || 1, 1)
    const entry: PackagesRequest = { method: 'GET', path: ctx.url.pathname + ctx.url.search, page }
    store.requests.push(entry)
    const all = versionsOf(kind, owner, pkg)
    if (!all) return notFound(ctx)
    const fault = store.fault?.(entry)
    if (fault === 'error') return ctx.send(500, { message: 'Server Error' })
    if (fault === 'forbidden') return ctx.send(403, { message: 'Resource not accessible by integration' })
    // Newest first, as GitHub lists them; ctx.paginate sets the Link header.
    const sorted = [...all].sort((a, b) => b.created.getTime() - a.created.getTime() || b.id - a.id)
    const body = JSON.stringify(ctx.paginate(sorted).map(v => apiVersion(v, ctx.url.origin, kind)))
    ctx.res
      .writeHead(200, { 'content-type': 'application/json; charset=utf-8' })
      .end(fault === 'truncated' ? body.slice(0, body.length / 2) : body)
  })

  server.route('DELETE', /^\/(orgs|users)\/([^/]+)\/packages\/container\/(.+)\/versions\/(\d+)$/, ctx => {
    const [, kind, owner, pkg, id] = ctx.match
    const entry: PackagesRequest = { method: 'DELETE', path: ctx.url.pathname }
    store.requests.push(entry)
    const fault = store.fault?.(entry)
    if (fault === 'forbidden') return ctx.send(403, { message: 'Resource not accessible by integration' })
    if (fault) return ctx.send(500, { message: 'Server Error' })
    const v = versionsOf(kind, owner, pkg)?.find(x => x.id === Number(id))
    if (!v) return notFound(ctx)
    store.versions = store.versions.filter(x => x !== v)
    store.deleted.push(v)
    ctx.res.writeHead(204).end()
  })

  // ghcr.io's registry API for the same images: manifests by digest or tag, config blobs.
  server.route('GET', /^\/v2\/([^/]+)\/(.+)\/(manifests|blobs)\/([^/]+)$/, ctx => {
    const [, owner, pkg, what, ref] = ctx.match
    store.requests.push({ method: 'GET', path: ctx.url.pathname })
    const v = store.versions.find(
      x => x.owner === owner && x.pkg === pkg && (x.digest === ref || x.tags.includes(ref))
    )
    const digest = what === 'manifests' ? v?.digest : ref
    const blob = digest ? store.blobs.get(digest) : undefined
    if (!digest || !blob) {
      return ctx.send(404, { errors: [{ code: what === 'manifests' ? 'MANIFEST_UNKNOWN' : 'BLOB_UNKNOWN' }] })
    }
    ctx.res.writeHead(200, { 'content-type': blob.type, 'docker-content-digest': digest }).end(blob.body)
  })
}

// GHCR through the GitHub Packages API, for mode: cleanup: every version of a container package
// (a version is one digest, with its tags and creation time) and delete a version. The registry's
// own API cannot delete on ghcr.io; this one can, with a token that has `packages: write`.
import type { getOctokit } from '@actions/github'

export interface PackageVersion {
  id: number
  /** The version's name: its manifest digest, `sha256:…`. */
  digest: string
  tags: string[]
  created?: Date
}

export interface GhcrPackages {
  /** `orgs` or `users`, known after the first listing. */
  readonly owner: { kind?: 'orgs' | 'users'; name: string }
  /** Every version, all pages. Throws when a page fails or is malformed: a partial list is never returned. */
  listVersions(): Promise<PackageVersion[]>
  /** Deletes one version (a digest and every tag on it). A version already gone counts as deleted. */
  deleteVersion(id: number): Promise<void>
}

export interface GhcrPackagesOptions {
  /** `ghcr.io/{owner}/{path…}`. */
  image: string
  token: string
  /** Default `GITHUB_API_URL`, else https://api.github.com. */
  apiUrl?: string
  /** Base of the retry back-off, in ms (Octokit's default 1000; tests use less). */
  retryAfterBaseMs?: number
  /**
   * Octokit's throttling: waits out rate limits and spaces deletes one second apart, as GitHub
   * asks of clients that make many writes. Default on; tests of many deletes turn it off.
   */
  throttle?: boolean
}

/** `ghcr.io/acme/sindri/app` → owner `acme`, package `sindri%2Fapp` (the API wants the path URL-encoded). */
export function ghcrPackage(image: string): { owner: string; packageName: string } {
  const m = /^ghcr\.io\/([^/]+)\/(.+)$/.exec(image.toLowerCase())
  if (!m) throw new Error(`${image} is not a GHCR image (ghcr.io/<owner>/<name>)`)
  return { owner: m[1], packageName: m[2] }
}

type Octokit = ReturnType<typeof getOctokit>

interface ApiVersion {
  id?: unknown
  name?: unknown
  created_at?: unknown
  metadata?: { container?: { tags?: unknown } }
}

/** One package's client: its Octokit (loaded on the first request), the API paths, the owner's kind. */
interface Pkg {
  image: string
  baseUrl: string
  octokit: () => Promise<Octokit>
  /** The versions path of the package under `orgs` or `users`. */
  path: (kind: 'orgs' | 'users') => string
  state: GhcrPackages['owner']
}

export function createGhcrPackages(opts: GhcrPackagesOptions): GhcrPackages {
  const { owner, packageName } = ghcrPackage(opts.image)
  const baseUrl = (opts.apiUrl ?? process.env.GITHUB_API_URL ?? 'https://api.github.com').replace(/\/+$/, '')
  // Octokit loads on the first request (mode cleanup only), not when the action starts.
  let client: Promise<Octokit> | undefined
  const pkg = encodeURIComponent(packageName)
  const p: Pkg = {
    image: opts.image,
    baseUrl,
    octokit: () => (client ??= createOctokit(opts, baseUrl)),
    path: kind => `/${kind}/${owner}/packages/container/${pkg}/versions`,
    state: { name: owner }
  }
  return { owner: p.state, listVersions: () => listVersions(p), deleteVersion: id => deleteVersion(p, id) }
}

/** Octokit with retries and GitHub's throttling (rate limits waited out twice, deletes spaced). */
async function createOctokit(opts: GhcrPackagesOptions, baseUrl: string): Promise<Octokit> {
  const [{ getOctokit }, { retry }, { throttling }] = await Promise.all([
    import('@actions/github'),
    import('@octokit/plugin-retry'),
    import('@octokit/plugin-throttling')
  ])
  return getOctokit(
    opts.token,
    {
      baseUrl,
      retry: { retryAfterBaseValue: opts.retryAfterBaseMs ?? 1000 },
      throttle: {
        enabled: opts.throttle ?? true,
        // Bottleneck groups are shared by every client of the process, keyed by id.
        id: `strata-ghcr-${Math.random().toString(36).slice(2)}`,
        // Wait out a rate limit twice, then give up: nothing loops forever.
        onRateLimit: (_after: number, _o: unknown, _k: unknown, count: number) => count < 2,
        onSecondaryRateLimit: (_after: number, _o: unknown, _k: unknown, count: number) => count < 2
      }
    },
    retry,
    throttling
  )
}

/** Every page of the versions list under `kind`, following Link headers; a repeated page is an error. */
async function listFrom(p: Pkg, kind: 'orgs' | 'users'): Promise<ApiVersion[]> {
  const seen = new Set<string>()
  const out: ApiVersion[] = []
  let url: string | undefined = `${p.baseUrl}${p.path(kind)}?per_page=100&state=active`
  for (let page = 1; url; page++) {
    if (seen.has(url)) throw new Error(`listing versions of ${p.image}: page ${page} repeats ${url}`)
    seen.add(url)
    const res = await (await p.octokit()).request({ method: 'GET', url })
    if (!Array.isArray(res.data)) {
      throw new Error(`listing versions of ${p.image}: page ${page} is not a list of versions`)
    }
    out.push(...(res.data as ApiVersion[]))
    url = nextLink(res.headers.link)
  }
  return out
}

async function listVersions(p: Pkg): Promise<PackageVersion[]> {
  let raw: ApiVersion[]
  try {
    if (p.state.kind) raw = await listFrom(p, p.state.kind)
    else {
      // An org's package, else a user's: the org path answers 404 for a user.
      try {
        raw = await listFrom(p, 'orgs')
        p.state.kind = 'orgs'
      } catch (e) {
        if (status(e) !== 404) throw e
        raw = await listFrom(p, 'users')
        p.state.kind = 'users'
      }
    }
  } catch (e) {
    throw new Error(explain(e, `listing versions of ${p.image}`))
  }
  const ids = new Set<number>()
  return raw.map((v, i) => {
    const version = checkedVersion(p.image, v, i)
    if (ids.has(version.id))
      throw new Error(`listing versions of ${p.image}: version ${version.id} is listed twice`)
    ids.add(version.id)
    return version
  })
}

/** One listed version, checked: an id, a digest, a tag list; a creation time when it reads as one. */
function checkedVersion(image: string, v: ApiVersion, i: number): PackageVersion {
  const tags = v.metadata?.container?.tags
  if (
    typeof v.id !== 'number' ||
    typeof v.name !== 'string' ||
    !v.name.startsWith('sha256:') ||
    !Array.isArray(tags) ||
    !tags.every(t => typeof t === 'string')
  ) {
    throw new Error(
      `listing versions of ${image}: version ${i + 1} (${JSON.stringify(v).slice(0, 120)}) has no id, digest or tag list`
    )
  }
  const created = typeof v.created_at === 'string' ? new Date(v.created_at) : undefined
  const out: PackageVersion = { id: v.id, digest: v.name, tags: tags as string[] }
  if (created && !Number.isNaN(created.getTime())) out.created = created
  return out
}

async function deleteVersion(p: Pkg, id: number): Promise<void> {
  const kind = p.state.kind
  if (!kind) throw new Error(`deleting a version of ${p.image}: list the versions first`)
  try {
    await (await p.octokit()).request({ method: 'DELETE', url: `${p.baseUrl}${p.path(kind)}/${id}` })
  } catch (e) {
    if (status(e) === 404) return // already gone: what we wanted
    throw new Error(explain(e, `deleting version ${id} of ${p.image}`))
  }
}

const status = (e: unknown): number | undefined =>
  typeof (e as { status?: unknown })?.status === 'number' ? (e as { status: number }).status : undefined

function explain(e: unknown, what: string): string {
  const s = status(e)
  const hint =
    s === 401 || s === 403
      ? ': the token lacks permission (the workflow needs `permissions: packages: write`, and the package must grant this repository Admin access to delete)'
      : s === 404
        ? ': no such package for the org or the user, or the token cannot see it (`permissions: packages: read`)'
        : ''
  return `${what}: ${s ? `HTTP ${s}` : (e as Error).message}${hint}`
}

function nextLink(header: string | undefined): string | undefined {
  for (const part of (header ?? '').split(',')) {
    const m = /<([^>]*)>\s*;.*rel="?next"?/.exec(part)
    if (m) return m[1]
  }
  return undefined
}

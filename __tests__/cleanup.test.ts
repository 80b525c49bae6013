// mode: cleanup on GHCR: the GitHub Packages API back end (the real Octokit client) against the
// local GitHub API server, which also answers ghcr.io's registry reads and the PR states.
import { createGhcrPackages, ghcrPackage } from '../src/adapters/ghcr-packages.js'
import { createGitHub } from '../src/adapters/github.js'
import { createOciRegistry } from '../src/adapters/oci-registry.js'
import {
  renderCleanupSummary,
  runCleanup,
  type CleanupDeps,
  type CleanupOptions
} from '../src/cleanup/cleanup.js'
import {
  addPackagesRoutes,
  createPackagesStore,
  type PackagesStore,
  type StoredVersion
} from '../__fixtures__/ghcr-packages-api.js'
import { makeRepo, startGitHubApiServer, type GitHubApiServer } from '../__fixtures__/github-api-server.js'
import { cleanupLog } from '../__fixtures__/log.js'
import { seedConfig } from '../__fixtures__/retention.js'

const NOW = new Date('2026-11-22T12:00:00Z')
const TOKEN = 'ghs_test'
const daysAgo = (n: number): Date => new Date(NOW.getTime() - n * 86_400_000)

let api: GitHubApiServer
let store: PackagesStore
let cleanupRepo: () => void

beforeAll(async () => {
  const r = makeRepo()
  cleanupRepo = r.cleanup
  // No server-wide token: the registry reads of ghcr.io answer without one here.
  api = await startGitHubApiServer({ repoDir: r.dir })
  store = createPackagesStore({ acme: 'orgs', octo: 'users' })
  addPackagesRoutes(api, store)
  for (const [number, state] of [
    [31, 'merged'],
    [32, 'open'],
    [41, 'closed']
  ] as const) {
    await api.addPull({
      number,
      baseRef: 'main',
      headSha: r.sha,
      state: state === 'open' ? 'open' : 'closed',
      merged: state === 'merged'
    })
  }
})
afterAll(async () => {
  await api.close()
  cleanupRepo()
})

beforeEach(() => {
  store.clear()
  api.reset()
})

const opts = (extra: Partial<CleanupOptions> = {}): CleanupOptions => ({
  dryRun: false,
  maxDeletions: 500,
  token: TOKEN,
  apiUrl: api.url,
  repository: 'acme/sindri',
  now: NOW,
  ...extra
})

// The real clients, pointed at the local server, with short retry back-offs; `throttle: false` drops
// GitHub's one-second spacing of deletes for tests that delete hundreds.
const deps = (throttle = false): CleanupDeps => ({
  ghcr: image => createGhcrPackages({ image, token: TOKEN, apiUrl: api.url, retryAfterBaseMs: 1, throttle }),
  ghcrManifests: image =>
    createOciRegistry({
      image,
      url: api.url,
      credentials: { username: ghcrPackage(image).owner, password: TOKEN }
    }),
  pulls: createGitHub({ token: TOKEN, apiUrl: api.url })
})

/** An org package of 214 versions (3 pages): layers, a multi-platform index, PRs, 200 untagged orphans. */
function fillOrg(): Record<string, StoredVersion> {
  const img = 'ghcr.io/acme/sindri'
  const v: Record<string, StoredVersion> = {}
  v.base = store.addImage(img, { tags: ['base-stable', 'base-aaaaaa1'], created: daysAgo(1) })
  v.base2 = store.addImage(img, { tags: ['base-aaaaaa2'], created: daysAgo(30) })
  v.tooling = store.addImage(img, { tags: ['tooling-stable', 'tooling-ccccc01'], created: daysAgo(1) })
  for (const n of [2, 3, 4])
    v[`tooling${n}`] = store.addImage(img, { tags: [`tooling-ccccc0${n}`], created: daysAgo(n) })
  // latest: a two-platform index; GHCR lists its platform images as untagged versions.
  v.amd = store.addImage(img, { tags: [], created: daysAgo(0.5) })
  v.arm = store.addImage(img, { tags: [], created: daysAgo(0.5) })
  v.latest = store.addIndex(img, [v.amd, v.arm], { tags: ['latest', 'main-eeeee01'], created: daysAgo(0.5) })
  // A merged PR's index: it goes, and its platform images with it.
  v.prAmd = store.addImage(img, { tags: [], created: daysAgo(2) })
  v.prArm = store.addImage(img, { tags: [], created: daysAgo(2) })
  v.pr31 = store.addIndex(img, [v.prAmd, v.prArm], { tags: ['pr-31', 'pr-31-fffff01'], created: daysAgo(2) })
  v.pr32 = store.addImage(img, { tags: ['pr-32'], created: daysAgo(1) })
  v.main2 = store.addImage(img, { tags: ['main-eeeee02'], created: daysAgo(5) })
  for (let i = 0; i < 200; i++) store.addImage(img, { tags: [], created: daysAgo(3 + i / 1000) })
  return v
}

test('deletes what the policy says through the Packages API, all pages read, index platforms kept', async () => {
  const v = fillOrg()
  const log = cleanupLog()
  const result = await runCleanup(seedConfig('ghcr.io/acme/sindri'), opts(), log, deps())

  const gone = new Set(store.deleted.map(d => d.id))
  expect(gone.size).toBe(204)
  for (const k of ['tooling4', 'pr31', 'prAmd', 'prArm']) expect(gone).toContain(v[k].id)
  // The platform images of the kept index stay, and so does everything else tagged.
  for (const k of [
    'amd',
    'arm',
    'latest',
    'base',
    'base2',
    'tooling',
    'tooling2',
    'tooling3',
    'pr32',
    'main2'
  ])
    expect(gone).not.toContain(v[k].id)
  expect(store.versions).toHaveLength(10)
  expect(result.images[0]).toMatchObject({ backend: 'packages', capped: 0 })
  expect(result.images[0].rows.find(r => r.digest === v.amd.digest)?.rule).toMatch(
    /^referenced by kept index /
  )
  expect(log.lines).toContain(`deleted ghcr.io/acme/sindri:pr-31 ${v.pr31.digest} (pr: PR #31 merged)`)
  expect(log.lines).toContain(
    `deleted ghcr.io/acme/sindri:<untagged> ${v.prAmd.digest} (untagged: older than 0 days)`
  )

  // Listing: org path, 100 a page, every page, with the token.
  const lists = api.requests.filter(r => r.method === 'GET' && /\/versions$/.test(r.path))
  expect(lists.map(r => [r.path, r.query.page ?? '1', r.query.per_page])).toEqual([
    ['/orgs/acme/packages/container/sindri/versions', '1', '100'],
    ['/orgs/acme/packages/container/sindri/versions', '2', '100'],
    ['/orgs/acme/packages/container/sindri/versions', '3', '100']
  ])
  expect(lists.every(r => r.authorization === `token ${TOKEN}`)).toBe(true)
  expect(api.requests.filter(r => r.method === 'DELETE')[0].path).toMatch(
    /^\/orgs\/acme\/packages\/container\/sindri\/versions\/\d+$/
  )
  const summary = renderCleanupSummary(result)
  expect(summary).toContain('204 digests deleted (205 tags), 13 tags kept; max-deletions 500.')
  expect(summary).toContain(
    '| ghcr.io/acme/sindri | (untagged) | 202 digests | untagged | - | - | deleted | untagged: older than 0 days |'
  )
  expect(summary).toContain(
    `| ghcr.io/acme/sindri | (untagged) | 2 digests | untagged | - | - | kept | referenced by kept index ${v.latest.digest.slice(7, 19)} |`
  )
})

test("a user's package (nested name, URL-encoded) after the org path answers 404", async () => {
  const img = 'ghcr.io/octo/tools/app'
  const keep = store.addImage(img, { tags: ['latest', 'main-1234567'], created: daysAgo(1) })
  const closed = store.addImage(img, { tags: ['pr-41', 'pr-41-abcdef0'], created: daysAgo(1) })
  const base = store.addImage(img, { tags: ['base-pr-41-abcdef0'], created: daysAgo(1) })
  const result = await runCleanup(seedConfig(img), opts(), cleanupLog(), deps(true))
  expect(store.deleted.map(d => d.id).sort()).toEqual([closed.id, base.id].sort())
  expect(store.versions.map(d => d.id)).toEqual([keep.id])
  expect(result.errors).toEqual([])
  const paths = api.requests.filter(r => r.path.includes('/packages/')).map(r => `${r.method} ${r.path}`)
  expect(paths[0]).toBe('GET /orgs/octo/packages/container/tools%2Fapp/versions')
  expect(paths[1]).toBe('GET /users/octo/packages/container/tools%2Fapp/versions')
  expect(
    paths
      .slice(2)
      .every(p => /^DELETE \/users\/octo\/packages\/container\/tools%2Fapp\/versions\/\d+$/.test(p))
  ).toBe(true)
})

test.each([
  [
    'HTTP 500 (after the retries)',
    'error' as const,
    /listing versions of ghcr\.io\/acme\/sindri: HTTP 500/,
    4
  ],
  [
    'a page cut off',
    'truncated' as const,
    /listing versions of ghcr\.io\/acme\/sindri: page 2 is not a list/,
    1
  ]
])('a listing that fails midway (%s) deletes nothing', async (_n, fault, message, page2) => {
  fillOrg()
  store.fault = r => (r.method === 'GET' && r.page === 2 ? fault : undefined)
  await expect(runCleanup(seedConfig('ghcr.io/acme/sindri'), opts(), cleanupLog(), deps())).rejects.toThrow(
    message
  )
  expect(store.deleted).toEqual([])
  expect(api.requests.filter(r => r.method === 'DELETE')).toEqual([])
  expect(store.requests.filter(r => r.page === 2)).toHaveLength(page2)
  expect(store.requests.some(r => r.page === 3)).toBe(false)
})

test('the cap holds on GHCR, oldest first', async () => {
  const v = fillOrg()
  const log = cleanupLog()
  const result = await runCleanup(seedConfig('ghcr.io/acme/sindri'), opts({ maxDeletions: 3 }), log, deps())
  expect(store.deleted).toHaveLength(3)
  // The oldest due: tooling-ccccc04 (4 days), then the oldest orphans (3.199 days…).
  expect(store.deleted[0].id).toBe(v.tooling4.id)
  expect(result.images[0].capped).toBe(201)
  expect(log.warnings).toEqual([expect.stringContaining('the cap stopped the cleanup: 201 more digests')])
})

test('a refused delete stops the run and is reported', async () => {
  fillOrg()
  store.fault = r => (r.method === 'DELETE' ? 'forbidden' : undefined)
  const result = await runCleanup(seedConfig('ghcr.io/acme/sindri'), opts(), cleanupLog(), deps())
  expect(api.requests.filter(r => r.method === 'DELETE')).toHaveLength(1)
  expect(result.errors).toEqual([
    expect.stringMatching(
      /^deleting ghcr\.io\/acme\/sindri@sha256:[0-9a-f]{64} failed: deleting version \d+ of ghcr\.io\/acme\/sindri: HTTP 403: the token lacks permission .*packages: write/
    )
  ])
  const statuses = new Set(result.images[0].rows.map(r => r.status))
  expect([...statuses].sort()).toEqual(['failed', 'kept', 'not reached'])
  expect(store.versions).toHaveLength(214)
})

test('dry-run on GHCR lists and decides, and deletes nothing', async () => {
  fillOrg()
  const result = await runCleanup(
    seedConfig('ghcr.io/acme/sindri'),
    opts({ dryRun: true }),
    cleanupLog(),
    deps()
  )
  expect(result.images[0].deleted).toHaveLength(204)
  expect(store.deleted).toEqual([])
  expect(api.requests.filter(r => r.method === 'DELETE')).toEqual([])
})

test('without a retention section, cleanup says what to add', async () => {
  const cfg = { ...seedConfig('ghcr.io/acme/sindri'), retention: undefined }
  await expect(runCleanup(cfg, opts(), cleanupLog(), deps())).rejects.toThrow(
    '.github/strata.yml has no `retention:` section: mode cleanup has no rules to apply'
  )
})

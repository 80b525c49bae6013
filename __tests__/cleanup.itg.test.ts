// mode: cleanup against the real registries of scripts/stack.sh: 127.0.0.1:5000 (delete enabled)
// and 127.0.0.1:5001 (htpasswd strata / strata-test, read through a DOCKER_CONFIG as
// docker/login-action leaves it), with PR states from the local GitHub API server.
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import {
  renderCleanupSummary,
  runCleanup,
  type CleanupOptions,
  type CleanupResult
} from '../src/cleanup/cleanup.js'
import type { Logger, StrataConfig } from '../src/core/types.js'
import { cleanupClients } from '../src/wiring.js'
import { makeRepo, startGitHubApiServer, type GitHubApiServer } from '../__fixtures__/github-api-server.js'
import { cleanupLog } from '../__fixtures__/log.js'
import { seedConfig } from '../__fixtures__/retention.js'
import {
  pushTestImage,
  registryTags,
  startRegistryProxy,
  type Credentials,
  type RegistryProxy
} from '../__fixtures__/registry-proxy.js'

/** runCleanup() with the clients the action's wiring makes from the same options. */
const runWired = (config: StrataConfig, o: CleanupOptions, log: Logger): Promise<CleanupResult> =>
  runCleanup(config, o, log, cleanupClients(o))

const OPEN = { url: 'http://127.0.0.1:5000', host: '127.0.0.1:5000' }
const AUTH = { url: 'http://127.0.0.1:5001', host: '127.0.0.1:5001' }
const USER: Credentials = { username: 'strata', password: 'strata-test' }
const NOW = new Date('2026-11-22T12:00:00Z')
const daysAgo = (n: number): Date => new Date(NOW.getTime() - n * 86_400_000)
const repo = (): string =>
  `strata-test/cleanup-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 8)}`

/** One image a line: its tags and its age in days. 52 tags across layers, PRs and branches. */
const FIXTURE: [tags: string[], age: number][] = [
  // base: versions kept forever; a merged PR's image goes
  [['base-stable', 'base-aaaaaa1'], 1],
  [['base-aaaaaa2'], 10],
  [['base-aaaaaa3'], 20],
  [['base-aaaaaa4'], 30],
  [['base-aaaaaa5'], 40],
  [['base-pr-11-bbbbbb1'], 2.1],
  // tooling: the newest 3 versions; PR images by state
  [['tooling-stable', 'tooling-ccccc01'], 1.1],
  [['tooling-ccccc02'], 2.2],
  [['tooling-ccccc03'], 3],
  [['tooling-ccccc04'], 4],
  [['tooling-ccccc05'], 5],
  [['tooling-ccccc06'], 6],
  [['tooling-pr-12-ddddd01'], 1.2],
  [['tooling-pr-13-ddddd02'], 1.3],
  [['cache-tooling'], 0.5],
  [['tooling-debug'], 50],
  // app: latest, versions, PRs, branches, releases
  [['latest', 'main-eeeee01', 'pr-28-fffff08'], 0.4],
  [['main-eeeee02'], 9],
  [['main-eeeee03'], 19],
  [['main-eeeee04'], 29],
  [['main-eeeee05'], 39],
  [['pr-21', 'pr-21-fffff01'], 1.4],
  [['pr-22', 'pr-22-fffff02'], 2.3],
  [['pr-23', 'pr-23-fffff03'], 1.5],
  [['pr-24', 'pr-24-fffff04'], 10.5],
  [['pr-25-fffff05'], 8],
  [['pr-26'], 3.1],
  [['pr-27', 'pr-27-fffff07', 'main-eeeee06'], 2.4],
  ...Array.from({ length: 12 }, (_, i): [string[], number] => [
    [`feature-${String(i + 1).padStart(2, '0')}`],
    11 + i / 10
  ]),
  [['1.2.3', '1.2'], 60]
]
const ALL_TAGS = FIXTURE.flatMap(([tags]) => tags).sort()

const PRS: [number, 'open' | 'closed' | 'merged'][] = [
  [11, 'merged'],
  [12, 'open'],
  [13, 'closed'],
  [21, 'open'],
  [22, 'merged'],
  [23, 'closed'],
  [24, 'open'],
  [25, 'open'],
  [27, 'merged'],
  [28, 'merged']
  // #26 is unknown to the API: it counts as open.
]

// Exactly what the seed's policy deletes from FIXTURE.
const EXPECTED_DELETED = [
  'base-pr-11-bbbbbb1', // PR merged
  'tooling-ccccc04', // beyond the newest 3
  'tooling-ccccc05',
  'tooling-ccccc06',
  'tooling-pr-13-ddddd02', // PR closed
  'pr-22', // PR merged
  'pr-22-fffff02',
  'pr-23', // PR closed
  'pr-23-fffff03',
  'pr-24', // open, older than 7 days
  'pr-24-fffff04',
  'pr-25-fffff05', // open, older than 7 days
  'feature-11', // beyond the newest 10 branches
  'feature-12'
].sort()

let api: GitHubApiServer
let cleanupRepo: () => void
let work: string
const proxies: RegistryProxy[] = []

beforeAll(async () => {
  const r = makeRepo()
  cleanupRepo = r.cleanup
  api = await startGitHubApiServer({ repoDir: r.dir, token: 'ghs_test' })
  for (const [number, state] of PRS) {
    await api.addPull({
      number,
      baseRef: 'main',
      headSha: r.sha,
      state: state === 'open' ? 'open' : 'closed',
      merged: state === 'merged'
    })
  }
  work = await mkdtemp(join(tmpdir(), 'strata-cleanup-'))
})

afterAll(async () => {
  await Promise.all(proxies.map(p => p.close()))
  await api.close()
  cleanupRepo()
  await rm(work, { recursive: true, force: true })
})

async function pushFixture(registry: string, name: string, auth?: Credentials): Promise<Map<string, string>> {
  const digests = new Map<string, string>()
  for (const [i, [tags, age]] of FIXTURE.entries()) {
    const { digest } = await pushTestImage(registry, name, {
      created: daysAgo(age),
      id: `img-${i}`,
      tags,
      auth
    })
    for (const t of tags) digests.set(t, digest)
  }
  return digests
}

const opts = (extra: Partial<CleanupOptions> = {}): CleanupOptions => ({
  dryRun: false,
  maxDeletions: 50,
  token: 'ghs_test',
  apiUrl: api.url,
  repository: 'acme/sindri',
  now: NOW,
  ...extra
})

async function dockerConfig(host: string, c: Credentials): Promise<string> {
  const dir = await mkdtemp(join(work, 'docker-'))
  const auth = Buffer.from(`${c.username}:${c.password}`).toString('base64')
  await writeFile(join(dir, 'config.json'), JSON.stringify({ auths: { [host]: { auth } } }, null, '\t'))
  return dir
}

describe.each([
  ['the open registry', OPEN, undefined],
  ['the htpasswd registry, credentials from DOCKER_CONFIG', AUTH, USER]
])('on %s', (_name, reg, auth) => {
  const saved = process.env.DOCKER_CONFIG
  afterEach(() => {
    if (saved === undefined) delete process.env.DOCKER_CONFIG
    else process.env.DOCKER_CONFIG = saved
  })

  test("the seed's policy deletes exactly the expected tags; shared digests survive", async () => {
    const name = repo()
    const digests = await pushFixture(reg.url, name, auth)
    expect(ALL_TAGS).toHaveLength(52)
    // As docker/login-action leaves it: DOCKER_CONFIG names the directory of config.json.
    if (auth) process.env.DOCKER_CONFIG = await dockerConfig(reg.host, auth)
    const log = cleanupLog()
    const result = await runWired(seedConfig(`${reg.host}/${name}`), opts(), log)

    const left = await registryTags(reg.url, name, auth)
    expect(ALL_TAGS.filter(t => !left.includes(t))).toEqual(EXPECTED_DELETED)
    expect(left).toEqual(ALL_TAGS.filter(t => !EXPECTED_DELETED.includes(t)))

    // A merged PR's tags on the digest of a kept tag (main-eeeee06, latest) survive, and say why.
    for (const t of ['pr-27', 'pr-27-fffff07', 'main-eeeee06', 'pr-28-fffff08', 'latest'])
      expect(left).toContain(t)
    const rows = result.images[0].rows
    expect(rows.find(r => r.tag === 'pr-27')?.rule).toBe(
      'shares its digest with kept tag main-eeeee06 (else pr: PR #27 merged)'
    )
    expect(rows.find(r => r.tag === 'pr-28-fffff08')?.rule).toBe(
      'shares its digest with kept tag latest (else pr: PR #28 merged)'
    )
    expect(rows.find(r => r.tag === 'pr-26')).toMatchObject({ action: 'keep', status: 'kept' })

    // Every deletion logged with tag, digest and rule.
    expect(log.lines).toContain(
      `deleted ${reg.host}/${name}:pr-22 ${digests.get('pr-22')} (pr: PR #22 merged)`
    )
    expect(log.lines).toContain(
      `deleted ${reg.host}/${name}:tooling-ccccc04 ${digests.get('tooling-ccccc04')} (versioned: beyond the newest 3)`
    )
    expect(log.lines.filter(l => l.startsWith('deleted '))).toHaveLength(EXPECTED_DELETED.length)
    expect(result.images[0].deleted).toHaveLength(11)
    expect(result.errors).toEqual([])
    // PR #26 is unknown to the API: one warning, and it counts as open.
    expect(log.warnings).toEqual([
      'cleanup: the state of PR #26 could not be read from the GitHub API: those PR images count as open'
    ])

    const summary = renderCleanupSummary(result)
    expect(summary).toContain('11 digests deleted (14 tags), 38 tags kept; max-deletions 50.')
    expect(summary).toContain(
      `| ${reg.host}/${name} | pr-23-fffff03 | \`${digests.get('pr-23')!.slice(7, 19)}\` | pr | app | 2026-11-21 | deleted | pr: PR #23 closed |`
    )
  })
})

test('dry-run prints the decision table and deletes nothing', async () => {
  const name = repo()
  await pushFixture(OPEN.url, name)
  const log = cleanupLog()
  const result = await runWired(seedConfig(`${OPEN.host}/${name}`), opts({ dryRun: true }), log)
  expect(await registryTags(OPEN.url, name)).toEqual(ALL_TAGS)
  const would = result.images[0].rows.filter(r => r.status === 'would delete').map(r => r.tag)
  expect(would.sort()).toEqual(EXPECTED_DELETED)
  expect(log.lines[0]).toMatch(/^action +tag +digest +kind +layer +created +rule$/)
  expect(log.lines).toContainEqual(
    expect.stringMatching(/^delete +pr-22 +[0-9a-f]{12} +pr +app +2026-11-20 +pr: PR #22 merged$/)
  )
  expect(log.lines.some(l => l.startsWith('deleted '))).toBe(false)
  expect(renderCleanupSummary(result)).toContain('## Strata cleanup (dry-run: nothing deleted)')
})

test('a listing that fails midway deletes nothing, in any repository', async () => {
  const healthy = repo()
  const broken = repo()
  await pushFixture(OPEN.url, healthy)
  await pushFixture(OPEN.url, broken)
  // The broken repository's tag list fails on page 3 of 6 (after the client's retries).
  const proxy = await startRegistryProxy({
    upstream: OPEN.url,
    pageSize: 10,
    fault: r => (r.page === 3 ? 'error' : undefined)
  })
  proxies.push(proxy)
  const config = seedConfig(`${OPEN.host}/${healthy}`)
  // base and tooling in the healthy repository, app behind the failing proxy.
  config.layers = config.layers.map(l => (l.name === 'app' ? { ...l, image: `${proxy.host}/${broken}` } : l))
  const log = cleanupLog()
  await expect(runWired(config, opts(), log)).rejects.toThrow(
    new RegExp(
      `^cleanup stopped before deleting anything: a listing failed or came back incomplete\\.\\n` +
        `${proxy.host}/${broken}: listing tags of ${proxy.host}/${broken} \\(page 3\\): HTTP 500`
    )
  )
  expect(await registryTags(OPEN.url, healthy)).toEqual(ALL_TAGS)
  expect(await registryTags(OPEN.url, broken)).toEqual(ALL_TAGS)
  expect(proxy.requests.filter(r => r.method === 'DELETE')).toEqual([])
  expect(proxy.requests.filter(r => r.page !== undefined).map(r => r.page)).toEqual([1, 2, 3, 3, 3])

  // A page cut off mid-JSON is incomplete too.
  const cut = await startRegistryProxy({
    upstream: OPEN.url,
    pageSize: 10,
    fault: r => (r.page === 2 ? 'truncated' : undefined)
  })
  proxies.push(cut)
  await expect(runWired(seedConfig(`${cut.host}/${broken}`), opts(), cleanupLog())).rejects.toThrow(
    /listing tags of .*: page 2 is not valid JSON/
  )
  expect(await registryTags(OPEN.url, broken)).toEqual(ALL_TAGS)
})

test('the cap holds: the oldest digests go first, the rest wait, with a warning', async () => {
  const name = repo()
  await pushFixture(OPEN.url, name)
  const log = cleanupLog()
  const result = await runWired(seedConfig(`${OPEN.host}/${name}`), opts({ maxDeletions: 4 }), log)
  const left = await registryTags(OPEN.url, name)
  // The four oldest due digests: feature-12 (12.1 days), feature-11, pr-24 (10.5), pr-25 (8).
  expect(ALL_TAGS.filter(t => !left.includes(t))).toEqual(
    ['feature-11', 'feature-12', 'pr-24', 'pr-24-fffff04', 'pr-25-fffff05'].sort()
  )
  expect(result.images[0].deleted).toHaveLength(4)
  expect(result.images[0].capped).toBe(7)
  expect(log.warnings).toContain(
    `${OPEN.host}/${name}: the cap stopped the cleanup: 7 more digests are due for deletion, but max-deletions is 4 ` +
      'a run and the budget is spent; they wait for a later run (raise max-deletions to delete more at once)'
  )
  expect(result.images[0].rows.find(r => r.tag === 'pr-22')?.rule).toBe(
    'cap: max-deletions 4 reached (else pr: PR #22 merged)'
  )

  // The next run deletes the rest; max-deletions 0 deletes nothing at all.
  await runWired(seedConfig(`${OPEN.host}/${name}`), opts({ maxDeletions: 0 }), cleanupLog())
  expect(await registryTags(OPEN.url, name)).toEqual(left)
  await runWired(seedConfig(`${OPEN.host}/${name}`), opts(), cleanupLog())
  expect(await registryTags(OPEN.url, name)).toEqual(ALL_TAGS.filter(t => !EXPECTED_DELETED.includes(t)))
})

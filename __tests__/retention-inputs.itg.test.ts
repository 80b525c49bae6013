// The seed's whole retention policy with SPEC 4a's input tags, on the real registry 127.0.0.1:5000:
// base kept forever, tooling the last 3, PR images after 7 days or when merged/closed, branch images
// (of branches that no longer exist too) the last 10; input tags live as long as their image, and
// input tags alone on a digest keep the newest 10 per layer.
import { runCleanup, type CleanupOptions, type CleanupResult } from '../src/cleanup/cleanup.js'
import type { Logger, StrataConfig } from '../src/core/types.js'
import { cleanupClients } from '../src/wiring.js'
import { makeRepo, startGitHubApiServer, type GitHubApiServer } from '../__fixtures__/github-api-server.js'
import { cleanupLog } from '../__fixtures__/log.js'
import { seedConfig } from '../__fixtures__/retention.js'
import { pushTestImage, registryTags } from '../__fixtures__/registry-proxy.js'

/** runCleanup() with the clients the action's wiring makes from the same options. */
const runWired = (config: StrataConfig, o: CleanupOptions, log: Logger): Promise<CleanupResult> =>
  runCleanup(config, o, log, cleanupClients(o))

const REGISTRY = { url: 'http://127.0.0.1:5000', host: '127.0.0.1:5000' }
const NOW = new Date('2026-11-22T12:00:00Z')
const daysAgo = (n: number): Date => new Date(NOW.getTime() - n * 86_400_000)
const inputs = (layer: string, n: number): string => `${layer}-inputs-${n.toString(16).padStart(16, '0')}`
const two = (i: number): string => String(i).padStart(2, '0')

const FIXTURE: [tags: string[], age: number][] = [
  // base: every version kept forever, its input tags with it
  [['base-stable', 'base-aaaaaa1', inputs('base', 1)], 1],
  ...[2, 3, 4, 5].map((i): [string[], number] => [[`base-aaaaaa${i}`, inputs('base', i)], i * 10]),
  // tooling: the last 3 versions; the older ones go with their input tags
  [['tooling-stable', 'tooling-ccccc01', inputs('tooling', 1)], 1.1],
  ...[2, 3, 4, 5, 6].map((i): [string[], number] => [[`tooling-ccccc0${i}`, inputs('tooling', i)], i + 0.2]),
  [['tooling-pr-12-ddddd01', inputs('tooling', 12)], 1.2], // PR open
  [['tooling-pr-13-ddddd02', inputs('tooling', 13)], 1.3], // PR closed
  // app: main's versions stay; branch images of 13 deleted branches: the newest 10 stay
  [['latest', 'main-eeeee01', inputs('app', 1)], 0.4],
  ...[2, 3, 4].map((i): [string[], number] => [[`main-eeeee0${i}`, inputs('app', i)], i * 10]),
  ...Array.from({ length: 13 }, (_, i): [string[], number] => [
    [`gone-${two(i + 1)}`, `gone-${two(i + 1)}-abcd0${two(i + 1)}`, inputs('app', 100 + i)],
    2 + i
  ]),
  // input tags alone on a digest (their other tags deleted by hand): app has 17 input-tag images
  // above, so all 12 of these are beyond the newest 10
  ...Array.from({ length: 12 }, (_, i): [string[], number] => [[inputs('app', 200 + i)], 50 + i])
]
const ALL = FIXTURE.flatMap(([tags]) => tags).sort()
const EXPECTED_DELETED = [
  ...[4, 5, 6].flatMap(i => [`tooling-ccccc0${i}`, inputs('tooling', i)]),
  'tooling-pr-13-ddddd02',
  inputs('tooling', 13),
  ...[11, 12, 13].flatMap(i => [`gone-${i}`, `gone-${i}-abcd0${i}`, inputs('app', 100 + i - 1)]),
  ...Array.from({ length: 12 }, (_, i) => inputs('app', 200 + i))
].sort()

let api: GitHubApiServer
let cleanupRepo: () => void
beforeAll(async () => {
  const r = makeRepo()
  cleanupRepo = r.cleanup
  api = await startGitHubApiServer({ repoDir: r.dir, token: 'ghs_test' })
  await api.addPull({ number: 12, baseRef: 'main', headSha: r.sha, state: 'open', merged: false })
  await api.addPull({ number: 13, baseRef: 'main', headSha: r.sha, state: 'closed', merged: false })
})
afterAll(async () => {
  await api.close()
  cleanupRepo()
})

test("the seed's policy with input tags and branches that no longer exist", async () => {
  const name = `strata-test/retention-inputs-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 8)}`
  for (const [i, [tags, age]] of FIXTURE.entries())
    await pushTestImage(REGISTRY.url, name, { created: daysAgo(age), id: `img-${i}`, tags })
  expect(await registryTags(REGISTRY.url, name)).toEqual(ALL)

  const log = cleanupLog()
  const result = await runWired(
    seedConfig(`${REGISTRY.host}/${name}`),
    {
      dryRun: false,
      maxDeletions: 50,
      token: 'ghs_test',
      apiUrl: api.url,
      repository: 'acme/sindri',
      now: NOW,
      defaultBranch: 'main'
    },
    log
  )
  const left = await registryTags(REGISTRY.url, name)
  expect(ALL.filter(t => !left.includes(t))).toEqual(EXPECTED_DELETED)
  expect(result.errors).toEqual([])
  expect(result.images[0].deleted).toHaveLength(3 + 1 + 3 + 12)
  const rule = (tag: string): string | undefined => result.images[0].rows.find(r => r.tag === tag)?.rule
  expect(rule('gone-13-abcd013')).toBe('branch: beyond the newest 10')
  expect(rule('main-eeeee04')).toBe('versioned: no rule')
  expect(rule(inputs('tooling', 5))).toBe('inputs: its image goes with its other tags')
  expect(rule(inputs('base', 5))).toBe('inputs: its image is kept (base-aaaaaa5)')
  expect(rule(inputs('app', 211))).toBe('inputs: beyond the newest 10')
})

// mode: cleanup of a repository that does not exist (issue 13 item 10), against the real registries
// of scripts/stack.sh: it says so, instead of "0 digests would be deleted".
import { afterAll, beforeAll, expect, test } from '@jest/globals'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { cleanupLog } from '../__fixtures__/log.js'
import { pushTestImage } from '../__fixtures__/registry-proxy.js'
import {
  renderCleanupSummary,
  runCleanup,
  type CleanupOptions,
  type CleanupResult
} from '../src/cleanup/cleanup.js'
import type { Logger, StrataConfig } from '../src/core/types.js'
import { cleanupClients } from '../src/wiring.js'
import { parseConfig } from '../src/core/config/index.js'

/** runCleanup() with the clients the action's wiring makes from the same options. */
const runWired = (config: StrataConfig, o: CleanupOptions, log: Logger): Promise<CleanupResult> =>
  runCleanup(config, o, log, cleanupClients(o))

const OPEN = { url: 'http://127.0.0.1:5000', host: '127.0.0.1:5000' }
const AUTH = { url: 'http://127.0.0.1:5001', host: '127.0.0.1:5001' }
const unique = (): string => `${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 8)}`
let work: string
let dockerConfig: string

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'strata-cleanup-missing-'))
  // As docker/login-action leaves it, for the registry with a login.
  dockerConfig = work
  const auth = Buffer.from('strata:strata-test').toString('base64')
  await writeFile(join(work, 'config.json'), JSON.stringify({ auths: { [AUTH.host]: { auth } } }))
})
afterAll(async () => rm(work, { recursive: true, force: true }))

const yml = (images: string[]): string =>
  [
    'version: 1',
    'layers:',
    ...images.map((image, i) => `  l${i}: { image: ${image}${i > 0 ? `, from: l${i - 1}` : ''} }`),
    'retention:',
    '  default: { untagged: { max-age-days: 0 }, branch: { keep: 1 } }'
  ].join('\n')

const opts = (dryRun: boolean): CleanupOptions => ({
  dryRun,
  maxDeletions: 10,
  now: new Date(),
  dockerConfig
})

test.each([
  ['the open registry, dry-run', OPEN.host, `strata-test/missing-${unique()}`, true],
  ['the open registry', OPEN.host, `strata-test/missing-${unique()}`, false],
  ['a deep path', OPEN.host, `strata-test/missing-${unique()}/a/b/c`, true],
  ['one path component', OPEN.host, `missing-${unique()}`, true],
  ['the registry with a login, dry-run', AUTH.host, `strata-test/missing-${unique()}`, true],
  ['the registry with a login', AUTH.host, `strata-test/missing-${unique()}`, false]
])('%s: a repository that does not exist says so', async (_what, host, name, dryRun) => {
  const image = `${host}/${name}`
  const log = cleanupLog()
  const result = await runWired(parseConfig(yml([image]), '.github/strata.yml'), opts(dryRun), log)
  expect(result.images).toEqual([
    { image, backend: 'registry', rows: [], deleted: [], capped: 0, empty: true }
  ])
  expect(log.warnings).toEqual([
    `${image}: no such repository, or it holds no image (the registry lists no tag and no digest): nothing to ` +
      'clean there; check `image` in .github/strata.yml and the registry login'
  ])
  expect(log.lines).toEqual([`cleanup: nothing to clean: ${image} does not exist or hold no image`])
  expect(log.lines.join('\n')).not.toMatch(/0 digests/)
  expect(renderCleanupSummary(result)).toContain(
    `Nothing to clean: ${image} does not exist or hold no image.`
  )
  expect(result.errors).toEqual([])
})

test('one missing repository among existing ones: named, and the others cleaned as usual', async () => {
  const name = `strata-test/cleanup-some-${unique()}`
  const missing = `${OPEN.host}/strata-test/missing-${unique()}`
  const day = 86_400_000
  for (const [i, tag] of ['feature-a', 'feature-b'].entries())
    await pushTestImage(OPEN.url, name, {
      created: new Date(Date.now() - (i + 1) * day),
      id: tag,
      tags: [tag]
    })
  const log = cleanupLog()
  const result = await runWired(
    parseConfig(yml([missing, `${OPEN.host}/${name}`]), '.github/strata.yml'),
    opts(true),
    log
  )
  expect(result.images.map(i => [i.image, i.empty === true, i.deleted.length])).toEqual([
    [missing, true, 0],
    [`${OPEN.host}/${name}`, false, 1]
  ])
  expect(log.warnings).toEqual([
    expect.stringMatching(new RegExp(`^${missing.replace(/[.]/g, '\\.')}: no such repository`))
  ])
  expect(log.lines.at(-1)).toBe('cleanup: 1 digests would be deleted (dry-run), 1 tags kept')
})

import { afterAll, afterEach, beforeAll, describe, expect, test } from '@jest/globals'
import {
  commitFiles,
  commitManyFiles,
  git,
  makeRepo,
  manyFiles,
  renameFile,
  startGitHubApiServer,
  type FaultSpec,
  type GitHubApiServer
} from '../../__fixtures__/github-api-server.js'
import { createGit } from '../../src/adapters/git.js'
import { createGitHub, lastPage, type GitHubOptions } from '../../src/adapters/github.js'
import { changedPaths } from '../../src/core/changes.js'
import { recordingLog } from '../../__fixtures__/log.js'

const BIG = 2950 // 30 pages of 100, the last one half full
const HUGE = 3100 // past GitHub's 3000-file limit for pull requests

let repo: ReturnType<typeof makeRepo>
let server: GitHubApiServer
const sha: Record<string, string> = {}

// Fast waits: 1 "second" of Retry-After is 20 ms here; 5xx backoff 2, 8, 18 ms.
function client(extra: Partial<GitHubOptions> = {}) {
  return createGitHub({
    token: 'test-token',
    apiUrl: server.url,
    log: recordingLog(),
    retryBaseMs: 2,
    rateLimitMsPerSecond: 20,
    ...extra
  })
}

beforeAll(async () => {
  repo = makeRepo()
  sha.root = commitFiles(repo.dir, { 'old/name.txt': 'same content\n'.repeat(30) }, 'base')
  sha.small = commitFiles(repo.dir, { 'a.txt': 'a\n', 'docs/b.md': 'b\n' }, 'small', { branch: 'small' })
  sha.smallRenamed = renameFile(repo.dir, 'old/name.txt', 'new/name.txt', 'rename', { branch: 'small' })
  sha.big = commitManyFiles(repo.dir, manyFiles(BIG, 'big'), 'big', { branch: 'big', from: sha.root })
  sha.huge = commitManyFiles(repo.dir, manyFiles(HUGE, 'huge'), 'huge', { branch: 'huge', from: sha.root })
  sha.c150 = commitManyFiles(repo.dir, manyFiles(150, 'c150'), 'c150', { branch: 'c150', from: sha.root })
  sha.c350 = commitManyFiles(repo.dir, manyFiles(350, 'c350'), 'c350', { branch: 'c350', from: sha.root })
  git(repo.dir, 'checkout', '-q', 'main')
  server = await startGitHubApiServer({ repoDir: repo.dir, token: 'test-token' })
  await server.addPull({ number: 1, baseRef: 'main', headSha: sha.smallRenamed, headRef: 'small' })
  await server.addPull({ number: 2, baseRef: 'main', headSha: sha.big, headRef: 'big' })
  await server.addPull({ number: 3, baseRef: 'main', headSha: sha.huge, headRef: 'huge' })
  await server.addPull({ number: 4, baseRef: 'main', headSha: sha.small, state: 'closed', merged: true })
}, 60_000)
afterAll(async () => {
  await server?.close()
  repo?.cleanup()
})
afterEach(() => {
  server.reset()
  server.setLatency(0)
})

describe('lastPage', () => {
  test.each<[string | undefined, number]>([
    [undefined, 1],
    ['', 1],
    [
      '<https://api.github.com/repositories/1/pulls/2/files?per_page=100&page=2>; rel="next", <https://api.github.com/repositories/1/pulls/2/files?per_page=100&page=30>; rel="last"',
      30
    ],
    [
      '<https://x/api/v3/repos/o/r/compare/a...b?page=1&per_page=100>; rel="prev", <https://x/api/v3/repos/o/r/compare/a...b?page=1&per_page=100>; rel="first"',
      1
    ],
    ['<https://x/y?page=3>; rel="next"', 1]
  ])('%s → %d', (link, page) => {
    expect(lastPage(link)).toBe(page)
  })
})

describe('the test server', () => {
  test('Link headers are formatted as GitHub formats them', async () => {
    const get = (page: number) =>
      fetch(`${server.url}/repos/acme/sindri/pulls/2/files?per_page=100&page=${page}`, {
        headers: { authorization: 'token test-token' }
      })
    const at = (p: number) => `<${server.url}/repositories/4242/pulls/2/files?per_page=100&page=${p}>`
    expect((await get(1)).headers.get('link')).toBe(`${at(2)}; rel="next", ${at(30)}; rel="last"`)
    expect((await get(2)).headers.get('link')).toBe(
      `${at(1)}; rel="prev", ${at(3)}; rel="next", ${at(30)}; rel="last", ${at(1)}; rel="first"`
    )
    const last = await get(30)
    expect(last.headers.get('link')).toBe(`${at(29)}; rel="prev", ${at(1)}; rel="first"`)
    expect(await last.json()).toHaveLength(BIG - 2900)
    // The repository-id URLs of Link headers are served too.
    const byId = await fetch(`${server.url}/repositories/4242/pulls/2/files?per_page=100&page=30`, {
      headers: { authorization: 'token test-token' }
    })
    expect(await byId.json()).toHaveLength(BIG - 2900)
  })

  test('default page size is 30, and per_page is at most 100', async () => {
    const h = { headers: { authorization: 'token test-token' } }
    expect(await (await fetch(`${server.url}/repos/acme/sindri/pulls/2/files`, h)).json()).toHaveLength(30)
    expect(
      await (await fetch(`${server.url}/repos/acme/sindri/pulls/2/files?per_page=500`, h)).json()
    ).toHaveLength(100)
  })

  test('a wrong token is answered 401 Bad credentials', async () => {
    const res = await fetch(`${server.url}/repos/acme/sindri`, { headers: { authorization: 'token nope' } })
    expect(res.status).toBe(401)
    expect(await res.json()).toMatchObject({ message: 'Bad credentials' })
  })
})

describe('pullFiles', () => {
  test('a small pull request: one call, renames under both paths, same files as git', async () => {
    const gh = client()
    const res = await gh.pullFiles('acme', 'sindri', 1)
    expect(res.complete).toBe(true)
    expect(server.requests).toHaveLength(1)
    expect(server.requests[0]).toMatchObject({
      method: 'GET',
      path: '/repos/acme/sindri/pulls/1/files',
      query: { per_page: '100', page: '1' },
      authorization: 'token test-token'
    })
    expect(changedPaths(res.files)).toEqual(['a.txt', 'docs/b.md', 'new/name.txt', 'old/name.txt'])
    // The same list as git's, entry for entry.
    const fromGit = await createGit(repo.dir).diff(sha.root, sha.smallRenamed)
    expect(res.files).toEqual(expect.arrayContaining(fromGit))
    expect(res.files).toHaveLength(fromGit.length)
  })

  // Its time is measured by `npm run bench` (the 3,000-file plan), not asserted here.
  test(`a ${BIG}-file pull request: 30 pages side by side, at most 31 calls`, async () => {
    server.setLatency(100)
    const gh = client()
    const res = await gh.pullFiles('acme', 'sindri', 2)
    expect(res.complete).toBe(true)
    expect(res.files).toHaveLength(BIG)
    expect(new Set(res.files.map(f => f.path)).size).toBe(BIG)
    expect(server.requests.length).toBeLessThanOrEqual(31)
    expect(server.requests.map(r => Number(r.query.page)).sort((a, b) => a - b)).toEqual(
      Array.from({ length: 30 }, (_, i) => i + 1)
    )
    // Page 1 alone first (it tells the page count), then the others side by side.
    expect(server.requests[0]).toMatchObject({ query: { page: '1', per_page: '100' }, inFlight: 1 })
    expect(Math.max(...server.requests.map(r => r.inFlight))).toBeGreaterThan(5)
    expect(Math.max(...server.requests.map(r => r.inFlight))).toBeLessThanOrEqual(10) // bounded
  })

  test(`a ${HUGE}-file pull request stops at 3000 files and says it is incomplete`, async () => {
    const res = await client().pullFiles('acme', 'sindri', 3)
    expect(res.files).toHaveLength(3000)
    expect(res.complete).toBe(false)
    expect(server.requests.length).toBeLessThanOrEqual(31)
  })

  test('an unknown pull request rejects with 404', async () => {
    await expect(client().pullFiles('acme', 'sindri', 99)).rejects.toMatchObject({ status: 404 })
    expect(server.requests).toHaveLength(1) // 404 is not retried
  })

  test('GitHub Enterprise Server paths (/api/v3) work', async () => {
    const res = await client({ apiUrl: `${server.url}/api/v3/` }).pullFiles('acme', 'sindri', 1)
    expect(res.files).toHaveLength(3)
    expect(server.requests[0].path).toBe('/api/v3/repos/acme/sindri/pulls/1/files')
  })
})

describe('compareFiles', () => {
  test('150 files: two pages, complete, with the merge base', async () => {
    const res = await client().compareFiles('acme', 'sindri', sha.root, sha.c150)
    expect(res.files).toHaveLength(150)
    expect(res.complete).toBe(true)
    expect(res.mergeBase).toBe(sha.root)
    expect(server.requests).toHaveLength(2)
  })

  test('350 files: GitHub stops at 300, so the list is incomplete', async () => {
    const res = await client().compareFiles('acme', 'sindri', sha.root, sha.c350)
    expect(res.files).toHaveLength(300)
    expect(res.complete).toBe(false)
    expect(server.requests.length).toBeLessThanOrEqual(3)
  })

  test('files only on the first page (as GitHub documents it) are read too', async () => {
    const s = await startGitHubApiServer({ repoDir: repo.dir, compareFilesOnFirstPageOnly: true })
    try {
      const gh = createGitHub({ token: 't', apiUrl: s.url, retryBaseMs: 1 })
      const res = await gh.compareFiles('acme', 'sindri', sha.root, sha.c150)
      expect(res.files).toHaveLength(150)
      expect(res.complete).toBe(true)
      expect(s.requests.length).toBeLessThanOrEqual(2)
    } finally {
      await s.close()
    }
  })

  test('a branch name as base resolves ({default}...{sha})', async () => {
    const res = await client().compareFiles('acme', 'sindri', 'main', sha.smallRenamed)
    expect(changedPaths(res.files)).toEqual(['a.txt', 'docs/b.md', 'new/name.txt', 'old/name.txt'])
    expect(server.requests[0].path).toBe(`/repos/acme/sindri/compare/main...${sha.smallRenamed}`)
  })

  test('an unknown commit rejects with 404', async () => {
    await expect(client().compareFiles('acme', 'sindri', 'f'.repeat(40), sha.c150)).rejects.toMatchObject({
      status: 404
    })
  })
})

describe('faults', () => {
  test.each<[string, FaultSpec]>([
    ['500', { kind: 500, request: 1 }],
    ['502', { kind: 502, request: 1 }],
    ['503 twice', { kind: 503, path: '/repos/acme/sindri/pulls/1/files', times: 2 }]
  ])('%s is retried with backoff', async (_name, fault) => {
    server.fail(fault)
    const res = await client().pullFiles('acme', 'sindri', 1)
    expect(res.files).toHaveLength(3)
    const failures = fault.times ?? 1
    expect(server.requests).toHaveLength(failures + 1)
    expect(server.requests.slice(0, failures).every(r => r.status === fault.kind)).toBe(true)
  })

  test('a page that fails in the middle of a long list is retried alone', async () => {
    server.fail({ kind: 502, path: '/repos/acme/sindri/pulls/2/files', times: 1 })
    server.fail({ kind: 500, request: 7 })
    const res = await client().pullFiles('acme', 'sindri', 2)
    expect(res.files).toHaveLength(BIG)
    expect(server.requests).toHaveLength(32)
  })

  test('a server that keeps failing is given up on after the retries: never a loop', async () => {
    server.fail({ kind: 500, path: /pulls\/1\/files$/, times: Infinity })
    await expect(client({ retries: 2 }).pullFiles('acme', 'sindri', 1)).rejects.toMatchObject({ status: 500 })
    expect(server.requests).toHaveLength(3)
  })

  test.each<[string, FaultSpec, number]>([
    ['403 secondary rate limit', { kind: 'secondary', request: 1, retryAfter: 5 }, 403],
    ['429 secondary rate limit', { kind: 'secondary-429', request: 1, retryAfter: 5 }, 429]
  ])('%s: waits Retry-After, then retries', async (_name, fault, status) => {
    server.fail(fault)
    const log = recordingLog()
    const res = await client({ log }).pullFiles('acme', 'sindri', 1)
    expect(res.files).toHaveLength(3)
    const [failed, again] = server.requests
    expect(failed.status).toBe(status)
    expect(again.status).toBe(200)
    // Retry-After 5 → 5 × 20 ms here.
    expect(again.time - (failed.done ?? failed.time)).toBeGreaterThanOrEqual(95)
    expect(log.lines.join('\n')).toMatch(/secondary rate limit .*retrying in 5 s/)
  })

  test('429 without a Retry-After message is retried with backoff', async () => {
    server.fail({ kind: 429, request: 1 })
    const res = await client().pullFiles('acme', 'sindri', 1)
    expect(res.files).toHaveLength(3)
    expect(server.requests.map(r => r.status)).toEqual([429, 200])
  })

  test('primary rate limit: waits until x-ratelimit-reset, then retries', async () => {
    server.fail({ kind: 'primary', request: 1, resetIn: 3 })
    const log = recordingLog()
    const res = await client({ log }).pullFiles('acme', 'sindri', 1)
    expect(res.files).toHaveLength(3)
    const [failed, again] = server.requests
    expect(failed.status).toBe(403)
    // reset in ~3 s (+1 s, as Octokit waits past the reset) → about 3-4 "seconds" of 20 ms.
    expect(again.time - failed.time).toBeGreaterThanOrEqual(40)
    expect(log.lines.join('\n')).toMatch(/primary rate limit/)
  })

  test('a rate limit that asks for a longer wait than allowed fails at once', async () => {
    server.fail({ kind: 'secondary', request: 1, retryAfter: 3600 })
    const t0 = Date.now()
    await expect(client({ maxWaitSeconds: 60 }).pullFiles('acme', 'sindri', 1)).rejects.toMatchObject({
      status: 403
    })
    // At once: not after the hour the registry asked for (a bound far from both, so load cannot flip it).
    expect(Date.now() - t0).toBeLessThan(30_000)
    expect(server.requests).toHaveLength(1)
  })

  test('rate limits that never end are retried a bounded number of times', async () => {
    server.fail({ kind: 'secondary', path: /pulls\/1\/files$/, times: Infinity, retryAfter: 1 })
    await expect(client({ retries: 2 }).pullFiles('acme', 'sindri', 1)).rejects.toMatchObject({ status: 403 })
    expect(server.requests.length).toBe(3)
  })
})

describe('defaultBranch and pullState', () => {
  test('defaultBranch', async () => {
    expect(await client().defaultBranch('acme', 'sindri')).toBe('main')
  })

  test('pullState of an open and of a merged pull request', async () => {
    const gh = client()
    expect(await gh.pullState('acme', 'sindri', 1)).toEqual({
      state: 'open',
      merged: false,
      changedFiles: 3,
      headSha: sha.smallRenamed,
      baseSha: sha.root
    })
    expect(await gh.pullState('acme', 'sindri', 4)).toMatchObject({ state: 'closed', merged: true })
  })
})

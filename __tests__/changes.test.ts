import { afterAll, afterEach, beforeAll, describe, expect, test } from '@jest/globals'
import {
  commitFiles,
  commitManyFiles,
  git,
  makeRepo,
  manyFiles,
  renameFile,
  shallowClone,
  startGitHubApiServer,
  type GitHubApiServer
} from '../__fixtures__/github-api-server.js'
import { eventContext } from '../__fixtures__/layers.js'
import { recordingLog as baseLog } from '../__fixtures__/log.js'
import { createGit } from '../src/adapters/git.js'
import { createGitHub } from '../src/adapters/github.js'
import { detectChanges, type ChangeDeps } from '../src/plan/changes.js'
import { changedPaths } from '../src/core/changes.js'
import type { DiffRange, EventContext, Logger } from '../src/core/types.js'

function recordingLog(): Logger & { lines: string[]; warnings: () => string[] } {
  const log = baseLog()
  return Object.assign(log, { warnings: () => log.lines.filter(l => l.startsWith('warning: ')) })
}

const ODD = ['with space.txt', 'new\nline.txt', 'tab\there.txt', 'ünïcødé/日本語.txt']

let repo: ReturnType<typeof makeRepo>
let server: GitHubApiServer
const sha: Record<string, string> = {}

const ctx = (over: Partial<EventContext> = {}): EventContext =>
  eventContext({ sha: sha.root, time: new Date('2025-01-01T00:00:00Z'), ...over })

function deps(
  over: { git?: string | null; github?: boolean } = {}
): ChangeDeps & { log: ReturnType<typeof recordingLog> } {
  const log = recordingLog()
  const d: ChangeDeps & { log: ReturnType<typeof recordingLog> } = { log }
  if (over.github !== false)
    d.github = createGitHub({
      token: 't',
      apiUrl: server.url,
      log,
      retries: 2,
      retryBaseMs: 1,
      rateLimitMsPerSecond: 10
    })
  if (over.git !== null) d.git = createGit(over.git ?? repo.dir)
  return d
}

beforeAll(async () => {
  repo = makeRepo({
    files: {
      'README.md': '# sindri\n',
      'Dockerfile.base': 'FROM scratch\n',
      'docker/app.sh': 'echo app\n',
      'old/name.txt': 'a file long enough to be seen as renamed\n'.repeat(20)
    }
  })
  sha.root = repo.sha
  // A pull request: modify, rename, delete, and names with spaces, newlines, tabs, non-ASCII.
  commitFiles(repo.dir, { 'docker/app.sh': 'echo app 2\n', 'Dockerfile.base': null }, 'change', {
    branch: 'feat'
  })
  commitFiles(repo.dir, Object.fromEntries(ODD.map(n => [n, `${n}\n`])), 'odd names', { branch: 'feat' })
  sha.feat = renameFile(repo.dir, 'old/name.txt', 'new/name.txt', 'rename', { branch: 'feat' })
  // Lists past the API's limits.
  sha.huge = commitManyFiles(repo.dir, manyFiles(3100, 'huge'), 'huge', { branch: 'huge', from: sha.root })
  sha.c350 = commitManyFiles(repo.dir, manyFiles(350, 'c350'), 'c350', { branch: 'c350', from: sha.root })
  // A forced push: `dropped` was on the branch, then the branch was reset and `kept` pushed instead.
  sha.dropped = commitFiles(repo.dir, { 'dropped.txt': 'd\n' }, 'dropped', {
    branch: 'forced-old',
    from: sha.root
  })
  sha.kept = commitFiles(repo.dir, { 'kept.txt': 'k\n' }, 'kept', { branch: 'forced-new', from: sha.root })
  // A new branch from an older main: main moved on since, which must not count.
  sha.topic = commitFiles(repo.dir, { 'topic.txt': 't\n' }, 'topic', { branch: 'topic', from: sha.root })
  git(repo.dir, 'checkout', '-q', 'main')
  sha.main = commitFiles(repo.dir, { 'main-only.txt': 'm\n' }, 'main moves on')
  server = await startGitHubApiServer({ repoDir: repo.dir })
  await server.addPull({ number: 1, baseRef: 'main', baseSha: sha.root, headSha: sha.feat, headRef: 'feat' })
  await server.addPull({ number: 3, baseRef: 'main', baseSha: sha.root, headSha: sha.huge, headRef: 'huge' })
}, 60_000)
afterAll(async () => {
  await server?.close()
  repo?.cleanup()
})
afterEach(() => server.reset())

const FEAT_PATHS = ['Dockerfile.base', 'docker/app.sh', 'new/name.txt', 'old/name.txt', ...ODD].sort()
const pull = (number: number, head: string, expectedCount?: number): DiffRange => {
  const r: DiffRange = { kind: 'pull', number, base: sha.root, head }
  if (expectedCount !== undefined) r.expectedCount = expectedCount
  return r
}

describe('pull requests', () => {
  test('from the API: renames under both paths, deletions, odd names', async () => {
    const d = deps()
    const set = await detectChanges(ctx({ eventName: 'pull_request' }), pull(1, sha.feat, 7), d)
    expect(set.source).toBe('api')
    expect(changedPaths(set.files)).toEqual(FEAT_PATHS)
    expect(set.files.find(f => f.path === 'Dockerfile.base')?.status).toBe('removed')
    expect(set).toMatchObject({ base: sha.root, head: sha.feat })
    expect(d.log.warnings()).toEqual([])
    expect(server.requests).toHaveLength(1)
  })

  test('the git fallback gives the same files', async () => {
    server.fail({ kind: 503, path: /pulls\/1\/files$/, times: Infinity })
    const d = deps()
    const set = await detectChanges(ctx(), pull(1, sha.feat), d)
    expect(set.source).toBe('git')
    expect(changedPaths(set.files)).toEqual(FEAT_PATHS)
    expect(set.note).toMatch(/GitHub API failed after its retries \(HTTP 503/)
    expect(server.requests).toHaveLength(3) // first try + 2 retries, then git
  })

  test('3000 files from the API is a cut-off list: git gives all 3100', async () => {
    const d = deps()
    const set = await detectChanges(ctx(), pull(3, sha.huge, 3100), d)
    expect(set.source).toBe('git')
    expect(set.files).toHaveLength(3100)
    expect(set.note).toMatch(/at most 3000 files .* #3 has 3000/)
    expect(server.requests.length).toBeLessThanOrEqual(31)
  })

  test('fewer files than the event says changed is a cut-off list too', async () => {
    const d = deps()
    const set = await detectChanges(ctx(), pull(1, sha.feat, 12), d)
    expect(set.source).toBe('git')
    expect(set.note).toMatch(/listed 7 files of pull request #1 but the event says 12 changed/)
    expect(changedPaths(set.files)).toEqual(FEAT_PATHS)
  })

  test('cut off, and the base commit is not in a shallow clone: unknown, one warning with the fix', async () => {
    const shallow = shallowClone(repo.dir, 'huge')
    try {
      const d = deps({ git: shallow.dir })
      const set = await detectChanges(ctx(), pull(3, sha.huge), d)
      expect(set.source).toBe('unknown')
      expect(set.files).toEqual([])
      expect(set.note).toContain(`commit ${sha.root.slice(0, 7)} is not in the workspace`)
      expect(set.note).toContain('fetch-depth: 0')
      expect(d.log.warnings()).toEqual([`warning: ${set.note}`])
    } finally {
      shallow.cleanup()
    }
  })

  test('the API fails and no commits are in the workspace: unknown, saying why', async () => {
    server.fail({ kind: 500, path: /pulls\/1\/files$/, times: Infinity })
    const empty = makeRepo()
    try {
      const d = deps({ git: empty.dir })
      const set = await detectChanges(ctx(), pull(1, sha.feat), d)
      expect(set.source).toBe('unknown')
      expect(set.note).toMatch(
        /API failed after its retries \(HTTP 500.*\), and commit \w{7} is not in the workspace/
      )
      expect(set.note).toContain('fetch-depth: 0')
      expect(d.log.warnings()).toHaveLength(1)
    } finally {
      empty.cleanup()
    }
  })

  test('the API fails and there is no workspace at all: unknown', async () => {
    server.fail({ kind: 502, path: /pulls\/1\/files$/, times: Infinity })
    const set = await detectChanges(ctx(), pull(1, sha.feat), deps({ git: null }))
    expect(set.source).toBe('unknown')
    expect(set.note).toMatch(/no git workspace/)
  })

  test('a secondary rate limit is waited out: still the API', async () => {
    server.fail({ kind: 'secondary', request: 1, retryAfter: 2 })
    const set = await detectChanges(ctx(), pull(1, sha.feat), deps({ git: null }))
    expect(set.source).toBe('api')
    expect(server.requests.map(r => r.status)).toEqual([403, 200])
  })
})

describe('pushes', () => {
  test('compare before...after from the API', async () => {
    const set = await detectChanges(ctx(), { kind: 'compare', base: sha.root, head: sha.feat }, deps())
    expect(set.source).toBe('api')
    expect(changedPaths(set.files)).toEqual(FEAT_PATHS)
  })

  test('compare stops at 300 files: git gives all 350', async () => {
    const set = await detectChanges(ctx(), { kind: 'compare', base: sha.root, head: sha.c350 }, deps())
    expect(set.source).toBe('git')
    expect(set.files).toHaveLength(350)
    expect(set.note).toMatch(/at most 300 files/)
  })

  test('an unknown commit (404) falls back to git, which does not have it either: unknown', async () => {
    const ghost = 'f'.repeat(40)
    const d = deps()
    const set = await detectChanges(ctx(), { kind: 'compare', base: ghost, head: sha.feat }, d)
    expect(set.source).toBe('unknown')
    expect(set.note).toMatch(/HTTP 404.*commit ffffff/)
  })

  test('forced push: a file of the dropped commit counts, from the API and from git', async () => {
    const range: DiffRange = { kind: 'forced', base: sha.dropped, head: sha.kept }
    const api = await detectChanges(ctx(), range, deps())
    expect(api.source).toBe('api')
    expect(changedPaths(api.files)).toEqual(['dropped.txt', 'kept.txt'])
    expect(server.requests.map(r => r.path).sort()).toEqual(
      [
        `/repos/acme/sindri/compare/${sha.dropped}...${sha.kept}`,
        `/repos/acme/sindri/compare/${sha.kept}...${sha.dropped}`
      ].sort()
    )
    const fromGit = await detectChanges(ctx(), range, deps({ github: false }))
    expect(fromGit.source).toBe('git')
    expect(changedPaths(fromGit.files)).toEqual(['dropped.txt', 'kept.txt'])
  })

  test('new branch: compare {default}...{head}, from the merge base', async () => {
    const range: DiffRange = { kind: 'new-branch', defaultBranch: 'main', head: sha.topic }
    const api = await detectChanges(ctx({ ref: 'refs/heads/topic', branch: 'topic' }), range, deps())
    expect(api).toMatchObject({ source: 'api', base: sha.root, head: sha.topic })
    expect(changedPaths(api.files)).toEqual(['topic.txt']) // not main-only.txt
    expect(server.requests[0].path).toBe(`/repos/acme/sindri/compare/main...${sha.topic}`)
    server.fail({ kind: 500, path: /compare/, times: Infinity })
    const fromGit = await detectChanges(ctx(), range, deps())
    expect(fromGit).toMatchObject({ source: 'git', base: sha.root })
    expect(changedPaths(fromGit.files)).toEqual(['topic.txt'])
  })

  test('new branch, default branch not in a shallow clone: unknown', async () => {
    server.fail({ kind: 500, path: /compare/, times: Infinity })
    const shallow = shallowClone(repo.dir, 'topic')
    try {
      const range: DiffRange = { kind: 'new-branch', defaultBranch: 'main', head: sha.topic }
      const set = await detectChanges(ctx(), range, deps({ git: shallow.dir }))
      expect(set.source).toBe('unknown')
      expect(set.note).toMatch(/default branch main is not in the workspace/)
    } finally {
      shallow.cleanup()
    }
  })

  test('first push: every file of head', async () => {
    const set = await detectChanges(ctx(), { kind: 'first-push', head: sha.feat }, deps())
    expect(set.source).toBe('git')
    expect(changedPaths(set.files)).toEqual(['README.md', 'docker/app.sh', 'new/name.txt', ...ODD].sort())
    expect(server.requests).toHaveLength(0)
  })

  test('first push without the commit in the workspace: unknown', async () => {
    const empty = makeRepo()
    try {
      const d = deps({ git: empty.dir })
      const set = await detectChanges(ctx(), { kind: 'first-push', head: sha.feat }, d)
      expect(set.source).toBe('unknown')
      expect(d.log.warnings()).toHaveLength(1)
    } finally {
      empty.cleanup()
    }
  })

  test.each<[string, DiffRange]>([
    ['deleted branch', { kind: 'deleted' }],
    ['tag push', { kind: 'none', why: 'push of tag v1.2.3 has no diff' }]
  ])('%s: source none, no files, no calls', async (_name, range) => {
    const d = deps()
    const set = await detectChanges(ctx(), range, d)
    expect(set.source).toBe('none')
    expect(set.files).toEqual([])
    expect(server.requests).toHaveLength(0)
    expect(d.log.warnings()).toEqual([])
  })

  test('without the API (the local CLI): git', async () => {
    const set = await detectChanges(
      ctx(),
      { kind: 'compare', base: sha.root, head: sha.feat },
      deps({ github: false })
    )
    expect(set.source).toBe('git')
    expect(changedPaths(set.files)).toEqual(FEAT_PATHS)
  })
})

// SPEC 3's table, row by row: a fixture payload (with the shas of a real repository made here)
// → readEvent → diffRange → detectChanges, against the local GitHub API server and real git.
import { afterAll, afterEach, beforeAll, describe, expect, test } from '@jest/globals'
import { loadEvent, type EventFixture, type EventOverrides } from '../__fixtures__/events/index.js'
import {
  commitFiles,
  git,
  makeRepo,
  renameFile,
  startGitHubApiServer,
  type GitHubApiServer
} from '../__fixtures__/github-api-server.js'
import { createGit } from '../src/adapters/git.js'
import { createGitHub } from '../src/adapters/github.js'
import { detectChanges } from '../src/plan/changes.js'
import { changedPaths } from '../src/core/changes.js'
import { diffRange, readEvent } from '../src/core/event.js'
import type { ChangeSet, DiffRange, Logger } from '../src/core/types.js'

const log: Logger & { warnings: string[] } = {
  warnings: [],
  info: () => {},
  notice: () => {},
  warning(m) {
    this.warnings.push(m)
  },
  group: (_name, fn) => fn()
}

let repo: ReturnType<typeof makeRepo>
let server: GitHubApiServer
const sha: Record<string, string> = {}

beforeAll(async () => {
  repo = makeRepo({
    files: {
      'Dockerfile.base': 'FROM scratch\n',
      'Dockerfile.tooling': 'FROM base\n',
      'docker/config/sshd_config': 'Port 22\n',
      'docker/scripts/install-tools.sh': 'echo tools\n'.repeat(20)
    }
  })
  sha.root = repo.sha
  // pull_request #42 (feature/tooling-sshd): modify, rename, delete, a name with a space.
  commitFiles(
    repo.dir,
    { 'docker/config/sshd_config': 'Port 2222\n', 'Dockerfile.base': null, 'docs/read me.md': 'x\n' },
    'sshd',
    {
      branch: 'feature/tooling-sshd'
    }
  )
  sha.pr42 = renameFile(
    repo.dir,
    'docker/scripts/install-tools.sh',
    'docker/scripts/install-more.sh',
    'rename',
    {
      branch: 'feature/tooling-sshd'
    }
  )
  // pull_request_target #44 (add-arm64).
  sha.pr44 = commitFiles(repo.dir, { 'platforms.txt': 'linux/arm64\n' }, 'arm64', {
    branch: 'add-arm64',
    from: sha.root
  })
  // A forced push: `dropped` was pushed, then replaced by `kept`.
  sha.dropped = commitFiles(repo.dir, { 'dropped.txt': 'd\n' }, 'dropped', {
    branch: 'rebase-old',
    from: sha.root
  })
  sha.kept = commitFiles(repo.dir, { 'kept.txt': 'k\n' }, 'kept', { branch: 'rebase-new', from: sha.root })
  // A new branch cut before main moved on.
  sha.newBranch = commitFiles(repo.dir, { 'fix.txt': 'f\n' }, 'fix', {
    branch: 'fix/cache-key',
    from: sha.root
  })
  git(repo.dir, 'checkout', '-q', 'main')
  sha.main = commitFiles(repo.dir, { 'Dockerfile.tooling': 'FROM base\nRUN true\n' }, 'main moves on')
  // The merge queue's commit on top of main.
  sha.queue = commitFiles(repo.dir, { 'queued.txt': 'q\n' }, 'queued', {
    branch: 'gh-readonly-queue',
    from: sha.main
  })
  git(repo.dir, 'checkout', '-q', 'main')

  server = await startGitHubApiServer({ repoDir: repo.dir })
  await server.addPull({
    number: 42,
    baseRef: 'main',
    baseSha: sha.root,
    headSha: sha.pr42,
    headRef: 'feature/tooling-sshd'
  })
  await server.addPull({
    number: 44,
    baseRef: 'main',
    baseSha: sha.root,
    headSha: sha.pr44,
    headRef: 'add-arm64'
  })
}, 60_000)
afterAll(async () => {
  await server?.close()
  repo?.cleanup()
})
afterEach(() => {
  server.reset()
  log.warnings.length = 0
})

async function run(
  fixture: EventFixture,
  overrides: EventOverrides,
  patch?: (payload: any) => void // eslint-disable-line @typescript-eslint/no-explicit-any
): Promise<{ range: DiffRange; set: ChangeSet }> {
  const { eventName, payload, env } = loadEvent(fixture, overrides)
  patch?.(payload)
  const ctx = readEvent(eventName, payload, env, new Date('2025-05-01T12:00:00Z'))
  const range = diffRange(eventName, payload, ctx)
  const github = createGitHub({ token: 't', apiUrl: server.url, log, retries: 1, retryBaseMs: 1 })
  const set = await detectChanges(ctx, range, { github, git: createGit(repo.dir), log })
  return { range, set }
}

const PR42 = [
  'Dockerfile.base',
  'docker/config/sshd_config',
  'docker/scripts/install-more.sh',
  'docker/scripts/install-tools.sh',
  'docs/read me.md'
]

describe('SPEC 3: which files changed, per event', () => {
  test.each<[EventFixture, number, string[]]>([
    ['pull_request', 42, PR42],
    ['pull_request_target', 44, ['platforms.txt']]
  ])('%s: GET pulls/{n}/files, all pages, 100 a page', async (fixture, number, paths) => {
    const head = number === 42 ? sha.pr42 : sha.pr44
    const { range, set } = await run(fixture, { base: sha.root, head }, p => {
      p.pull_request.changed_files = number === 42 ? 4 : 1
    })
    expect(range).toMatchObject({ kind: 'pull', number, base: sha.root, head })
    expect(set).toMatchObject({ source: 'api', base: sha.root, head })
    expect(changedPaths(set.files)).toEqual(paths)
    expect(server.requests.map(r => [r.path, r.query.per_page])).toEqual([
      [`/repos/acme/sindri/pulls/${number}/files`, '100']
    ])
  })

  test('pull_request whose list holds fewer files than changed_files: git diff instead', async () => {
    const { set } = await run('pull_request', { base: sha.root, head: sha.pr42 }, p => {
      p.pull_request.changed_files = 9
    })
    expect(set.source).toBe('git')
    expect(changedPaths(set.files)).toEqual(PR42)
  })

  test('push to a branch: compare {before}...{after}', async () => {
    const { range, set } = await run('push', { before: sha.root, after: sha.main })
    expect(range).toEqual({ kind: 'compare', base: sha.root, head: sha.main })
    expect(set.source).toBe('api')
    expect(changedPaths(set.files)).toEqual(['Dockerfile.tooling'])
    expect(server.requests[0].path).toBe(`/repos/acme/sindri/compare/${sha.root}...${sha.main}`)
  })

  test('push with forced: true: both directions, so the dropped commit counts', async () => {
    const { range, set } = await run('push-forced', { before: sha.dropped, after: sha.kept })
    expect(range).toEqual({ kind: 'forced', base: sha.dropped, head: sha.kept })
    expect(set.source).toBe('api')
    expect(changedPaths(set.files)).toEqual(['dropped.txt', 'kept.txt'])
    expect(server.requests).toHaveLength(2)
  })

  test('push of a new branch: compare {default}...{after}, from the merge base', async () => {
    const { range, set } = await run('push-new-branch', { after: sha.newBranch })
    expect(range).toEqual({ kind: 'new-branch', defaultBranch: 'main', head: sha.newBranch })
    expect(set).toMatchObject({ source: 'api', base: sha.root })
    expect(changedPaths(set.files)).toEqual(['fix.txt'])
    expect(server.requests[0].path).toBe(`/repos/acme/sindri/compare/main...${sha.newBranch}`)
  })

  test("the repository's first push: every file", async () => {
    const { range, set } = await run('push-first', { after: sha.root })
    expect(range).toEqual({ kind: 'first-push', head: sha.root })
    expect(set.source).toBe('git')
    expect(changedPaths(set.files)).toEqual([
      'Dockerfile.base',
      'Dockerfile.tooling',
      'docker/config/sshd_config',
      'docker/scripts/install-tools.sh'
    ])
  })

  test('push with deleted: true: nothing to build', async () => {
    const { range, set } = await run('push-deleted', { before: sha.main })
    expect(range).toEqual({ kind: 'deleted' })
    expect(set).toMatchObject({ source: 'none', files: [] })
    expect(server.requests).toHaveLength(0)
  })

  test('merge_group: compare base_sha...head_sha', async () => {
    const { range, set } = await run('merge_group', { base: sha.main, head: sha.queue })
    expect(range).toEqual({ kind: 'compare', base: sha.main, head: sha.queue })
    expect(set.source).toBe('api')
    expect(changedPaths(set.files)).toEqual(['queued.txt'])
  })

  test.each<EventFixture>(['push-tag-semver', 'push-tag-other', 'workflow_dispatch', 'schedule'])(
    '%s: no diff',
    async fixture => {
      const { range, set } = await run(fixture, { head: sha.main })
      expect(range.kind).toBe('none')
      expect(set).toMatchObject({ source: 'none', files: [] })
      expect(server.requests).toHaveLength(0)
      expect(log.warnings).toEqual([])
    }
  )
})

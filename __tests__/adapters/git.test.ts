import { existsSync, mkdtempSync, realpathSync, rmSync, symlinkSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals'
import { commitFiles, git, makeRepo, renameFile } from '../../__fixtures__/github-api-server.js'
import { createWorkspaceFiles } from '../../src/adapters/workspace-files.js'
import { createGit, GitError } from '../../src/adapters/git.js'
import { parseLsTreeZ, parseNameStatusZ } from '../../src/adapters/git-output.js'
import type { ChangedFile } from '../../src/core/types.js'

describe('parseNameStatusZ', () => {
  test.each<[string, string, ChangedFile[]]>([
    ['empty', '', []],
    ['modified', 'M\0a.txt\0', [{ path: 'a.txt', status: 'modified' }]],
    [
      'added, deleted, type change',
      'A\0new.txt\0D\0old.txt\0T\0link\0',
      [
        { path: 'new.txt', status: 'added' },
        { path: 'old.txt', status: 'removed' },
        { path: 'link', status: 'changed' }
      ]
    ],
    [
      'rename and copy carry both paths',
      'R100\0from/a.txt\0to/a.txt\0C075\0x\0y\0',
      [
        { path: 'to/a.txt', status: 'renamed', previousPath: 'from/a.txt' },
        { path: 'y', status: 'copied', previousPath: 'x' }
      ]
    ],
    [
      'space, tab, newline and non-ASCII in names',
      'M\0a b.txt\0A\0tab\there\0A\0new\nline\0R090\0ü.txt\0日本/ü.txt\0',
      [
        { path: 'a b.txt', status: 'modified' },
        { path: 'tab\there', status: 'added' },
        { path: 'new\nline', status: 'added' },
        { path: '日本/ü.txt', status: 'renamed', previousPath: 'ü.txt' }
      ]
    ],
    [
      'no trailing NUL',
      'M\0a\0D\0b',
      [
        { path: 'a', status: 'modified' },
        { path: 'b', status: 'removed' }
      ]
    ]
  ])('%s', (_name, out, expected) => {
    expect(parseNameStatusZ(out)).toEqual(expected)
  })

  test('output cut inside a rename is an error, not a wrong list', () => {
    expect(() => parseNameStatusZ('R100\0only-old')).toThrow(/ends inside a R100 entry/)
  })

  test('parseLsTreeZ', () => {
    expect(parseLsTreeZ('a\0dir/b c\0new\nline\0')).toEqual(['a', 'dir/b c', 'new\nline'])
  })
})

describe('createGit on a real repository', () => {
  let repo: ReturnType<typeof makeRepo>
  let first: string
  let second: string
  let branchTip: string
  const odd = ['with space.txt', 'tab\tname.txt', 'new\nline.txt', 'ünïcødé/日本語.txt', '-dash.txt']

  beforeAll(() => {
    repo = makeRepo()
    first = commitFiles(
      repo.dir,
      { 'keep.txt': 'k\n', 'gone.txt': 'g\n', 'move/me.txt': 'rename me\n'.repeat(20) },
      'files'
    )
    commitFiles(repo.dir, Object.fromEntries(odd.map(n => [n, `${n}\n`])), 'odd names')
    commitFiles(repo.dir, { 'gone.txt': null, 'keep.txt': 'k2\n' }, 'delete and modify')
    second = renameFile(repo.dir, 'move/me.txt', 'moved/me.txt')
    branchTip = commitFiles(repo.dir, { 'feature.txt': 'f\n' }, 'feature', { branch: 'feature', from: first })
    git(repo.dir, 'checkout', '-q', 'main')
  })
  afterAll(() => repo.cleanup())

  test('diff lists added, modified, removed and renamed files with names intact', async () => {
    const files = await createGit(repo.dir).diff(first, second)
    const byPath = Object.fromEntries(files.map(f => [f.path, f]))
    expect(files).toHaveLength(odd.length + 3)
    for (const n of odd) expect(byPath[n]).toEqual({ path: n, status: 'added' })
    expect(byPath['keep.txt'].status).toBe('modified')
    expect(byPath['gone.txt'].status).toBe('removed')
    expect(byPath['moved/me.txt']).toEqual({
      path: 'moved/me.txt',
      status: 'renamed',
      previousPath: 'move/me.txt'
    })
  })

  test('diff of the same commit is empty', async () => {
    expect(await createGit(repo.dir).diff(second, second)).toEqual([])
  })

  test('hasCommit knows present commits and refs, and not missing ones', async () => {
    const g = createGit(repo.dir)
    expect(await g.hasCommit(first)).toBe(true)
    expect(await g.hasCommit('refs/heads/feature')).toBe(true)
    expect(await g.hasCommit('1234567890123456789012345678901234567890')).toBe(false)
  })

  test('a revision that looks like an option is refused, never passed to git', async () => {
    const g = createGit(repo.dir)
    expect(await g.hasCommit('--output=/tmp/x')).toBe(false)
    await expect(g.diff('--output=/tmp/strata-pwned', second)).rejects.toThrow(GitError)
    await expect(g.diff(first, 'HEAD --stat')).rejects.toThrow(/not a git revision/)
  })

  test('mergeBase finds the fork point, undefined for an unknown commit', async () => {
    const g = createGit(repo.dir)
    expect(await g.mergeBase(second, branchTip)).toBe(first)
    expect(await g.mergeBase(second, 'ffffffffffffffffffffffffffffffffffffffff')).toBeUndefined()
  })

  test('allFiles lists every file of a commit as added', async () => {
    const files = await createGit(repo.dir).allFiles(second)
    const paths = files.map(f => f.path).sort()
    expect(paths).toEqual(['README.md', 'keep.txt', 'moved/me.txt', ...odd].sort())
    expect(new Set(files.map(f => f.status))).toEqual(new Set(['added']))
  })

  test('a shallow clone has only its tip', async () => {
    const shallow = makeRepo()
    try {
      git(shallow.dir, 'fetch', '-q', '--depth', '1', `file://${repo.dir}`, 'main')
      const g = createGit(shallow.dir)
      expect(await g.hasCommit(second)).toBe(true)
      expect(await g.hasCommit(first)).toBe(false)
    } finally {
      shallow.cleanup()
    }
  })
})

describe('createGit: what the CLI asks of a local clone', () => {
  let repo: ReturnType<typeof makeRepo>
  let first: string
  let tip: string

  beforeAll(() => {
    repo = makeRepo()
    first = repo.sha
    tip = commitFiles(repo.dir, { 'sub/a.txt': 'a\n' }, 'second')
    git(repo.dir, 'tag', 'v1', first)
    git(repo.dir, 'tag', '-a', '-m', 'annotated', 'v2', tip)
  })
  afterAll(() => repo.cleanup())

  test('topLevel is the work tree top, also from a sub-folder; undefined outside a work tree', async () => {
    const top = realpathSync(repo.dir)
    expect(await createGit(repo.dir).topLevel()).toBe(top)
    expect(await createGit(join(repo.dir, 'sub')).topLevel()).toBe(top)
    const outside = mkdtempSync(join(tmpdir(), 'strata-no-repo-'))
    try {
      expect(await createGit(outside).topLevel()).toBeUndefined()
    } finally {
      rmSync(outside, { recursive: true, force: true })
    }
  })

  test.each<[string, () => string, () => string | undefined]>([
    ['HEAD', () => 'HEAD', () => tip],
    ['a branch', () => 'main', () => tip],
    ['a full ref', () => 'refs/heads/main', () => tip],
    ['a relative revision', () => 'HEAD~1', () => first],
    ['a lightweight tag', () => 'v1', () => first],
    ['an annotated tag, peeled to its commit', () => 'v2', () => tip],
    ['an abbreviated sha', () => first.slice(0, 10), () => first],
    ['a reflog date with spaces', () => 'HEAD@{0 seconds ago}', () => tip],
    ['a missing branch', () => 'no-such-branch', () => undefined],
    ['a missing sha', () => 'f'.repeat(40), () => undefined],
    ['a tree, not a commit', () => 'HEAD^{tree}', () => undefined],
    ['two revisions', () => 'HEAD main', () => undefined]
  ])('revParse: %s', async (_, rev, want) => {
    expect(await createGit(repo.dir).revParse(rev())).toBe(want())
  })

  test('commitTime: the committer time of a commit (a tag peeled), undefined for one the workspace lacks', async () => {
    const g = createGit(repo.dir)
    const seconds = Number(git(repo.dir, 'show', '-s', '--format=%ct', tip))
    expect((await g.commitTime(tip))?.getTime()).toBe(seconds * 1000)
    expect((await g.commitTime('v2'))?.getTime()).toBe(seconds * 1000)
    expect(await g.commitTime('f'.repeat(40))).toBeUndefined()
    await expect(g.commitTime('--output=x')).rejects.toThrow(/not a git revision/)
  })

  test('revParse refuses a revision that git could read as an option, and runs nothing', async () => {
    const out = join(repo.dir, 'pwned')
    const g = createGit(repo.dir)
    await expect(g.revParse(`--output=${out}`)).rejects.toThrow(GitError)
    await expect(g.revParse('-q')).rejects.toThrow(/not a git revision: "-q"/)
    await expect(g.revParse('')).rejects.toThrow(GitError)
    expect(existsSync(out)).toBe(false)
  })

  test('symbolicRef: the branch of HEAD, undefined when detached or missing, origin/HEAD once set', async () => {
    const g = createGit(repo.dir)
    expect(await g.symbolicRef('HEAD')).toBe('main')
    expect(await g.symbolicRef('refs/remotes/origin/HEAD')).toBeUndefined()
    git(repo.dir, 'update-ref', 'refs/remotes/origin/trunk', first)
    git(repo.dir, 'symbolic-ref', 'refs/remotes/origin/HEAD', 'refs/remotes/origin/trunk')
    expect(await g.symbolicRef('refs/remotes/origin/HEAD')).toBe('origin/trunk')
    git(repo.dir, 'checkout', '-q', '--detach', first)
    try {
      expect(await g.symbolicRef('HEAD')).toBeUndefined()
    } finally {
      git(repo.dir, 'checkout', '-q', 'main')
    }
    await expect(g.symbolicRef('--short')).rejects.toThrow(GitError)
  })

  test('remoteUrl: undefined without the remote, its URL with it; an option is refused', async () => {
    const g = createGit(repo.dir)
    expect(await g.remoteUrl('origin')).toBeUndefined()
    git(repo.dir, 'remote', 'add', 'origin', 'https://github.com/acme/sindri.git')
    expect(await g.remoteUrl('origin')).toBe('https://github.com/acme/sindri.git')
    expect(await g.remoteUrl('upstream')).toBeUndefined()
    await expect(g.remoteUrl('--push')).rejects.toThrow(GitError)
  })
})

describe('createGit: the index and the tracked files (content ids, `paths` checks)', () => {
  let repo: ReturnType<typeof makeRepo>
  beforeAll(() => {
    repo = makeRepo()
    commitFiles(repo.dir, { 'a.txt': 'a\n', 'dir/b c.txt': 'b\n' }, 'files')
  })
  afterAll(() => repo.cleanup())

  test('index, modified and tracked read the work tree', async () => {
    const g = createGit(repo.dir)
    writeFileSync(join(repo.dir, 'a.txt'), 'changed\n')
    const index = await g.index()
    expect(index?.get('dir/b c.txt')).toEqual({
      mode: '100644',
      oid: git(repo.dir, 'rev-parse', 'HEAD:dir/b c.txt')
    })
    expect(await g.modified()).toEqual(['a.txt'])
    expect(await g.tracked()).toEqual(expect.arrayContaining(['a.txt', 'dir/b c.txt']))
    git(repo.dir, 'checkout', '--', 'a.txt')
  })

  test('outside a work tree: undefined, so every file is read from disk', async () => {
    const outside = mkdtempSync(join(tmpdir(), 'strata-no-repo-'))
    try {
      expect(await createGit(outside).index()).toBeUndefined()
      expect(await createGit(outside).tracked()).toBeUndefined()
    } finally {
      rmSync(outside, { recursive: true, force: true })
    }
  })

  // The workspace's tracked files once came from a git of their own that turned any failure into
  // "not a repository" and went on with the files on disk.
  test('a broken index is an error naming git and the command, not "no repository"', async () => {
    const broken = makeRepo()
    try {
      writeFileSync(join(broken.dir, '.git', 'index'), 'not an index')
      const g = createGit(broken.dir)
      await expect(g.tracked()).rejects.toThrow(/^git ls-files -z --cached failed: .*index/)
      await expect(g.index()).rejects.toThrow(GitError)
      await expect(createWorkspaceFiles(broken.dir, g).tracked()).rejects.toThrow(/git ls-files/)
    } finally {
      broken.cleanup()
    }
  })
})

describe('indexRead: the index, its settings and paths from one sh', () => {
  const repos: (() => void)[] = []
  afterAll(() => repos.forEach(r => r()))
  const repo = (): string => {
    const r = makeRepo({ files: { 'a.txt': 'a\n', 'sub/b.txt': 'b\n' } })
    repos.push(r.cleanup)
    return r.dir
  }

  test('reads what the three commands say, one by one', async () => {
    const dir = repo()
    git(dir, 'config', 'core.autocrlf', 'input')
    const read = await createGit(dir).indexRead()
    expect([...read!.entries.keys()]).toEqual(git(dir, 'ls-files', '-z').split('\0').filter(Boolean))
    expect(read!.entries.get('sub/b.txt')?.oid).toBe(git(dir, 'rev-parse', ':sub/b.txt').trim())
    expect(read!.config['core.autocrlf']).toBe('input')
    expect([read!.indexFile, read!.infoAttributes]).toEqual(
      git(dir, 'rev-parse', '--path-format=absolute', '--git-path', 'index', '--git-path', 'info/attributes')
        .trim()
        .split('\n')
    )
  })

  test('a setting is data: quotes and $( ) in a config value run nothing', async () => {
    const dir = repo()
    const hostile = `$(touch ${join(dir, 'pwned')})'; touch ${join(dir, 'pwned2')}; '\`touch x\``
    git(dir, 'config', 'core.attributesfile', hostile)
    const read = await createGit(dir).indexRead()
    expect(read!.config['core.attributesfile']).toBe(hostile)
    expect(['pwned', 'pwned2', 'x'].filter(f => existsSync(join(dir, f)))).toEqual([])
  })

  test('without sh on PATH (a Windows runner), the three commands run apart: the same answer', async () => {
    const dir = repo()
    const bin = mkdtempSync(join(tmpdir(), 'strata-git-only-'))
    // A PATH that has git (a link to it) and no sh.
    symlinkSync(join(git(dir, '--exec-path').trim(), 'git'), join(bin, 'git'))
    const withSh = await createGit(dir).indexRead()
    const path = process.env.PATH
    try {
      process.env.PATH = bin
      expect(await createGit(dir).indexRead()).toEqual(withSh)
      const outside = mkdtempSync(join(tmpdir(), 'strata-no-repo-'))
      expect(await createGit(outside).indexRead()).toBeUndefined()
      rmSync(outside, { recursive: true })
    } finally {
      process.env.PATH = path
      rmSync(bin, { recursive: true, force: true })
    }
  })

  test('outside a work tree: undefined', async () => {
    const outside = mkdtempSync(join(tmpdir(), 'strata-no-repo-'))
    try {
      expect(await createGit(outside).indexRead()).toBeUndefined()
    } finally {
      rmSync(outside, { recursive: true })
    }
  })
})

// The content-id adapter on real git repositories.
import { afterEach, expect, test } from '@jest/globals'
import { chmodSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { commitFiles, git, makeRepo } from '../../__fixtures__/github-api-server.js'
import { blobId, createContentIds } from '../../src/adapters/content-ids.js'
import { createGit } from '../../src/adapters/git.js'
import { parseLsFilesStageZ } from '../../src/adapters/git-output.js'
import { inputDigest, inputSettings, sha256 } from '../../src/core/input-digest.js'
import { layer } from '../../__fixtures__/layers.js'

const cleanups: (() => void)[] = []
afterEach(() => cleanups.splice(0).forEach(c => c()))

function repo(files: Record<string, string>): string {
  const r = makeRepo({ files })
  cleanups.push(r.cleanup)
  return r.dir
}
const hashObject = (dir: string, p: string): string => git(dir, 'hash-object', '--', p)
const staged = (dir: string, p: string): string => git(dir, 'ls-files', '-s', '--', p).split(/\s/)[1]

test('blobId is what git hash-object says, for any bytes', () => {
  const dir = repo({ 'a.txt': 'x' })
  const bytes: [string, Buffer][] = [
    ['empty', Buffer.alloc(0)],
    ['text', Buffer.from('hello\n')],
    ['binary', Buffer.from([0, 255, 10, 13, 0])]
  ]
  for (const [name, b] of bytes) {
    writeFileSync(join(dir, name), b)
    expect(blobId(b)).toBe(hashObject(dir, name))
  }
})

test('a tracked, unmodified file gets its blob id from the index without being read', async () => {
  const dir = repo({ 'docker/install-mise.sh': 'echo mise\n', 'Dockerfile.tooling': 'FROM x\n' })
  const ids = createContentIds(dir, createGit(dir))
  expect(await ids.ids(['docker/install-mise.sh', 'Dockerfile.tooling'])).toEqual({
    'docker/install-mise.sh': `100644 ${staged(dir, 'docker/install-mise.sh')}`,
    'Dockerfile.tooling': `100644 ${staged(dir, 'Dockerfile.tooling')}`
  })
  expect(ids.hashed).toBe(0)
})

test('a locally edited tracked file is hashed from its bytes, not taken from the index', async () => {
  const dir = repo({ 'a.sh': 'one\n' })
  const before = staged(dir, 'a.sh')
  writeFileSync(join(dir, 'a.sh'), 'two\n')
  const ids = createContentIds(dir, createGit(dir))
  expect(await ids.ids(['a.sh'])).toEqual({ 'a.sh': `100644 ${hashObject(dir, 'a.sh')}` })
  expect(hashObject(dir, 'a.sh')).not.toBe(before)
  expect(ids.hashed).toBe(1)
})

test('an executable bit and a symlink are part of the id', async () => {
  const dir = repo({ 'run.sh': 'echo\n', 'target.txt': 't\n' })
  chmodSync(join(dir, 'run.sh'), 0o755)
  symlinkSync('target.txt', join(dir, 'link'))
  const ids = await createContentIds(dir, createGit(dir)).ids(['run.sh', 'link'])
  expect(ids).toEqual({
    'run.sh': `100755 ${hashObject(dir, 'run.sh')}`,
    link: `120000 ${blobId(Buffer.from('target.txt'))}`
  })
  // git agrees once they are committed
  commitFiles(dir, {}, 'add link and mode')
  expect(await createContentIds(dir, createGit(dir)).ids(['run.sh', 'link'])).toEqual(ids)
})

test('the same bytes give the same id tracked or generated (not in git, even ignored)', async () => {
  const dir = repo({ '.gitignore': 'dist/\n', 'committed/app.js': 'console.log(1)\n' })
  writeFileSync(join(dir, 'generated.js'), 'console.log(1)\n')
  mkdirSync(join(dir, 'dist'))
  writeFileSync(join(dir, 'dist/app.js'), 'console.log(1)\n')
  const ids = await createContentIds(dir, createGit(dir)).ids([
    'committed/app.js',
    'generated.js',
    'dist/app.js'
  ])
  expect(ids['generated.js']).toBe(ids['committed/app.js'])
  expect(ids['dist/app.js']).toBe(ids['committed/app.js'])
})

// A workflow step generates dist/app.js (not in git); the Dockerfile COPYs it. The digest is made
// from what the build reads: a changed generated file changes it, so an older image is never reused.
test('a changed generated file changes the input digest; the same one gives the same digest', async () => {
  const dir = repo({ '.gitignore': 'dist/\n', Dockerfile: 'FROM x\nCOPY dist/app.js /app/\n' })
  mkdirSync(join(dir, 'dist'))
  const settings = inputSettings(layer('app', { dockerfile: 'Dockerfile' }))
  const digestOfRun = async (generated: string): Promise<string> => {
    writeFileSync(join(dir, 'dist/app.js'), generated)
    const ids = await createContentIds(dir, createGit(dir)).ids(['Dockerfile', 'dist/app.js'])
    return inputDigest({
      settings,
      dockerfile: sha256('FROM x\nCOPY dist/app.js /app/\n'),
      files: Object.entries(ids).map(([path, id]) => ({ path, id })),
      parents: {},
      externals: {}
    })
  }
  const first = await digestOfRun('build 1\n')
  const second = await digestOfRun('build 2\n')
  const again = await digestOfRun('build 1\n')
  expect(second).not.toBe(first)
  expect(again).toBe(first)
})

test('outside a git work tree every file is hashed', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'strata-nogit-'))
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }))
  writeFileSync(join(dir, 'a'), 'a\n')
  const ids = createContentIds(dir, createGit(dir))
  expect(await ids.ids(['a'])).toEqual({ a: `100644 ${blobId(Buffer.from('a\n'))}` })
  expect(ids.hashed).toBe(1)
})

test.each([
  ['../outside', 'is not a path inside the repository'],
  ['/etc/passwd', 'is not a path inside the repository'],
  ['a/../../b', 'is not a path inside the repository'],
  ['missing.txt', 'input file "missing.txt" does not exist in the workspace']
])('%s is refused: %s', async (p, message) => {
  const dir = repo({ 'a.txt': 'a' })
  await expect(createContentIds(dir, createGit(dir)).ids([p])).rejects.toThrow(message)
})

test('a tracked file deleted from the work tree is an error, not its old blob', async () => {
  const dir = repo({ 'a.txt': 'a' })
  rmSync(join(dir, 'a.txt'))
  await expect(createContentIds(dir, createGit(dir)).ids(['a.txt'])).rejects.toThrow(
    'input file "a.txt" does not exist'
  )
})

test.each<[string, string, [string, string, string][]]>([
  ['empty', '', []],
  [
    'files with spaces and newlines',
    `100644 ${'a'.repeat(40)} 0\ta b\u0000100755 ${'b'.repeat(40)} 0\tnew\nline\0`,
    [
      ['a b', '100644', 'a'.repeat(40)],
      ['new\nline', '100755', 'b'.repeat(40)]
    ]
  ],
  [
    'a conflicted path is left out (it is hashed from the work tree)',
    `100644 ${'a'.repeat(40)} 1\tc\u0000100644 ${'b'.repeat(40)} 2\tc\u0000100644 ${'c'.repeat(64)} 0\td\0`,
    [['d', '100644', 'c'.repeat(64)]]
  ]
])('parseLsFilesStageZ: %s', (_name, out, want) => {
  expect([...parseLsFilesStageZ(out)].map(([p, e]) => [p, e.mode, e.oid])).toEqual(want)
})

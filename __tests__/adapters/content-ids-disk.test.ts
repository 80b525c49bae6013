// SPEC 4a: content ids are the bytes on disk, whatever git's index says. Each class where git's view
// differs from what BuildKit sends is set up on a real repository; the id must be the blob id of the
// bytes on disk with the mode on disk (what `git hash-object --no-filters` and stat say).
import { afterEach, expect, test } from '@jest/globals'
import { execFileSync } from 'node:child_process'
import {
  chmodSync,
  mkdirSync,
  readFileSync,
  rmSync,
  statSync,
  symlinkSync,
  utimesSync,
  writeFileSync
} from 'node:fs'
import { join } from 'node:path'
import { git, makeRepo } from '../../__fixtures__/github-api-server.js'
import { blobId, createContentIds } from '../../src/adapters/content-ids.js'
import { createGit } from '../../src/adapters/git.js'
import { parseCheckAttr, parseLsFilesDebug } from '../../src/adapters/git-output.js'

const cleanups: (() => void)[] = []
afterEach(() => cleanups.splice(0).forEach(c => c()))

function repo(files: Record<string, string>): string {
  const r = makeRepo({ files })
  cleanups.push(r.cleanup)
  return r.dir
}
/** What BuildKit sends for a regular file: its bytes and its full mode. */
function onDisk(dir: string, p: string): string {
  const mode = statSync(join(dir, p)).mode.toString(8).padStart(6, '0')
  return `${mode} ${blobId(readFileSync(join(dir, p)))}`
}
const staged = (dir: string, p: string): string => git(dir, 'ls-files', '-s', '--', p).split(/\s/)[1]
/** Lets the index's own mtime fall behind the files' (git's racy-clean rule would hide nothing else). */
const settle = (): Promise<void> => new Promise(r => setTimeout(r, 20))

type Setup = (dir: string) => void
test.each<[string, Record<string, string>, Setup]>([
  [
    'core.autocrlf=true: the checkout has CRLF, the index LF',
    { 'a.txt': 'one\ntwo\n' },
    dir => {
      git(dir, 'config', 'core.autocrlf', 'true')
      rmSync(join(dir, 'a.txt'))
      git(dir, 'checkout', '--', 'a.txt')
    }
  ],
  [
    'a clean/smudge filter (LFS-like): the disk holds the smudged bytes',
    { '.gitattributes': 'a.txt filter=up\n', 'a.txt': 'lower\n' },
    dir => {
      git(dir, 'config', 'filter.up.smudge', 'tr a-z A-Z')
      git(dir, 'config', 'filter.up.clean', 'tr A-Z a-z')
      rmSync(join(dir, 'a.txt'))
      git(dir, 'checkout', '--', 'a.txt')
    }
  ],
  [
    'an eol attribute: text eol=crlf',
    { '.gitattributes': '*.txt text eol=crlf\n', 'a.txt': 'x\ny\n' },
    dir => {
      rmSync(join(dir, 'a.txt'))
      git(dir, 'checkout', '--', 'a.txt')
    }
  ],
  [
    'assume-unchanged: git does not look at the edited file',
    { 'a.txt': 'before\n' },
    dir => {
      git(dir, 'update-index', '--assume-unchanged', 'a.txt')
      writeFileSync(join(dir, 'a.txt'), 'after!\n')
    }
  ],
  [
    'skip-worktree: git does not look at the edited file',
    { 'a.txt': 'before\n' },
    dir => {
      git(dir, 'update-index', '--skip-worktree', 'a.txt')
      writeFileSync(join(dir, 'a.txt'), 'after!\n')
    }
  ],
  [
    'core.fileMode=false: the exec bit git does not record',
    { 'a.sh': 'echo\n' },
    dir => {
      git(dir, 'config', 'core.fileMode', 'false')
      chmodSync(join(dir, 'a.sh'), 0o755)
    }
  ],
  [
    'permission bits other than the exec bit (0664)',
    { 'a.txt': 'x\n' },
    dir => chmodSync(join(dir, 'a.txt'), 0o664)
  ],
  [
    // git itself (built without USE_NSEC, as Debian's is) calls this file unchanged: same size, same
    // mtime, a ctime in the same second. Its recorded stat data, compared to the microsecond, does not.
    'new bytes of the same size under the recorded mtime, core.checkStat=minimal, core.trustctime=false',
    { 'a.txt': 'before\n' },
    dir => {
      git(dir, 'config', 'core.checkStat', 'minimal')
      git(dir, 'config', 'core.trustctime', 'false')
      const past = new Date(Date.now() - 60_000)
      utimesSync(join(dir, 'a.txt'), past, past)
      git(dir, 'update-index', '--refresh')
      writeFileSync(join(dir, 'a.txt'), 'after!\n')
      utimesSync(join(dir, 'a.txt'), past, past)
    }
  ],
  [
    'a stat that differs from the index, same bytes',
    { 'a.txt': 'x\n' },
    dir => writeFileSync(join(dir, 'a.txt'), 'x\n')
  ]
])('%s: the id is the bytes and mode on disk', async (_name, files, setup) => {
  const dir = repo(files)
  setup(dir)
  await settle()
  const p = Object.keys(files).find(f => f !== '.gitattributes')!
  const ids = await createContentIds(dir, createGit(dir)).ids([p])
  expect(ids[p]).toBe(onDisk(dir, p))
})

test('the index stands in for an unmodified file only when it holds the same bytes', async () => {
  const dir = repo({ 'a.txt': 'x\n', 'crlf.txt': 'y\n', '.gitattributes': 'crlf.txt text eol=crlf\n' })
  rmSync(join(dir, 'crlf.txt'))
  git(dir, 'checkout', '--', 'crlf.txt')
  await settle()
  const ids = createContentIds(dir, createGit(dir))
  const got = await ids.ids(['a.txt', 'crlf.txt'])
  expect(got['a.txt']).toBe(`100644 ${staged(dir, 'a.txt')}`)
  expect(got['crlf.txt']).not.toBe(`100644 ${staged(dir, 'crlf.txt')}`)
  expect(got['crlf.txt']).toBe(onDisk(dir, 'crlf.txt'))
  expect(ids.hashed).toBe(1) // crlf.txt alone was read
})

test('folders count by their mode, empty ones too', async () => {
  const dir = repo({ 'd/a': 'a' })
  mkdirSync(join(dir, 'd/empty'))
  const ids = createContentIds(dir, createGit(dir))
  const before = await ids.entries(['d', 'd/empty'])
  expect(before).toEqual({ d: { id: '040755 folder' }, 'd/empty': { id: '040755 folder' } })
  chmodSync(join(dir, 'd/empty'), 0o700)
  expect((await ids.entries(['d/empty']))['d/empty']).toEqual({ id: '040700 folder' })
})

test('a link is its target path; followed (a named COPY source), it is what it points to', async () => {
  const dir = repo({ 'real.txt': 'content\n', 'dir/x': 'x' })
  symlinkSync('real.txt', join(dir, 'link.txt'))
  symlinkSync('dir', join(dir, 'linkdir'))
  symlinkSync('/etc/hostname', join(dir, 'outside'))
  symlinkSync('nowhere', join(dir, 'dangling'))
  const ids = createContentIds(dir, createGit(dir))
  const kept = await ids.entries(['link.txt', 'linkdir'])
  expect(kept['link.txt']).toEqual({ id: `120000 ${blobId(Buffer.from('real.txt'))}` })
  const followed = await ids.entries(['link.txt', 'linkdir', 'outside', 'dangling'], { follow: true })
  expect(followed['link.txt']).toEqual({ id: onDisk(dir, 'real.txt') })
  expect(followed.linkdir).toEqual({ id: '040755 folder' })
  expect(followed.outside.problem).toMatch(/"outside" is a link to outside the repository/)
  expect(followed.dangling.problem).toMatch(/"dangling" does not exist/)
  // The target's content changes: the followed id changes, the link's own does not.
  writeFileSync(join(dir, 'real.txt'), 'changed\n')
  const again = await createContentIds(dir, createGit(dir)).entries(['link.txt'], { follow: true })
  expect(again['link.txt']).not.toEqual(followed['link.txt'])
})

test('a fifo and a backslash in a name are problems of that path alone, named', async () => {
  const dir = repo({ 'ok.txt': 'ok\n' })
  execFileSync('mkfifo', [join(dir, 'pipe')])
  writeFileSync(join(dir, 'back\\slash'), 'x')
  const got = await createContentIds(dir, createGit(dir)).entries(['ok.txt', 'pipe', 'back\\slash'])
  expect(got['ok.txt']).toEqual({ id: onDisk(dir, 'ok.txt') })
  expect(got.pipe.problem).toBe('input file "pipe" is a fifo, which a build cannot read')
  expect(got['back\\slash'].problem).toMatch(/"back\\\\slash" has a backslash in its name/)
})

test('parseLsFilesDebug reads flags and stat data; parseCheckAttr the converting attributes', () => {
  const oid = 'a'.repeat(40)
  const debug = '  ctime: 1:2\n  mtime: 3:4\n  dev: 5\tino: 6\n  uid: 0\tgid: 0\n  size: 7\tflags: 0\n'
  const out = `h 100644 ${oid} 0\ta b\0${debug}S 100755 ${oid} 0\tc\0${debug}`
  // Read from an offset (what comes before is another command's output), non-ASCII names decoded.
  const sha256 = 'b'.repeat(64)
  const more = Buffer.from(`skip\0H 100644 ${sha256} 0\tü/日本.txt\0${debug}H 100644 ${oid} 2\tx\0${debug}`)
  expect([...parseLsFilesDebug(more, 5)].map(([p, e]) => [p, e.oid])).toEqual([['ü/日本.txt', sha256]])
  expect(() => parseLsFilesDebug(Buffer.from(`H 100644 ${oid} 0\ta\0  ctime: x\n`))).toThrow(
    'unexpected git ls-files stat data: "x\\n"'
  )
  expect(() => parseLsFilesDebug(Buffer.from(`H 100644 abc 0\ta\0`))).toThrow('unexpected git ls-files line')
  expect([...parseLsFilesDebug(Buffer.from(out))]).toEqual([
    [
      'a b',
      {
        tag: 'h',
        mode: '100644',
        oid,
        stat: { ctimeS: 1, ctimeNs: 2, mtimeS: 3, mtimeNs: 4, ino: 6, size: 7 }
      }
    ],
    [
      'c',
      {
        tag: 'S',
        mode: '100755',
        oid,
        stat: { ctimeS: 1, ctimeNs: 2, mtimeS: 3, mtimeNs: 4, ino: 6, size: 7 }
      }
    ]
  ])
  const attrs = 'a\0filter\0unspecified\0a\0text\0unset\0b\0filter\0lfs\0c\0eol\0crlf\0'
  expect([...parseCheckAttr(attrs)]).toEqual(['b', 'c'])
})

// git prints a conflicted entry's (zeroed) stat data too: the reader used to take it for an entry and
// fail the whole plan ("unexpected git ls-files line") in a checkout with a merge conflict.
test('a merge conflict in the checkout: the conflicted file is its bytes on disk, the others as before', async () => {
  const dir = repo({ 'f.txt': 'a\n', 'g.txt': 'x\n' })
  git(dir, 'checkout', '-q', '-b', 'other')
  writeFileSync(join(dir, 'f.txt'), 'b\n')
  git(dir, 'commit', '-qam', 'other')
  git(dir, 'checkout', '-q', 'main')
  writeFileSync(join(dir, 'f.txt'), 'c\n')
  git(dir, 'commit', '-qam', 'main')
  expect(() => git(dir, 'merge', '-q', 'other')).toThrow()
  await settle()
  const ids = await createContentIds(dir, createGit(dir)).ids(['f.txt', 'g.txt'])
  expect(ids).toEqual({ 'f.txt': onDisk(dir, 'f.txt'), 'g.txt': onDisk(dir, 'g.txt') })
  expect(readFileSync(join(dir, 'f.txt'), 'utf8')).toContain('<<<<<<<')
})

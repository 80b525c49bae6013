// SPEC 11: the registry requests of an application-only change whose layer is assembled (SPEC 7a),
// counted by a plain HTTP proxy on loopback in front of the real registry: no request (method and URL)
// is sent twice in the run, and the whole step (plan look-ups, assembly, tag moves) makes exactly the
// requests it needs, each named below.
import { chmodSync, copyFileSync, cpSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { jest } from '@jest/globals'
import { commitFiles, git } from '../__fixtures__/github-api-server.js'
import { uniqueRepo } from '../__fixtures__/images/index.js'
import { startPassThroughProxy, type PassThroughProxy } from '../__fixtures__/registry-proxy.js'
import { cli } from '../src/cli.js'

jest.setTimeout(300_000)

const root = join(dirname(fileURLToPath(import.meta.url)), '..')
const tmp = mkdtempSync(join(tmpdir(), 'strata-assemble-requests-'))
const repo = join(tmp, 'repo')
const seen: string[] = []
let proxy: PassThroughProxy
let c0: string

beforeAll(async () => {
  proxy = await startPassThroughProxy(5000, req => {
    seen.push(`${req.method} ${req.url}`)
    return false
  })
  const host = proxy.host
  const image = uniqueRepo('assemble-requests').replace('localhost:5000', host)
  cpSync(join(root, 'examples/three-layer'), repo, { recursive: true })
  const configFile = join(repo, '.github/strata.yml')
  writeFileSync(configFile, readFileSync(configFile, 'utf8').replace('localhost:5000/strata-example', image))
  copyFileSync('/bin/busybox', join(repo, 'busybox'))
  chmodSync(join(repo, 'busybox'), 0o755)
  git(repo, 'init', '-q', '-b', 'main')
  git(repo, 'add', '-A')
  git(repo, 'commit', '-q', '-m', 'three layers')
  c0 = git(repo, 'rev-parse', 'HEAD')
})

afterAll(() => proxy.close())

async function build(base: string): Promise<{ code: number; out: string; err: string }> {
  let out = ''
  let err = ''
  const code = await cli(['build', '--push', '--json', '--base', base, '-C', repo], {
    out: t => void (out += t),
    err: t => void (err += t)
  })
  return { code, out, err }
}

test('an assembled application-only change repeats no registry request and makes few', async () => {
  const first = await build(c0)
  expect(first.code).toBe(0)
  const c1 = commitFiles(repo, { 'docker/app/hello.sh': 'echo "counted hello"\n' }, 'app: say it')
  seen.length = 0
  const r = await build(c0)
  expect(r.err).toContain('app: assembled in the registry as')
  const inputTag = (JSON.parse(r.out) as { layers: { app: { tags: string[] } } }).layers.app.tags[1]
    .split(':')
    .at(-1)
  expect(r.code).toBe(0)
  // Every POST that starts an upload has the same URL and starts a new upload; nothing else repeats.
  const sent = seen.filter(line => !/^POST \/v2\/.+\/blobs\/uploads\/$/.test(line))
  expect(sent.filter((line, i) => sent.indexOf(line) !== i)).toEqual([])
  // What the run needs, each once (SPEC 11: at most 10 a platform plus the blob uploads):
  const path = (line: string): string => line.replace(/^\S+ \/v2\/[^]+?\/(manifests|blobs)\//, '$1/')
  const by = (re: RegExp): string[] => seen.filter(l => re.test(l)).map(path)
  // the plan's stable-tag look-ups, one GET each (the bytes are kept: no HEAD then GET by digest);
  expect(by(/^GET .*\/manifests\/[^:]+$/).sort()).toEqual([
    'manifests/base-stable',
    'manifests/latest',
    'manifests/tooling-stable'
  ])
  // the linux/amd64 manifest of base and tooling, whose annotations are their labels (SPEC 4a's `inputs
  // changed since`), tooling's being the assembler's parent too (read once), and tooling's config, the
  // parent config of the new one; app builds anyway (`always`), so its stable image's labels are not read;
  expect(by(/^GET .*\/manifests\/sha256:/)).toHaveLength(2)
  expect(by(/^GET .*\/blobs\/sha256:/)).toHaveLength(1)
  // the new layer's blob: one POST that mounts it from the repository itself if it were there (it is
  // not: the registry starts the upload), then its bytes; the new config, uploaded without asking (it
  // names this commit: no registry has it yet);
  expect(by(/^HEAD /)).toEqual([])
  expect(
    seen.filter(l => /^POST \/v2\/.+\/blobs\/uploads\/\?mount=sha256%3A[0-9a-f]{64}&from=/.test(l))
  ).toHaveLength(1)
  expect(seen.filter(l => /^POST \/v2\/.+\/blobs\/uploads\/$/.test(l))).toHaveLength(1)
  expect(seen.filter(l => /^PUT \/v2\/.+\/blobs\/uploads\//.test(l))).toHaveLength(2)
  // the one-platform manifest under the versioned tag, the input tag and the moving tag (no index).
  expect(by(/^PUT .*\/manifests\//).sort()).toEqual(
    [`manifests/${inputTag}`, 'manifests/latest', `manifests/main-${c1.slice(0, 7)}`].sort()
  )
  expect(seen).toHaveLength(3 + 3 + 4 + 3)
})

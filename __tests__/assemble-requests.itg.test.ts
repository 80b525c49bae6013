// SPEC 11: the registry requests of an application-only change whose layer is assembled (SPEC 7a),
// counted by a plain HTTP proxy on loopback in front of the real registry: no request (method and URL)
// is sent twice in the run, and the whole step (plan look-ups, stable-tag checks, assembly, tag moves)
// stays within a fixed number.
import { chmodSync, copyFileSync, cpSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { createServer, request, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { jest } from '@jest/globals'
import { commitFiles, git } from '../__fixtures__/github-api-server.js'
import { uniqueRepo } from '../__fixtures__/images/index.js'
import { cli } from '../src/cli.js'

jest.setTimeout(300_000)

const root = join(dirname(fileURLToPath(import.meta.url)), '..')
const tmp = mkdtempSync(join(tmpdir(), 'strata-assemble-requests-'))
const repo = join(tmp, 'repo')
const seen: string[] = []
let server: Server
let c0: string

/** Forwards every request to the registry as it came (Host kept, so upload Locations point back here). */
function startCountingProxy(): Promise<string> {
  server = createServer((req, res) => {
    seen.push(`${req.method} ${req.url}`)
    const up = request(
      { host: '127.0.0.1', port: 5000, method: req.method, path: req.url, headers: req.headers },
      answer => {
        res.writeHead(answer.statusCode ?? 502, answer.headers)
        answer.pipe(res)
      }
    )
    up.on('error', e => res.writeHead(502).end(e.message))
    req.pipe(up)
  })
  return new Promise(done =>
    server.listen(0, '127.0.0.1', () => done(`127.0.0.1:${(server.address() as AddressInfo).port}`))
  )
}

beforeAll(async () => {
  const host = await startCountingProxy()
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

afterAll(() => new Promise<void>(done => server.close(() => done())))

async function build(base: string): Promise<{ code: number; err: string }> {
  let err = ''
  const code = await cli(['build', '--push', '--json', '--base', base, '-C', repo], {
    out: () => undefined,
    err: t => void (err += t)
  })
  return { code, err }
}

test('an assembled application-only change repeats no registry request and makes few', async () => {
  const first = await build(c0)
  expect(first.code).toBe(0)
  commitFiles(repo, { 'docker/app/hello.sh': 'echo "counted hello"\n' }, 'app: say it')
  seen.length = 0
  const r = await build(c0)
  expect(r.err).toContain('app: assembled in the registry as')
  expect(r.code).toBe(0)
  // Every POST that starts an upload has the same URL and starts a new upload; nothing else repeats.
  const sent = seen.filter(line => !/^POST \/v2\/.+\/blobs\/uploads\/$/.test(line))
  expect(sent.filter((line, i) => sent.indexOf(line) !== i)).toEqual([])
  // The stable tags (HEAD ×3), the labels of each image (its manifest by digest, its platform
  // manifest, its config: ×3), two blobs (HEAD, POST, PUT: the app layer and its config) and the
  // manifest put under its digest and its three tags: 22, and 4 of the reads once came twice.
  expect(seen.filter(line => /^(GET|HEAD) /.test(line))).toHaveLength(14)
  expect(seen.length).toBeLessThanOrEqual(22)
})

// The local cache adapter: keys from real files, the swap of buildx's fresh cache, and a runner
// without the Actions cache service (one notice, never a failure).
import { mkdir, mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises'
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { existsSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { createLocalCache, inputFiles, localCacheKeys, swapLocalCache } from '../../src/adapters/cache.js'
import type { LayerConfig } from '../../src/core/types.js'
import { layer as baseLayer } from '../../__fixtures__/layers.js'
import { recordingLog } from '../../__fixtures__/log.js'

const layer = (name: string, paths: string[]): LayerConfig =>
  baseLayer(name, { paths, image: 'localhost:5000/acme/app', cache: ['local'] })

async function workspace(files: Record<string, string>): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'strata-cache-'))
  await write(dir, files)
  return dir
}

async function write(dir: string, files: Record<string, string>): Promise<void> {
  for (const [f, content] of Object.entries(files)) {
    await mkdir(dirname(join(dir, f)), { recursive: true })
    await writeFile(join(dir, f), content)
  }
}

const TOOLING = ['Dockerfile.tooling', 'docker/scripts/install-*.sh', '!docker/scripts/install-packages.sh']

test('inputFiles reads the patterns in order, like SPEC 3, and skips .git', async () => {
  const ws = await workspace({
    'Dockerfile.tooling': 'FROM x',
    'docker/scripts/install-node.sh': 'node',
    'docker/scripts/install-packages.sh': 'apt',
    'docker/scripts/other.sh': 'other',
    '.git/docker/scripts/install-x.sh': 'git object',
    README: 'docs'
  })
  expect(await inputFiles(ws, TOOLING)).toEqual(['Dockerfile.tooling', 'docker/scripts/install-node.sh'])
  expect(await inputFiles(ws, ['docker/'])).toEqual([
    'docker/scripts/install-node.sh',
    'docker/scripts/install-packages.sh',
    'docker/scripts/other.sh'
  ])
  expect(await inputFiles(ws, [])).toEqual([])
})

test('the key follows the content of the input files only; restore keys: this branch, then the default one', async () => {
  const ws = await workspace({
    'Dockerfile.tooling': 'FROM x',
    'docker/scripts/install-node.sh': 'node 20',
    'docker/scripts/install-packages.sh': 'apt',
    'app.txt': 'app'
  })
  const l = layer('tooling', TOOLING)
  const first = await localCacheKeys(ws, l, 'feature-x', 'main')
  expect(first.key).toMatch(/^strata-local-tooling-feature-x-[0-9a-f]{32}$/)
  expect(first.restoreKeys).toEqual(['strata-local-tooling-feature-x-', 'strata-local-tooling-main-'])

  // Files that are no input of the layer (unmatched, or excluded by `!`) leave the key alone.
  await write(ws, { 'app.txt': 'app 2', 'docker/scripts/install-packages.sh': 'apt 2', 'new.md': 'x' })
  expect((await localCacheKeys(ws, l, 'feature-x', 'main')).key).toBe(first.key)

  // An input's content, a new input and a symlink input each change it.
  await write(ws, { 'docker/scripts/install-node.sh': 'node 22' })
  const changed = await localCacheKeys(ws, l, 'feature-x', 'main')
  expect(changed.key).not.toBe(first.key)
  await write(ws, { 'docker/scripts/install-go.sh': 'go' })
  const added = await localCacheKeys(ws, l, 'feature-x', 'main')
  expect(added.key).not.toBe(changed.key)
  await symlink('install-go.sh', join(ws, 'docker/scripts/install-link.sh'))
  expect((await localCacheKeys(ws, l, 'feature-x', 'main')).key).not.toBe(added.key)

  // On the default branch: one restore key; another layer: another key.
  const onMain = await localCacheKeys(ws, l, 'main', 'main')
  expect(onMain.restoreKeys).toEqual(['strata-local-tooling-main-'])
  expect(onMain.key.slice(-32)).toBe((await localCacheKeys(ws, l, 'feature-x', 'main')).key.slice(-32))
  expect((await localCacheKeys(ws, layer('base', TOOLING), 'main', 'main')).key).toMatch(
    /^strata-local-base-main-/
  )
})

test('swapLocalCache puts the fresh cache in place of the old one', async () => {
  const root = await mkdtemp(join(tmpdir(), 'strata-swap-'))
  const dir = join(root, 'tooling')
  expect(await swapLocalCache(dir)).toBe(false)
  await write(root, {
    'tooling/index.json': 'old',
    'tooling/blobs/old': 'old blob',
    'tooling-new/index.json': 'new'
  })
  expect(await swapLocalCache(dir)).toBe(true)
  expect(await readFile(join(dir, 'index.json'), 'utf8')).toBe('new')
  expect(existsSync(join(dir, 'blobs/old'))).toBe(false)
  expect(existsSync(`${dir}-new`)).toBe(false)
  expect(await swapLocalCache(dir)).toBe(false)
})

describe('without the Actions cache service', () => {
  const saved = { ...process.env }
  beforeEach(() => {
    delete process.env.ACTIONS_CACHE_URL
    delete process.env.ACTIONS_RESULTS_URL
  })
  afterEach(() => {
    process.env = { ...saved }
  })

  test('restore and save skip with one notice for the whole run, and never throw', async () => {
    const log = recordingLog()
    const c = createLocalCache(log)
    const ws = await workspace({ 'Dockerfile.tooling': 'FROM x', 'cache/tooling/index.json': '{}' })
    const keys = await localCacheKeys(ws, layer('tooling', TOOLING), 'main', 'main')
    expect(await c.restore(join(ws, 'cache/tooling'), keys)).toBeUndefined()
    expect(await c.save(join(ws, 'cache/tooling'), keys.key)).toBe(false)
    expect(await c.restore(join(ws, 'cache/base'), keys)).toBeUndefined()
    expect(log.lines).toEqual([
      'notice: local cache not kept between runs: the Actions cache service is not available here ' +
        '(neither ACTIONS_CACHE_URL nor ACTIONS_RESULTS_URL is set); the builder still uses the cache it has'
    ])
  })
})

/**
 * A local Actions cache service v2, as @actions/cache speaks to it: twirp JSON for
 * CreateCacheEntry / FinalizeCacheEntryUpload / GetCacheEntryDownloadURL, and blob upload
 * (Put Blob) and download (HEAD, ranged GET) on signed URLs served by the same server.
 */
async function cacheService(opts: { failCreate?: boolean } = {}) {
  const entries: { key: string; version: string; blob?: Buffer; done: boolean; at: number }[] = []
  const blobs = new Map<string, Buffer>()
  const calls: string[] = []
  let seq = 0
  const server = createServer(async (req, res) => {
    const chunks: Buffer[] = []
    for await (const c of req) chunks.push(c as Buffer)
    const body = Buffer.concat(chunks)
    const url = new URL(req.url ?? '/', base)
    const json = (status: number, o: unknown): void => {
      res.writeHead(status, { 'content-type': 'application/json' })
      res.end(JSON.stringify(o))
    }
    const twirp = /^\/twirp\/github\.actions\.results\.api\.v1\.CacheService\/(\w+)$/.exec(url.pathname)
    if (twirp && req.method === 'POST') {
      calls.push(twirp[1])
      if (req.headers.authorization !== 'Bearer runtime-token') return json(401, { msg: 'bad token' })
      const r = JSON.parse(body.toString()) as Record<string, unknown>
      const key = r.key as string
      const version = r.version as string
      if (twirp[1] === 'CreateCacheEntry') {
        if (opts.failCreate) return json(400, { code: 'invalid_argument', msg: 'refused by the test' })
        if (entries.some(e => e.key === key && e.version === version)) {
          return json(409, { code: 'already_exists', msg: 'cache entry exists' })
        }
        const id = `blob-${++seq}`
        entries.push({ key, version, done: false, at: seq })
        return json(200, { ok: true, signed_upload_url: `${base}devstoreaccount1/cache/${id}?sig=upload` })
      }
      if (twirp[1] === 'FinalizeCacheEntryUpload') {
        const e = entries.find(x => x.key === key && x.version === version)
        const blob = e && blobs.get(`blob-${entries.indexOf(e) + 1}`)
        if (!e || !blob || String(blob.length) !== String(r.size_bytes))
          return json(200, { ok: false, message: 'no upload' })
        e.done = true
        e.blob = blob
        return json(200, { ok: true, entry_id: String(entries.indexOf(e) + 1) })
      }
      if (twirp[1] === 'GetCacheEntryDownloadURL') {
        const ready = entries.filter(e => e.done && e.version === version).sort((a, b) => b.at - a.at)
        const exact = ready.find(e => e.key === key)
        const prefix = ((r.restore_keys as string[]) ?? [])
          .map(k => ready.find(e => e.key.startsWith(k)))
          .find(Boolean)
        const hit = exact ?? prefix
        if (!hit) return json(200, { ok: false })
        return json(200, {
          ok: true,
          matched_key: hit.key,
          signed_download_url: `${base}devstoreaccount1/cache/blob-${entries.indexOf(hit) + 1}?sig=download`
        })
      }
      return json(404, { code: 'bad_route', msg: twirp[1] })
    }
    const blob = /^\/devstoreaccount1\/cache\/(blob-\d+)$/.exec(url.pathname)?.[1]
    if (blob && req.method === 'PUT') {
      calls.push('PutBlob')
      blobs.set(blob, body)
      res.writeHead(201, { etag: `"${blob}"`, 'last-modified': new Date().toUTCString() })
      return res.end()
    }
    const data = blob ? blobs.get(blob) : undefined
    if (data && (req.method === 'HEAD' || req.method === 'GET')) {
      const range = /bytes=(\d+)-(\d*)/.exec(String(req.headers['x-ms-range'] ?? req.headers.range ?? ''))
      const start = range ? Number(range[1]) : 0
      const end = range && range[2] ? Math.min(Number(range[2]), data.length - 1) : data.length - 1
      const part = data.subarray(start, end + 1)
      res.writeHead(range ? 206 : 200, {
        'content-length': String(part.length),
        'content-type': 'application/octet-stream',
        'x-ms-blob-type': 'BlockBlob',
        etag: `"${blob}"`,
        'last-modified': new Date().toUTCString(),
        ...(range ? { 'content-range': `bytes ${start}-${end}/${data.length}` } : {})
      })
      return res.end(req.method === 'HEAD' ? undefined : part)
    }
    res.writeHead(404)
    res.end()
  })
  await new Promise<void>(r => server.listen(0, '127.0.0.1', r))
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`
  return { base, calls, entries, close: () => new Promise<void>(r => server.close(() => r())) }
}

describe('with an Actions cache service (v2)', () => {
  const saved = { ...process.env }
  let service: Awaited<ReturnType<typeof cacheService>>
  const useService = async (o?: { failCreate?: boolean }): Promise<void> => {
    service = await cacheService(o)
    delete process.env.ACTIONS_CACHE_URL
    Object.assign(process.env, {
      ACTIONS_CACHE_SERVICE_V2: 'true',
      ACTIONS_RESULTS_URL: service.base,
      ACTIONS_RUNTIME_TOKEN: 'runtime-token',
      GITHUB_SERVER_URL: 'https://github.com'
    })
  }
  afterEach(async () => {
    process.env = { ...saved }
    await service?.close()
  })

  test('saves a layer cache and restores it: same key, then this branch, then the default branch', async () => {
    await useService()
    const log = recordingLog()
    const c = createLocalCache(log)
    const ws = await workspace({
      'Dockerfile.tooling': 'FROM x',
      'docker/scripts/install-node.sh': 'node 20'
    })
    const dir = join(await mkdtemp(join(tmpdir(), 'strata-runner-')), 'strata-cache', 'tooling')
    await write(dir, { 'index.json': '{"v":1}', 'blobs/sha256/aa': 'layer bytes' })
    const l = layer('tooling', TOOLING)
    const onMain = await localCacheKeys(ws, l, 'main', 'main')
    expect(await c.save(dir, onMain.key)).toBe(true)
    expect(service.calls).toEqual(['CreateCacheEntry', 'PutBlob', 'FinalizeCacheEntryUpload'])

    // A fresh runner: the directory comes back from the exact key.
    await rm(dir, { recursive: true })
    const fresh = createLocalCache(log)
    expect(await fresh.restore(dir, onMain)).toBe(onMain.key)
    expect(await readFile(join(dir, 'blobs/sha256/aa'), 'utf8')).toBe('layer bytes')
    // Restored from that very key: nothing to save.
    expect(await fresh.save(dir, onMain.key)).toBe(false)

    // A branch with other inputs: no entry of its own yet, so the default branch's.
    await write(ws, { 'docker/scripts/install-node.sh': 'node 22' })
    const onBranch = await localCacheKeys(ws, l, 'feature-x', 'main')
    await rm(dir, { recursive: true })
    expect(await createLocalCache(log).restore(dir, onBranch)).toBe(onMain.key)
    await write(dir, { 'index.json': '{"v":2}' })
    expect(await createLocalCache(log).save(dir, onBranch.key)).toBe(true)
    // Then the branch's own entry wins over the default branch's.
    await write(ws, { 'docker/scripts/install-node.sh': 'node 24' })
    const next = await localCacheKeys(ws, l, 'feature-x', 'main')
    await rm(dir, { recursive: true })
    expect(await createLocalCache(log).restore(dir, next)).toBe(onBranch.key)
    expect(await readFile(join(dir, 'index.json'), 'utf8')).toBe('{"v":2}')
    expect(log.lines.filter(l => l.startsWith('warning') || l.startsWith('notice'))).toEqual([])
  })

  test('a cache service that refuses is no failure: save reports false, restore a miss', async () => {
    await useService({ failCreate: true })
    const log = recordingLog()
    const c = createLocalCache(log)
    const dir = await workspace({ 'index.json': '{}' })
    expect(await c.save(dir, 'strata-local-app-main-0123')).toBe(false)
    expect(
      await c.restore(dir, { key: 'strata-local-app-main-0123', restoreKeys: ['strata-local-app-main-'] })
    ).toBeUndefined()
    expect(service.calls).toEqual(['CreateCacheEntry', 'GetCacheEntryDownloadURL'])
  })
})

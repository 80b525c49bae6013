// Against the real registries of scripts/stack.sh: localhost:5000 (open, delete enabled) and
// localhost:5001 (htpasswd: strata / strata-test), plus a proxy for pagination, Bearer and faults.
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { dockerAuth } from '../../src/adapters/docker-auth.js'
import { createOciRegistry } from '../../src/adapters/oci-registry.js'
import { nextLink, parseChallenge } from '../../src/adapters/registry-http.js'
import {
  pushTestImage,
  pushTestIndex,
  registryTags,
  startRegistryProxy,
  type RegistryProxy
} from '../../__fixtures__/registry-proxy.js'

const OPEN = 'http://127.0.0.1:5000'
const AUTH = 'http://127.0.0.1:5001'
const USER = { username: 'strata', password: 'strata-test' }
const repo = (): string =>
  `strata-test/oci-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 8)}`
const day = (n: number): Date => new Date(Date.UTC(2026, 10, n))

let dir: string
const proxies: RegistryProxy[] = []
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'strata-oci-'))
})
afterAll(async () => {
  await Promise.all(proxies.map(p => p.close()))
  await rm(dir, { recursive: true, force: true })
})

async function dockerConfig(auths: Record<string, string>): Promise<string> {
  const d = await mkdtemp(join(dir, 'docker-'))
  const entries = Object.fromEntries(
    Object.entries(auths).map(([h, a]) => [h, { auth: Buffer.from(a).toString('base64') }])
  )
  await writeFile(join(d, 'config.json'), JSON.stringify({ auths: entries }))
  return d
}

async function proxy(opts: Parameters<typeof startRegistryProxy>[0]): Promise<RegistryProxy> {
  const p = await startRegistryProxy(opts)
  proxies.push(p)
  return p
}

test('lists tags grouped by digest, with config created times and index children', async () => {
  const name = repo()
  const a = await pushTestImage(OPEN, name, {
    created: day(1),
    id: 'a',
    tags: ['base-aaaaaaa', 'base-stable']
  })
  const b = await pushTestImage(OPEN, name, { created: day(2), id: 'b', tags: ['pr-1'] })
  const arm = await pushTestImage(OPEN, name, { created: day(3), id: 'arm', tags: [] })
  const idx = await pushTestIndex(OPEN, name, [b, arm], ['latest'])
  const reg = createOciRegistry({ image: `localhost:5000/${name}`, dockerConfig: dir })
  const images = (await reg.listImages()).sort((x, y) => x.tags[0].localeCompare(y.tags[0]))
  expect(images).toEqual([
    {
      digest: a.digest,
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      created: day(1),
      tags: ['base-aaaaaaa', 'base-stable']
    },
    {
      digest: idx.digest,
      mediaType: 'application/vnd.oci.image.index.v1+json',
      created: day(2),
      children: [b.digest, arm.digest],
      tags: ['latest']
    },
    {
      digest: b.digest,
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      created: day(2),
      tags: ['pr-1']
    }
  ])
})

test('a missing repository has no tags', async () => {
  const reg = createOciRegistry({ image: `localhost:5000/${repo()}`, dockerConfig: dir })
  await expect(reg.listTags()).resolves.toEqual([])
})

test('deleting a digest removes every tag on it', async () => {
  const name = repo()
  const a = await pushTestImage(OPEN, name, { created: day(1), id: 'a', tags: ['x', 'y'] })
  await pushTestImage(OPEN, name, { created: day(2), id: 'b', tags: ['z'] })
  const reg = createOciRegistry({ image: `localhost:5000/${name}`, dockerConfig: dir })
  await reg.deleteManifest(a.digest)
  expect(await registryTags(OPEN, name)).toEqual(['z'])
  await expect(reg.deleteManifest(a.digest)).resolves.toBeUndefined() // already gone
})

test('follows Link pagination to the last page', async () => {
  const name = repo()
  const tags = Array.from({ length: 7 }, (_, i) => `t${i}`)
  await pushTestImage(OPEN, name, { created: day(1), id: 'a', tags })
  const p = await proxy({ upstream: OPEN, pageSize: 3 })
  const reg = createOciRegistry({ image: `${p.host}/${name}`, dockerConfig: dir, pageSize: 3 })
  expect((await reg.listTags()).sort()).toEqual(tags)
  expect(p.requests.filter(r => r.page !== undefined).map(r => r.page)).toEqual([1, 2, 3])
})

test.each([
  ['HTTP 500', 'error', /listing tags of 127\.0\.0\.1:\d+\/strata-test\/oci-.* \(page 2\): HTTP 500/],
  ['a cut-off page', 'truncated', /listing tags of .*: page 2 is not valid JSON/]
] as const)('a tag list page that fails (%s) fails the whole listing', async (_n, fault, message) => {
  const name = repo()
  await pushTestImage(OPEN, name, { created: day(1), id: 'a', tags: ['a', 'b', 'c', 'd', 'e'] })
  const p = await proxy({ upstream: OPEN, pageSize: 2, fault: r => (r.page === 2 ? fault : undefined) })
  const reg = createOciRegistry({ image: `${p.host}/${name}`, dockerConfig: dir })
  await expect(reg.listTags()).rejects.toThrow(message)
  // A 500 is retried twice before giving up.
  expect(p.requests.filter(r => r.page === 2)).toHaveLength(fault === 'error' ? 3 : 1)
})

test('basic auth from the Docker config (htpasswd registry)', async () => {
  const name = repo()
  const a = await pushTestImage(AUTH, name, { created: day(4), id: 'a', tags: ['one', 'two'], auth: USER })
  await pushTestImage(AUTH, name, { created: day(5), id: 'b', tags: ['three'], auth: USER })
  const cfg = await dockerConfig({ 'localhost:5001': 'strata:strata-test' })
  const reg = createOciRegistry({ image: `localhost:5001/${name}`, dockerConfig: cfg })
  const images = await reg.listImages()
  expect(images.map(i => i.tags.join(',')).sort()).toEqual(['one,two', 'three'])
  expect(images.find(i => i.digest === a.digest)?.created).toEqual(day(4))
  await reg.deleteManifest(a.digest)
  expect(await registryTags(AUTH, name, USER)).toEqual(['three'])

  const none = createOciRegistry({ image: `localhost:5001/${name}`, dockerConfig: await dockerConfig({}) })
  await expect(none.listTags()).rejects.toThrow(
    /^localhost:5001 asks for credentials \(HTTP 401\) and the Docker config \(.*\/config\.json\) has none for it: log in first \(docker\/login-action\)$/
  )
  const wrong = createOciRegistry({
    image: `localhost:5001/${name}`,
    dockerConfig: await dockerConfig({ 'https://localhost:5001': 'strata:nope' })
  })
  await expect(wrong.listTags()).rejects.toThrow(
    /listing tags of localhost:5001\/.* \(page 1\): HTTP 401: the credentials lack permission/
  )
})

test('Bearer: fetches a token with the basic credentials, with the delete scope to delete', async () => {
  const name = repo()
  const a = await pushTestImage(OPEN, name, { created: day(6), id: 'a', tags: ['keep', 'go'] })
  await pushTestImage(OPEN, name, { created: day(7), id: 'b', tags: ['other'] })
  const p = await proxy({ upstream: OPEN, bearer: USER })
  const reg = createOciRegistry({
    image: `${p.host}/${name}`,
    dockerConfig: await dockerConfig({ [p.host]: 'strata:strata-test' })
  })
  expect((await reg.listImages()).map(i => i.tags.join(',')).sort()).toEqual(['go,keep', 'other'])
  await reg.deleteManifest(a.digest)
  expect(await registryTags(OPEN, name)).toEqual(['other'])

  const bad = createOciRegistry({
    image: `${p.host}/${name}`,
    dockerConfig: await dockerConfig({ [p.host]: 'strata:nope' })
  })
  await expect(bad.listTags()).rejects.toThrow(
    `${p.host}: the token service ${p.url}/token refused user strata (HTTP 401)`
  )
})

test.each([
  [
    'Bearer realm="https://ghcr.io/token",service="ghcr.io",scope="repository:a/b:pull"',
    'bearer',
    { realm: 'https://ghcr.io/token', service: 'ghcr.io', scope: 'repository:a/b:pull' }
  ],
  ['Basic realm="strata"', 'basic', { realm: 'strata' }]
])('parseChallenge(%s)', (header, scheme, params) => {
  expect(parseChallenge(header)).toEqual({ scheme, params })
})

test('nextLink resolves a relative Link against the request', () => {
  expect(nextLink('</v2/a/tags/list?n=2&last=b>; rel="next"', 'http://h:1/v2/a/tags/list?n=2')).toBe(
    'http://h:1/v2/a/tags/list?n=2&last=b'
  )
  expect(nextLink(null, 'http://h')).toBeUndefined()
})

test('dockerAuth reads auth and username/password entries', async () => {
  const d = await mkdtemp(join(dir, 'docker-'))
  await writeFile(
    join(d, 'config.json'),
    JSON.stringify({ auths: { 'https://ghcr.io/v1/': { username: 'u', password: 'p' } } })
  )
  await expect(dockerAuth('ghcr.io', { dir: d })).resolves.toEqual({ username: 'u', password: 'p' })
  await expect(dockerAuth('quay.io', { dir: d })).resolves.toBeUndefined()
})

// The registry adapter over HTTP, against the real registries of scripts/stack.sh (open on :5000,
// htpasswd on :5001) and the proxy of __fixtures__/registry-proxy.ts (Bearer, Docker Hub's answers).
import { execFileSync } from 'node:child_process'
import { createHash, randomBytes } from 'node:crypto'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { dockerAuth } from '../../src/adapters/docker-auth.js'
import { createRegistry, denialHint, missing } from '../../src/adapters/registry.js'
import { buildAndPush } from '../../__fixtures__/images/index.js'
import {
  pushTestImage,
  pushTestIndex,
  registryTags,
  startRegistryProxy,
  type RegistryProxy
} from '../../__fixtures__/registry-proxy.js'

const REGISTRY = 'http://127.0.0.1:5000'
const AUTH = 'http://127.0.0.1:5001'
const USER = { username: 'strata', password: 'strata-test' }
const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json'
const OCI_INDEX = 'application/vnd.oci.image.index.v1+json'
const ACCEPT = [OCI_INDEX, OCI_MANIFEST, 'application/vnd.docker.distribution.manifest.v2+json'].join(', ')
const uniqueName = (): string => `strata-test/registry-${randomBytes(4).toString('hex')}`

let dir: string
const proxies: RegistryProxy[] = []
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'strata-registry-'))
})
afterAll(async () => {
  await Promise.all(proxies.map(p => p.close()))
  await rm(dir, { recursive: true, force: true })
})

async function proxy(opts: Parameters<typeof startRegistryProxy>[0]): Promise<RegistryProxy> {
  const p = await startRegistryProxy(opts)
  proxies.push(p)
  return p
}

/** A Docker config directory holding `config`. */
async function dockerConfig(config: object): Promise<string> {
  const d = await mkdtemp(join(dir, 'docker-'))
  await writeFile(join(d, 'config.json'), JSON.stringify(config))
  return d
}

async function manifestOf(
  registry: string,
  name: string,
  ref: string
): Promise<{ digest: string | null; type: string | null; body: string }> {
  const res = await fetch(`${registry}/v2/${name}/manifests/${ref}`, { headers: { accept: ACCEPT } })
  return {
    digest: res.headers.get('docker-content-digest'),
    type: res.headers.get('content-type'),
    body: await res.text()
  }
}

test('inspect: the digest and media type of an image and of an index; null for a missing tag or repository', async () => {
  const name = uniqueName()
  const image = await pushTestImage(REGISTRY, name, { created: new Date(), id: name, tags: ['one'] })
  const other = await pushTestImage(REGISTRY, name, { created: new Date(), id: `${name}-2`, tags: [] })
  const index = await pushTestIndex(REGISTRY, name, [image, other], ['multi'])
  const registry = createRegistry()
  const repo = `localhost:5000/${name}`
  expect(await registry.inspect(`${repo}:one`)).toEqual({ digest: image.digest, mediaType: OCI_MANIFEST })
  expect(await registry.inspect(`${repo}:multi`)).toEqual({ digest: index.digest, mediaType: OCI_INDEX })
  expect(await registry.inspect(`${repo}@${image.digest}`)).toEqual({
    digest: image.digest,
    mediaType: OCI_MANIFEST
  })
  expect(await registry.inspect(`${repo}:missing`)).toBeNull()
  expect(await registry.inspect(`localhost:5000/${uniqueName()}:latest`)).toBeNull()
  expect(registry.requests.every(r => r.startsWith('HEAD http://localhost:5000/v2/'))).toBe(true)
})

test('inspect on a registry that answers as Docker Hub does: a name that does not exist is not found', async () => {
  const name = uniqueName()
  const image = await pushTestImage(REGISTRY, name, { created: new Date(), id: name, tags: ['v1'] })
  const hub = await proxy({ upstream: REGISTRY, hub: true, bearer: USER })
  const anonymous = createRegistry({ dockerConfig: await dockerConfig({}) })
  expect(await anonymous.inspect(`${hub.host}/${name}:v1`)).toEqual({
    digest: image.digest,
    mediaType: OCI_MANIFEST
  })
  expect(await anonymous.inspect(`${hub.host}/${name}:v2`)).toBeNull()
  // No such repository: the anonymous token grants nothing and the registry says 401 UNAUTHORIZED. Only
  // Docker Hub itself (by its host names, see missing()) is taken at that word; on any other host the
  // same refusal may hide an image that needs a login, so the look-up fails (SPEC 8: unknown).
  const never = uniqueName()
  await expect(anonymous.inspect(`${hub.host}/${never}:latest`)).rejects.toThrow(
    /HTTP 401 UNAUTHORIZED: authentication required — log in to 127\.0\.0\.1:\d+ before Strata runs/
  )
  const denied = hub.requests.filter(r => r.path === `/v2/${never}/manifests/latest`)
  expect(denied.length).toBeGreaterThanOrEqual(2) // asked, then asked again with the token: still 401
  expect(denied.at(-1)?.authorization).toMatch(/^Bearer /)

  const loggedIn = createRegistry({ dockerConfig: await dockerConfig({ auths: { [hub.host]: USER } }) })
  expect(await loggedIn.inspect(`${hub.host}/${never}:latest`)).toBeNull()
  expect(await loggedIn.inspect(`${hub.host}/${name}:v1`)).toEqual({
    digest: image.digest,
    mediaType: OCI_MANIFEST
  })
})

const body = (errors: object[]): Buffer => Buffer.from(JSON.stringify({ errors }))
test.each([
  ['404 without a body', 404, Buffer.alloc(0), undefined, 'localhost:5000', true],
  ['404 MANIFEST_UNKNOWN', 404, body([{ code: 'MANIFEST_UNKNOWN' }]), undefined, 'ghcr.io', true],
  ['400 NAME_UNKNOWN', 400, body([{ code: 'NAME_UNKNOWN' }]), undefined, 'quay.io', true],
  [
    'Hub, anonymous token, 401 UNAUTHORIZED',
    401,
    body([{ code: 'UNAUTHORIZED' }]),
    'anonymous',
    'docker.io',
    true
  ],
  ['Hub, logged-in token, 401', 401, body([{ code: 'UNAUTHORIZED' }]), 'credentials', 'docker.io', true],
  // SPEC 8: outside Docker Hub a refusal after an anonymous token is a registry this run cannot read
  // (the image may exist and need a login), never a tag that does not exist.
  ['any registry, anonymous token, 401', 401, Buffer.alloc(0), 'anonymous', 'ghcr.io', false],
  [
    'any registry, anonymous token, 403 DENIED',
    403,
    body([{ code: 'DENIED' }]),
    'anonymous',
    'ghcr.io',
    false
  ],
  [
    '"pull access denied" text',
    403,
    body([{ code: 'DENIED', message: 'pull access denied for x' }]),
    undefined,
    'ghcr.io',
    true
  ],
  [
    'GHCR, logged-in token, 403 DENIED',
    403,
    body([{ code: 'DENIED', message: 'denied' }]),
    'credentials',
    'ghcr.io',
    false
  ],
  [
    'basic auth refused (no token)',
    401,
    body([{ code: 'UNAUTHORIZED' }]),
    undefined,
    'localhost:5001',
    false
  ],
  ['Hub without a token exchange', 401, body([{ code: 'UNAUTHORIZED' }]), undefined, 'docker.io', false],
  ['500', 500, body([{ code: 'UNKNOWN' }]), 'anonymous', 'docker.io', false],
  ['429', 429, Buffer.alloc(0), undefined, 'docker.io', false]
] as const)('missing(): %s (HTTP %d)', (_n, status, b, afterToken, host, expected) => {
  expect(missing({ status, body: b, afterToken }, host)).toBe(expected)
})

test('look-ups are memoized: one request per ref, even when asked at once', async () => {
  const name = uniqueName()
  const repo = `localhost:5000/${name}`
  const tags = ['a', 'b', 'c', 'd']
  const pushed = await Promise.all(
    tags.map(t => pushTestImage(REGISTRY, name, { created: new Date(), id: t, tags: [t] }))
  )
  const registry = createRegistry()
  const refs = [...tags, ...tags, 'zzz', 'zzz'].map(t => `${repo}:${t}`)
  const first = await Promise.all(refs.map(r => registry.inspect(r)))
  const again = await Promise.all(refs.map(r => registry.inspect(r)))
  const digests = [...pushed, ...pushed].map(p => p.digest)
  expect(first.map(i => i?.digest ?? null)).toEqual([...digests, null, null])
  expect(again).toEqual(first)
  expect([...registry.requests].sort()).toEqual(
    [...tags, 'zzz'].map(t => `HEAD http://localhost:5000/v2/${name}/manifests/${t}`).sort()
  )
})

test.each([
  [8, 4],
  [2, 2],
  [1, 1]
])('look-ups run side by side: at most `parallel` (%d) at once', async (parallel, expected) => {
  const name = uniqueName()
  const tags = ['a', 'b', 'c', 'd']
  await pushTestImage(REGISTRY, name, { created: new Date(), id: name, tags })
  const p = await proxy({ upstream: REGISTRY, delay: 150 })
  const registry = createRegistry({ parallel })
  await Promise.all(tags.map(t => registry.inspect(`${p.host}/${name}:${t}`)))
  expect(p.maxInFlight()).toBe(expected)
})

test('retag puts the source manifest byte for byte under every tag: a single image stays a single image', async () => {
  const name = uniqueName()
  const repo = `localhost:5000/${name}`
  const v1 = await pushTestImage(REGISTRY, name, { created: new Date(), id: 'v1', tags: ['v1', 'latest'] })
  const v2 = await pushTestImage(REGISTRY, name, { created: new Date(), id: 'v2', tags: ['v2'] })
  const registry = createRegistry()
  expect(await registry.inspect(`${repo}:latest`)).toEqual({ digest: v1.digest, mediaType: OCI_MANIFEST })

  await registry.retag(`${repo}:v2@${v2.digest}`, [`${repo}:latest`, `${repo}:stable`])
  expect(await registryTags(REGISTRY, name)).toEqual(['latest', 'stable', 'v1', 'v2'])
  const source = await manifestOf(REGISTRY, name, v2.digest)
  for (const tag of ['latest', 'stable']) {
    expect(await manifestOf(REGISTRY, name, tag)).toEqual({ ...source, digest: v2.digest })
  }
  expect((await manifestOf(REGISTRY, name, 'v1')).digest).toBe(v1.digest)
  expect(registry.requests.filter(r => r.startsWith('PUT')).sort()).toEqual([
    `PUT http://localhost:5000/v2/${name}/manifests/latest`,
    `PUT http://localhost:5000/v2/${name}/manifests/stable`
  ])
  // The memo forgot the moved tag: the next look-up asks again and sees the move.
  expect(await registry.inspect(`${repo}:latest`)).toEqual({ digest: v2.digest, mediaType: OCI_MANIFEST })
  expect(
    registry.requests.filter(r => r === `HEAD http://localhost:5000/v2/${name}/manifests/latest`)
  ).toHaveLength(2)
})

test('retag refuses a target in another repository, a digest target, and a source that does not exist', async () => {
  const name = uniqueName()
  const v1 = await pushTestImage(REGISTRY, name, { created: new Date(), id: 'v1', tags: ['v1'] })
  const registry = createRegistry()
  const src = `localhost:5000/${name}@${v1.digest}`
  await expect(registry.retag(src, [`localhost:5000/${name}-other:latest`])).rejects.toThrow(
    `cannot tag ${src} as localhost:5000/${name}-other:latest: localhost:5000/${name}-other:latest must be a tag (repo:tag) in localhost:5000/${name}, the source's repository`
  )
  await expect(registry.retag(src, [`localhost:5000/${name}@${v1.digest}`])).rejects.toThrow(
    /must be a tag \(repo:tag\)/
  )
  await expect(registry.retag(`localhost:5000/${name}:nope`, [`localhost:5000/${name}:x`])).rejects.toThrow(
    `cannot tag localhost:5000/${name}:nope as localhost:5000/${name}:x: localhost:5000/${name}:nope does not exist in the registry`
  )
  expect(await registryTags(REGISTRY, name)).toEqual(['v1'])
})

describe('a two-platform image built by buildx', () => {
  let name: string
  let built: string
  let work: string
  beforeAll(async () => {
    name = uniqueName()
    work = await mkdtemp(join(dir, 'build-'))
    await writeFile(
      join(work, 'Dockerfile'),
      'FROM scratch\nARG TARGETARCH\nCOPY hello.txt /hello-${TARGETARCH}.txt\nLABEL strata.test=two-platform\n'
    )
    await writeFile(join(work, 'hello.txt'), `${name}\n`)
    const meta = join(work, 'meta.json')
    await buildAndPush([
      '--platform',
      'linux/amd64,linux/arm64',
      '--push',
      '--metadata-file',
      meta,
      '-t',
      `localhost:5000/${name}:built`,
      work
    ])
    built = (JSON.parse(execFileSync('cat', [meta], { encoding: 'utf8' })) as Record<string, string>)[
      'containerimage.digest'
    ]
  }, 300_000)

  test('retag keeps the index digest; labels come from its linux/amd64 image', async () => {
    const repo = `localhost:5000/${name}`
    const registry = createRegistry()
    expect(await registry.inspect(`${repo}:built`)).toEqual({ digest: built, mediaType: OCI_INDEX })
    await registry.retag(`${repo}:built@${built}`, [`${repo}:latest`, `${repo}:two-stable`])
    expect(await registry.inspect(`${repo}:latest`)).toEqual({ digest: built, mediaType: OCI_INDEX })
    expect((await manifestOf(REGISTRY, name, 'two-stable')).digest).toBe(built)
    expect(await registry.labels(`${repo}:latest`)).toEqual({ 'strata.test': 'two-platform' })
  })

  test('putIndex over the two platform manifests gives an index of exactly those digests', async () => {
    const repo = `localhost:5000/${name}`
    const index = JSON.parse((await manifestOf(REGISTRY, name, built)).body) as {
      manifests: {
        digest: string
        size: number
        mediaType: string
        platform: { os: string; architecture: string }
      }[]
    }
    const images = index.manifests.filter(m => m.platform.os === 'linux')
    expect(images.map(m => m.platform.architecture).sort()).toEqual(['amd64', 'arm64'])
    const registry = createRegistry()
    const digest = await registry.putIndex(
      images.map(m => ({ digest: m.digest, platform: `linux/${m.platform.architecture}` })),
      [`${repo}:merged`, `${repo}:merged-abc1234`]
    )
    const merged = await manifestOf(REGISTRY, name, 'merged')
    expect(merged.digest).toBe(digest)
    expect((await manifestOf(REGISTRY, name, 'merged-abc1234')).digest).toBe(digest)
    expect(merged.type).toBe(OCI_INDEX)
    expect(JSON.parse(merged.body)).toEqual({
      schemaVersion: 2,
      mediaType: OCI_INDEX,
      manifests: images.map(m => ({
        mediaType: m.mediaType,
        digest: m.digest,
        size: m.size,
        platform: { architecture: m.platform.architecture, os: 'linux' }
      }))
    })
    expect(await registry.labels(`${repo}:merged`)).toEqual({ 'strata.test': 'two-platform' })
  })
})

test('putIndex: platform variants, and clear errors for a bad platform, digest, index or repository', async () => {
  const name = uniqueName()
  const repo = `localhost:5000/${name}`
  const amd = await pushTestImage(REGISTRY, name, { created: new Date(), id: 'amd', tags: [] })
  const arm = await pushTestImage(REGISTRY, name, { created: new Date(), id: 'arm', tags: [] })
  const idx = await pushTestIndex(REGISTRY, name, [amd, arm], ['idx'])
  const registry = createRegistry()
  const digest = await registry.putIndex(
    [
      { digest: amd.digest, platform: 'linux/amd64' },
      { digest: arm.digest, platform: 'linux/arm64/v8' }
    ],
    [`${repo}:merged`]
  )
  expect(JSON.parse((await manifestOf(REGISTRY, name, digest)).body).manifests).toEqual([
    {
      mediaType: OCI_MANIFEST,
      digest: amd.digest,
      size: amd.size,
      platform: { architecture: 'amd64', os: 'linux' }
    },
    {
      mediaType: OCI_MANIFEST,
      digest: arm.digest,
      size: arm.size,
      platform: { architecture: 'arm64', os: 'linux', variant: 'v8' }
    }
  ])
  const what = `cannot put an index under ${repo}:bad`
  for (const [manifests, message] of [
    [[{ digest: amd.digest, platform: 'linux' }], `${what}: the platform "linux" is not os/arch[/variant]`],
    [
      [{ digest: 'sha256:zz', platform: 'linux/amd64' }],
      `${what}: "sha256:zz" (linux/amd64) is not a sha256 digest`
    ],
    [
      [{ digest: idx.digest, platform: 'linux/amd64' }],
      `${what}: ${idx.digest} (linux/amd64) is ${OCI_INDEX}, not one platform's image manifest`
    ],
    [
      [{ digest: `sha256:${'0'.repeat(64)}`, platform: 'linux/amd64' }],
      `${what}: localhost:5000/${name}@sha256:${'0'.repeat(64)} (linux/amd64): HTTP 404`
    ],
    [[], `${what}: no platform manifests given`]
  ] as const) {
    await expect(registry.putIndex([...manifests], [`${repo}:bad`])).rejects.toThrow(message)
  }
  await expect(
    registry.putIndex(
      [{ digest: amd.digest, platform: 'linux/amd64' }],
      [`${repo}:a`, `localhost:5000/${name}-x:b`]
    )
  ).rejects.toThrow(
    /must be a tag \(repo:tag\) in localhost:5000\/strata-test\/registry-[0-9a-f]+, the source's repository/
  )
  await expect(registry.putIndex([{ digest: amd.digest, platform: 'linux/amd64' }], [])).rejects.toThrow(
    'putIndex needs at least one tag'
  )
  expect(await registryTags(REGISTRY, name)).toEqual(['idx', 'merged'])
})

test("labels: an image's Labels, an index's linux/amd64 image even when listed second, null when missing", async () => {
  const name = uniqueName()
  const repo = `localhost:5000/${name}`
  const amd = await pushTestImage(REGISTRY, name, { created: new Date(), id: 'amd', tags: ['amd'] })
  const arm = await pushTestImage(REGISTRY, name, { created: new Date(), id: 'arm', tags: [] })
  // pushTestIndex calls its first child amd64 and its second arm64.
  await pushTestIndex(REGISTRY, name, [arm, amd], ['arm-first'])
  const registry = createRegistry()
  expect(await registry.labels(`${repo}:amd`)).toEqual({ 'strata.test.id': 'amd' })
  expect(await registry.labels(`${repo}:arm-first`)).toEqual({ 'strata.test.id': 'arm' })
  expect(await registry.labels(`${repo}:missing`)).toBeNull()
  expect(await registry.labels(`localhost:5000/${uniqueName()}:x`)).toBeNull()
})

describe('credentials from the Docker config', () => {
  let helperDir: string
  let stdinLog: string
  const env = (): Record<string, string> => ({
    PATH: `${helperDir}:${process.env.PATH}`,
    STRATA_HELPER_LOG: stdinLog
  })
  beforeAll(async () => {
    helperDir = await mkdtemp(join(dir, 'helpers-'))
    stdinLog = join(helperDir, 'stdin.log')
    // A credential helper as docker-credential-* are: `get`, the server on stdin, JSON on stdout.
    await writeFile(
      join(helperDir, 'docker-credential-strata-test'),
      `#!/bin/sh\n[ "$1" = get ] || exit 2\nread -r server\nprintf '%s\\n' "$server" >> "$STRATA_HELPER_LOG"\n` +
        `case "$server" in\n  localhost:5001) printf '{"ServerURL":"%s","Username":"strata","Secret":"strata-test"}' "$server" ;;\n` +
        `  *) echo "credentials not found in native keychain"; exit 1 ;;\nesac\n`,
      { mode: 0o755 }
    )
  })

  const wrongAuth = Buffer.from('strata:wrong').toString('base64')
  test.each([
    [
      'auths: auth (base64 user:password)',
      { auths: { 'localhost:5001': { auth: Buffer.from('strata:strata-test').toString('base64') } } }
    ],
    [
      'auths: username and password, key with scheme',
      { auths: { 'http://localhost:5001/v2/': { username: 'strata', password: 'strata-test' } } }
    ],
    [
      'credHelpers for the host',
      { credHelpers: { 'localhost:5001': 'strata-test' }, auths: { 'localhost:5001': { auth: wrongAuth } } }
    ],
    ['credsStore', { credsStore: 'strata-test' }]
  ])('%s: look-up, retag and labels on the htpasswd registry', async (_n, config) => {
    const name = uniqueName()
    const repo = `localhost:5001/${name}`
    const image = await pushTestImage(AUTH, name, { created: new Date(), id: 'x', tags: ['v1'], auth: USER })
    const registry = createRegistry({ dockerConfig: await dockerConfig(config), env: env() })
    expect(await registry.inspect(`${repo}:v1`)).toEqual({ digest: image.digest, mediaType: OCI_MANIFEST })
    expect(await registry.inspect(`${repo}:v2`)).toBeNull()
    await registry.retag(`${repo}@${image.digest}`, [`${repo}:latest`])
    expect(await registryTags(AUTH, name, USER)).toEqual(['latest', 'v1'])
    expect(await registry.labels(`${repo}:latest`)).toEqual({ 'strata.test.id': 'x' })
  })

  test('the helper gets the server on stdin; a helper that has none means no credentials', async () => {
    await writeFile(stdinLog, '')
    const registry = createRegistry({
      dockerConfig: await dockerConfig({ credsStore: 'strata-test' }),
      env: env()
    })
    await registry.inspect(`localhost:5001/${uniqueName()}:x`)
    const repo = `localhost:5000/${uniqueName()}`
    expect(await registry.inspect(`${repo}:x`)).toBeNull() // open registry: never asks
    expect(execFileSync('cat', [stdinLog], { encoding: 'utf8' })).toBe('localhost:5001\n')
    const p = await proxy({ upstream: REGISTRY, basic: USER })
    await expect(registry.inspect(`${p.host}/${uniqueName()}:x`)).rejects.toThrow(
      new RegExp(
        `cannot look up .*: ${p.host.replace(/\./g, '\\.')} asks for credentials \\(HTTP 401\\) .* log in to ${p.host.replace(/\./g, '\\.')}`
      )
    )
  })

  test("Docker Hub: the key https://index.docker.io/v1/, and that server on the helper's stdin", async () => {
    const hub = Buffer.from('hubuser:hubpass').toString('base64')
    const auths = await dockerConfig({ auths: { 'https://index.docker.io/v1/': { auth: hub } } })
    for (const host of ['docker.io', 'index.docker.io', 'registry-1.docker.io']) {
      await expect(dockerAuth(host, { dir: auths })).resolves.toEqual({
        username: 'hubuser',
        password: 'hubpass'
      })
    }
    await expect(dockerAuth('ghcr.io', { dir: auths })).resolves.toBeUndefined()
    await writeFile(stdinLog, '')
    const store = await dockerConfig({
      credsStore: 'strata-test',
      auths: { 'https://index.docker.io/v1/': { auth: hub } }
    })
    // The store is asked (and has nothing): the auths entry is not used, as with the docker CLI.
    await expect(dockerAuth('docker.io', { dir: store, env: env() })).resolves.toBeUndefined()
    expect(execFileSync('cat', [stdinLog], { encoding: 'utf8' })).toBe('https://index.docker.io/v1/\n')
  })

  test.each([
    [
      'a helper name with a slash',
      { credsStore: '../../bin/sh' },
      /names the credential helper "..\/..\/bin\/sh", which is not a helper name/
    ],
    [
      'a helper name that is an option',
      { credHelpers: { 'localhost:5001': '-rf' } },
      /names the credential helper "-rf", which is not a helper name/
    ],
    [
      'a helper that is not installed',
      { credsStore: 'strata-none' },
      /cannot run docker-credential-strata-none \(named in .*config\.json\)/
    ],
    [
      'a config that is not JSON',
      '{"auths":',
      /config\.json is not valid JSON .*log in again with docker\/login-action/
    ]
  ])('%s is a clear error', async (_n, config, message) => {
    const d = await mkdtemp(join(dir, 'docker-'))
    await writeFile(join(d, 'config.json'), typeof config === 'string' ? config : JSON.stringify(config))
    const registry = createRegistry({ dockerConfig: d, env: env() })
    await expect(registry.inspect(`localhost:5001/${uniqueName()}:x`)).rejects.toThrow(message)
  })

  test('an identity token is traded for a bearer token (OAuth2 refresh grant)', async () => {
    const name = uniqueName()
    const image = await pushTestImage(REGISTRY, name, { created: new Date(), id: 'x', tags: ['v1'] })
    const p = await proxy({ upstream: REGISTRY, bearer: USER, identityToken: 'refresh-me' })
    const registry = createRegistry({
      dockerConfig: await dockerConfig({ auths: { [p.host]: { identitytoken: 'refresh-me' } } })
    })
    expect(await registry.inspect(`${p.host}/${name}:v1`)).toEqual({
      digest: image.digest,
      mediaType: OCI_MANIFEST
    })
    expect(registry.requests).toContain(`POST ${p.url}/token`)
    const bad = createRegistry({
      dockerConfig: await dockerConfig({ auths: { [p.host]: { identitytoken: 'stale' } } })
    })
    await expect(bad.inspect(`${p.host}/${name}:v1`)).rejects.toThrow(
      `the token service ${p.url}/token refused the identity token (HTTP 401)`
    )
  })
})

test('a denied look-up or retag throws, names the ref and says to log in', async () => {
  const repo = `localhost:5001/${uniqueName()}`
  const registry = createRegistry({ dockerConfig: await dockerConfig({}) })
  await expect(registry.inspect(`${repo}:x`)).rejects.toThrow(
    new RegExp(`cannot look up ${repo}:x in the registry: .*\\(HTTP 401\\).*log in to localhost:5001`)
  )
  await expect(registry.retag(`${repo}:x`, [`${repo}:y`])).rejects.toThrow(
    new RegExp(`cannot tag ${repo}:x as ${repo}:y: .*log in to localhost:5001`)
  )
  const wrong = createRegistry({
    dockerConfig: await dockerConfig({ auths: { 'localhost:5001': { username: 'strata', password: 'no' } } })
  })
  await expect(wrong.inspect(`${repo}:x`)).rejects.toThrow(
    `cannot look up ${repo}:x in the registry: HTTP 401 UNAUTHORIZED: authentication required${denialHint('localhost:5001')}`
  )
})

test.each([
  [
    'ghcr.io',
    ' — the job needs `permissions: packages: write` (read for look-ups) and a docker/login-action step for ghcr.io'
  ],
  [
    'localhost:5001',
    ' — log in to localhost:5001 before Strata runs (docker/login-action, or `docker login localhost:5001`)'
  ],
  [
    'docker.io',
    ' — log in to docker.io before Strata runs (docker/login-action, or `docker login docker.io`)'
  ]
])('the denial hint for %s', (host, text) => {
  expect(denialHint(host)).toBe(text)
})

test('an unreachable registry throws, and is not taken for a missing tag', async () => {
  const registry = createRegistry()
  await expect(registry.inspect('localhost:5999/strata-test/none:x')).rejects.toThrow(
    /cannot look up localhost:5999\/strata-test\/none:x in the registry: HEAD http:\/\/localhost:5999\/v2\/strata-test\/none\/manifests\/x: fetch failed: connection refused/
  )
})

test('a reference that is not one is an error naming it', async () => {
  const registry = createRegistry()
  await expect(registry.inspect('localhost:5000/Upper/Case:x')).rejects.toThrow(
    'cannot look up localhost:5000/Upper/Case:x in the registry: "localhost:5000/Upper/Case:x" is not an image reference'
  )
})

test.each([
  [
    'a JSON message with a newline',
    JSON.stringify({ errors: [{ code: 'DENIED', message: 'no\n::error::pwned' }] })
  ],
  ['plain text with CR LF', 'denied\r\n::add-mask::main\r\n'],
  ['a next-line character', 'denied\u0085::stop-commands::x'],
  ['a JSON code with a newline', JSON.stringify({ errors: [{ code: '\n::warning::x', message: 'm' }] })]
])('a registry answer (%s) never starts a log line in an error', async (_n, answer) => {
  const { createServer } = await import('node:http')
  const server = createServer((_req, res) => res.writeHead(403, { 'content-type': 'text/plain' }).end(answer))
  await new Promise<void>(r => server.listen(0, '127.0.0.1', r))
  const port = (server.address() as { port: number }).port
  try {
    const registry = createRegistry({ dockerConfig: await dockerConfig({}) })
    const error = await registry.inspect(`127.0.0.1:${port}/strata-test/x:y`).then(
      () => new Error('no error'),
      (e: Error) => e
    )
    expect(error.message).toMatch(
      /^cannot look up 127\.0\.0\.1:\d+\/strata-test\/x:y in the registry: HTTP 403 /
    )
    expect(error.message.split(/[\r\n\u0085\u2028\u2029]/)).toHaveLength(1)
  } finally {
    server.close()
  }
})

test('bearer tokens are cached per scope, and an expired one is replaced', async () => {
  const name = uniqueName()
  const image = await pushTestImage(REGISTRY, name, { created: new Date(), id: 'x', tags: ['a', 'b', 'c'] })
  const p = await proxy({ upstream: REGISTRY, bearer: USER })
  const registry = createRegistry({ dockerConfig: await dockerConfig({ auths: { [p.host]: USER } }) })
  const tokenRequests = (): string[] => registry.requests.filter(r => r.startsWith(`GET ${p.url}/token`))
  expect(await registry.inspect(`${p.host}/${name}:a`)).toEqual({
    digest: image.digest,
    mediaType: OCI_MANIFEST
  })
  expect(await registry.inspect(`${p.host}/${name}:b`)).toEqual({
    digest: image.digest,
    mediaType: OCI_MANIFEST
  })
  expect(tokenRequests()).toEqual([
    `GET ${p.url}/token?service=strata-test&scope=repository%3A${name.replace('/', '%2F')}%3Apull`
  ])
  p.expireTokens()
  expect(await registry.inspect(`${p.host}/${name}:c`)).toEqual({
    digest: image.digest,
    mediaType: OCI_MANIFEST
  })
  expect(tokenRequests()).toHaveLength(2)
  // A write needs its own scope, and gets its own token.
  await registry.retag(`${p.host}/${name}:a`, [`${p.host}/${name}:d`])
  expect(tokenRequests()).toHaveLength(3)
  expect(tokenRequests()[2]).toContain('%3Apull%2Cpush')
  expect(await registryTags(REGISTRY, name)).toEqual(['a', 'b', 'c', 'd'])
})

test('putBlob asks by mounting from the repository itself: a blob there is not sent again, a new one is', async () => {
  const name = uniqueName()
  const repo = `localhost:5000/${name}`
  const registry = createRegistry({ env: {} })
  const bytes = Buffer.from(`blob ${randomBytes(8).toString('hex')}\n`)
  const digest = `sha256:${createHash('sha256').update(bytes).digest('hex')}`
  const mount = (log: string[]) => log.filter(l => l.includes('?mount='))
  expect(await registry.images.putBlob(repo, digest, bytes)).toBe('uploaded')
  const first = [...registry.requests]
  // One POST that would mount it (the registry starts an upload instead), then the bytes.
  expect(first.map(l => l.replace(/ http\S+\/v2\//, ' /v2/').split('?')[0])).toEqual([
    `POST /v2/${name}/blobs/uploads/`,
    expect.stringMatching(new RegExp(`^PUT /v2/${name}/blobs/uploads/`))
  ])
  expect(mount(first)).toHaveLength(1)
  registry.requests.length = 0
  expect(await registry.images.putBlob(repo, digest, bytes)).toBe('present')
  expect(registry.requests).toHaveLength(1)
  expect(mount(registry.requests)).toHaveLength(1)
  // The registry has exactly those bytes.
  const res = await fetch(`${REGISTRY}/v2/${name}/blobs/${digest}`)
  expect(Buffer.from(await res.arrayBuffer())).toEqual(bytes)
})

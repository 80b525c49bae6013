// SPEC 10: registry credentials go only to the host they were issued for. A redirect, a `Link`
// page or a token realm on another host is followed without `Authorization`; the proxy's second
// server (another port) and its alias name (`localhost:<port>`) record every header they receive.
import { randomBytes } from 'node:crypto'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createOciRegistry } from '../../src/adapters/oci-registry.js'
import { createRegistry } from '../../src/adapters/registry.js'
import { credentialsMayGo } from '../../src/adapters/registry-http.js'
import {
  pushTestImage,
  registryTags,
  startRegistryProxy,
  type ProxyRequest,
  type RegistryProxy,
  type RegistryProxyOptions
} from '../../__fixtures__/registry-proxy.js'

const REGISTRY = 'http://127.0.0.1:5000'
const USER = { username: 'strata', password: 'strata-test' }
const uniqueName = (): string => `strata-test/hosts-${randomBytes(4).toString('hex')}`

let dir: string
const proxies: RegistryProxy[] = []
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'strata-hosts-'))
})
afterAll(async () => {
  await Promise.all(proxies.map(p => p.close()))
  await rm(dir, { recursive: true, force: true })
})

test.each([
  ['the registry itself', 'http://127.0.0.1:5001', 'http://127.0.0.1:5001/v2/a/manifests/x', 'request', true],
  [
    'the registry itself, with a query',
    'https://ghcr.io',
    'https://ghcr.io/v2/a/tags/list?n=2&last=b',
    'request',
    true
  ],
  [
    'its own token service',
    'https://ghcr.io',
    'https://ghcr.io/token?scope=repository:a/b:pull',
    'realm',
    true
  ],
  ['the default port written out', 'https://ghcr.io', 'https://ghcr.io:443/token', 'realm', true],
  ['upper-case scheme and host', 'https://ghcr.io', 'HTTPS://GHCR.IO/v2/', 'request', true],
  ['another port', 'http://127.0.0.1:5001', 'http://127.0.0.1:5000/v2/', 'request', false],
  [
    'another name for the same machine',
    'http://127.0.0.1:5001',
    'http://localhost:5001/v2/',
    'request',
    false
  ],
  ['plain HTTP on the same host', 'https://ghcr.io', 'http://ghcr.io/v2/', 'request', false],
  ['a sub-domain', 'https://ghcr.io', 'https://pkg.ghcr.io/v2/', 'request', false],
  [
    'a longer host that starts with it',
    'https://ghcr.io',
    'https://ghcr.io.evil.example/token',
    'realm',
    false
  ],
  ['its name in the path', 'https://ghcr.io', 'https://evil.example/ghcr.io/token', 'realm', false],
  ['its name as user info', 'https://ghcr.io', 'https://ghcr.io@evil.example/token', 'realm', false],
  ['user info on its own host', 'https://ghcr.io', 'https://u:p@ghcr.io/token', 'realm', false],
  [
    'blob storage of GHCR',
    'https://ghcr.io',
    'https://pkg-containers.githubusercontent.com/ghcr1/blobs/x',
    'request',
    false
  ],
  [
    'an object store',
    'https://registry.example',
    'https://bucket.s3.amazonaws.com/docker/blob',
    'request',
    false
  ],
  ['not a URL', 'https://ghcr.io', 'not a url', 'request', false],
  ['a protocol-relative path', 'https://ghcr.io', '//ghcr.io/token', 'realm', false],
  ['a file URL', 'https://ghcr.io', 'file:///etc/passwd', 'request', false],
  [
    'Docker Hub: auth.docker.io as the realm of registry-1.docker.io',
    'https://registry-1.docker.io',
    'https://auth.docker.io/token',
    'realm',
    true
  ],
  [
    'Docker Hub: auth.docker.io, but not as a realm',
    'https://registry-1.docker.io',
    'https://auth.docker.io/token',
    'request',
    false
  ],
  [
    'Docker Hub: auth.docker.io over plain HTTP',
    'https://registry-1.docker.io',
    'http://auth.docker.io/token',
    'realm',
    false
  ],
  [
    'Docker Hub: auth.docker.io on another port',
    'https://registry-1.docker.io',
    'https://auth.docker.io:8443/token',
    'realm',
    false
  ],
  [
    'Docker Hub: a host that ends like it',
    'https://registry-1.docker.io',
    'https://evil-auth.docker.io/token',
    'realm',
    false
  ],
  [
    'Docker Hub: a host that starts like it',
    'https://registry-1.docker.io',
    'https://auth.docker.io.evil.example/token',
    'realm',
    false
  ],
  [
    'Docker Hub: blob storage',
    'https://registry-1.docker.io',
    'https://production.cloudflare.docker.com/registry-v2/x',
    'request',
    false
  ],
  [
    'Docker Hub: the pair from index.docker.io',
    'https://index.docker.io',
    'https://auth.docker.io/token',
    'realm',
    false
  ],
  [
    'Docker Hub: the pair from a plain-HTTP registry',
    'http://registry-1.docker.io',
    'https://auth.docker.io/token',
    'realm',
    false
  ],
  [
    'auth.docker.io as the realm of another registry',
    'https://ghcr.io',
    'https://auth.docker.io/token',
    'realm',
    false
  ]
] as const)('credentialsMayGo: %s', (_n, base, target, purpose, expected) => {
  expect(credentialsMayGo(base, target, purpose)).toBe(expected)
})

type Auth = 'basic' | 'bearer'
type Variant = {
  what: string
  proxy: Partial<RegistryProxyOptions>
  /** Runs the operation; returns what it found, compared with `expected(image digest)`. */
  run: (p: RegistryProxy, name: string, dockerConfig: string) => Promise<unknown>
  expected: (digest: string) => unknown
}

const registryOf = (d: string) => createRegistry({ dockerConfig: d })
const labels: Variant['run'] = (p, name, d) => registryOf(d).labels(`${p.host}/${name}:v1`)
const inspect: Variant['run'] = async (p, name, d) =>
  (await registryOf(d).inspect(`${p.host}/${name}:v1`))?.digest
const retag: Variant['run'] = async (p, name, d) => {
  await registryOf(d).retag(`${p.host}/${name}:v1`, [`${p.host}/${name}:moved`])
  return registryTags(REGISTRY, name)
}
const listTags: Variant['run'] = async (p, name, d) =>
  (await createOciRegistry({ image: `${p.host}/${name}`, dockerConfig: d, pageSize: 2 }).listTags()).sort()
const isManifestGet = (r: ProxyRequest): boolean => r.method === 'GET' && r.path.includes('/manifests/')
const isBlobGet = (r: ProxyRequest): boolean => r.method === 'GET' && r.path.includes('/blobs/')

const variants: Variant[] = [
  ...[301, 302, 303, 307, 308].flatMap(status =>
    (['elsewhere', 'alias'] as const).flatMap(to => [
      {
        what: `a manifest GET redirected (${status}) to ${to}`,
        proxy: { redirect: (r: ProxyRequest) => (isManifestGet(r) ? { status, to } : undefined) },
        run: labels,
        expected: () => ({ 'strata.test.id': 'hosts' })
      },
      {
        what: `a blob GET redirected (${status}) to ${to}, as to object storage`,
        proxy: { redirect: (r: ProxyRequest) => (isBlobGet(r) ? { status, to } : undefined) },
        run: labels,
        expected: () => ({ 'strata.test.id': 'hosts' })
      },
      {
        what: `a manifest HEAD redirected (${status}) to ${to}`,
        proxy: { redirect: (r: ProxyRequest) => (r.method === 'HEAD' ? { status, to } : undefined) },
        run: inspect,
        expected: (digest: string) => digest
      }
    ])
  ),
  ...[307, 308].map(status => ({
    what: `a manifest PUT redirected (${status}) to another host`,
    proxy: {
      redirect: (r: ProxyRequest) => (r.method === 'PUT' ? { status, to: 'elsewhere' as const } : undefined)
    },
    run: retag,
    expected: () => ['a', 'b', 'c', 'd', 'moved', 'v1']
  })),
  ...(['elsewhere', 'alias', 'elsewhere-protocol-relative'] as const).map(linkTo => ({
    what: `a tag list whose next page (Link) is on ${linkTo}`,
    proxy: { linkTo, pageSize: 2 },
    run: listTags,
    expected: () => ['a', 'b', 'c', 'd', 'v1']
  }))
]
const realms: Variant[] = (['elsewhere', 'alias'] as const).flatMap(realmOn => [
  {
    what: `a token realm on ${realmOn} (look-up)`,
    proxy: { realmOn },
    run: inspect,
    expected: (d: string) => d
  },
  {
    what: `a token realm on ${realmOn} (tag list)`,
    proxy: { realmOn },
    run: listTags,
    expected: () => ['a', 'b', 'c', 'd', 'v1']
  }
])

const cases: [string, Auth, Variant][] = [
  ...variants.flatMap(v =>
    (['basic', 'bearer'] as const).map(a => [v.what, a, v] as [string, Auth, Variant])
  ),
  ...realms.map(v => [v.what, 'bearer', v] as [string, Auth, Variant])
]

test.each(cases)('%s (%s auth): no Authorization reaches the other host', async (_w, auth, v) => {
  const name = uniqueName()
  const image = await pushTestImage(REGISTRY, name, {
    created: new Date(),
    id: 'hosts',
    tags: ['v1', 'a', 'b', 'c', 'd']
  })
  const p = await startRegistryProxy({
    upstream: REGISTRY,
    ...(auth === 'basic' ? { basic: USER } : { bearer: USER }),
    ...v.proxy
  })
  proxies.push(p)
  const d = await mkdtemp(join(dir, 'docker-'))
  await writeFile(join(d, 'config.json'), JSON.stringify({ auths: { [p.host]: USER } }))

  expect(await v.run(p, name, d)).toEqual(v.expected(image.digest))
  // The other host was reached, and never with a credential.
  expect(p.elsewhere.length).toBeGreaterThan(0)
  expect(p.elsewhere.filter(r => r.authorization !== undefined)).toEqual([])
  // Control: the registry itself did get an Authorization header.
  expect(p.requests.some(r => r.authorization !== undefined)).toBe(true)
})

test('control: the recording host does see an Authorization header when it is the registry', async () => {
  const name = uniqueName()
  await pushTestImage(REGISTRY, name, { created: new Date(), id: 'hosts', tags: ['v1'] })
  const p = await startRegistryProxy({ upstream: REGISTRY, basic: USER })
  proxies.push(p)
  const d = await mkdtemp(join(dir, 'docker-'))
  await writeFile(join(d, 'config.json'), JSON.stringify({ auths: { [p.host]: USER } }))
  await createRegistry({ dockerConfig: d }).inspect(`${p.host}/${name}:v1`)
  expect(p.requests.map(r => r.authorization)).toEqual([
    undefined,
    `Basic ${Buffer.from('strata:strata-test').toString('base64')}`
  ])
})

// The registry adapter against the real registries of scripts/stack.sh (open on :5000, htpasswd on :5001).
import { randomBytes } from 'node:crypto'
import { createRegistry } from '../../src/adapters/registry.js'
import { pushTestImage, pushTestIndex, registryTags } from '../../__fixtures__/registry-proxy.js'

const REGISTRY = 'http://127.0.0.1:5000'
const uniqueName = (): string => `strata-test/registry-${randomBytes(4).toString('hex')}`

async function manifestDigest(name: string, tag: string): Promise<string | null> {
  const res = await fetch(`${REGISTRY}/v2/${name}/manifests/${tag}`, {
    method: 'HEAD',
    headers: {
      accept: 'application/vnd.oci.image.index.v1+json, application/vnd.oci.image.manifest.v1+json'
    }
  })
  return res.ok ? res.headers.get('docker-content-digest') : null
}

test('inspect returns the digest of an image and of an index, null for a missing tag or repository', async () => {
  const name = uniqueName()
  const image = await pushTestImage(REGISTRY, name, { created: new Date(), id: name, tags: ['one'] })
  const other = await pushTestImage(REGISTRY, name, { created: new Date(), id: `${name}-2`, tags: [] })
  const index = await pushTestIndex(REGISTRY, name, [image, other], ['multi'])
  const registry = createRegistry()
  const repo = `localhost:5000/${name}`
  expect(await registry.inspect(`${repo}:one`)).toEqual({ digest: image.digest })
  expect(await registry.inspect(`${repo}:multi`)).toEqual({ digest: index.digest })
  expect(await registry.inspect(`${repo}:missing`)).toBeNull()
  expect(await registry.inspect(`localhost:5000/${uniqueName()}:latest`)).toBeNull()
})

test('look-ups are memoized (one process per ref, even when asked at once) and run side by side', async () => {
  const name = uniqueName()
  const repo = `localhost:5000/${name}`
  const tags = ['a', 'b', 'c', 'd']
  const pushed = await Promise.all(
    tags.map(t => pushTestImage(REGISTRY, name, { created: new Date(), id: t, tags: [t] }))
  )
  const registry = createRegistry()
  const started = Date.now()
  const once = await Promise.all(tags.map(t => registry.inspect(`${repo}:${t}`)))
  const sideBySide = Date.now() - started
  expect(once.map(i => i?.digest)).toEqual(pushed.map(p => p.digest))

  const seq = createRegistry({ parallel: 1 })
  const t0 = Date.now()
  for (const t of tags) await seq.inspect(`${repo}:${t}`)
  const oneByOne = Date.now() - t0
  // Four look-ups at once take clearly less than four one after another.
  expect(sideBySide).toBeLessThan(oneByOne * 0.8)

  const again = await Promise.all([...tags, ...tags].map(t => registry.inspect(`${repo}:${t}`)))
  expect(again.map(i => i?.digest)).toEqual([...pushed, ...pushed].map(p => p.digest))
  expect(await registry.inspect(`${repo}:zzz`)).toBeNull()
  expect(await registry.inspect(`${repo}:zzz`)).toBeNull()
  const inspected = registry.commands.map(c => c[c.indexOf('inspect') + 1])
  expect(inspected.sort()).toEqual([...tags.map(t => `${repo}:${t}`), `${repo}:zzz`].sort())
})

test('retag points every target at the source in one process, and later look-ups see it', async () => {
  const name = uniqueName()
  const repo = `localhost:5000/${name}`
  // Indexes, as buildx pushes them (with provenance): imagetools create copies an index as is.
  const image = (id: string) => pushTestImage(REGISTRY, name, { created: new Date(), id, tags: [] })
  const first = await pushTestIndex(REGISTRY, name, [await image('first')], ['v1', 'latest'])
  const second = await pushTestIndex(REGISTRY, name, [await image('second')], ['v2'])
  const registry = createRegistry()
  expect(await registry.inspect(`${repo}:latest`)).toEqual({ digest: first.digest })

  await registry.retag(`${repo}@${second.digest}`, [`${repo}:latest`, `${repo}:stable`])
  expect(registry.commands.filter(c => c.includes('create'))).toEqual([
    [
      'buildx',
      'imagetools',
      'create',
      '--tag',
      `${repo}:latest`,
      '--tag',
      `${repo}:stable`,
      `${repo}@${second.digest}`
    ]
  ])
  expect(await registryTags(REGISTRY, name)).toEqual(['latest', 'stable', 'v1', 'v2'])
  expect(await manifestDigest(name, 'latest')).toBe(second.digest)
  expect(await manifestDigest(name, 'stable')).toBe(second.digest)
  expect(await manifestDigest(name, 'v1')).toBe(first.digest)
  // The memo forgot the moved tag: the next look-up asks the registry again and sees the move.
  expect(await registry.inspect(`${repo}:latest`)).toEqual({ digest: second.digest })
  expect(registry.commands.filter(c => c.includes(`${repo}:latest`) && c.includes('inspect'))).toHaveLength(2)
})

test('a denied look-up throws and says to log in; so does a denied retag', async () => {
  const repo = `localhost:5001/${uniqueName()}`
  const registry = createRegistry({ env: { DOCKER_CONFIG: '/nonexistent-strata-docker-config' } })
  await expect(registry.inspect(`${repo}:x`)).rejects.toThrow(
    new RegExp(
      `cannot look up ${repo}:x in the registry: .*(no basic auth credentials|401).*log in to localhost:5001`
    )
  )
  await expect(registry.retag(`${repo}:x`, [`${repo}:y`])).rejects.toThrow(/log in to localhost:5001/)
})

test('an unreachable registry throws, and is not taken for a missing tag', async () => {
  const registry = createRegistry()
  await expect(registry.inspect('localhost:5999/strata-test/none:x')).rejects.toThrow(
    /cannot look up localhost:5999\/strata-test\/none:x in the registry: .*connection refused/
  )
})

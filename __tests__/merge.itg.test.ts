// mode: merge on the real registry (localhost:5000): two single-platform images pushed by the test,
// merged by src/merge/merge.ts through the real registry adapter, then the index read back over HTTP.
import { execFile } from 'node:child_process'
import { mkdtemp, readFile, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { createRegistry } from '../src/adapters/registry.js'
import type { PlatformDigest } from '../src/core/merge.js'
import type { Plan, StrataConfig } from '../src/core/types.js'
import { mergePlatforms } from '../src/merge/merge.js'
import { config, eventContext, from, layer } from '../__fixtures__/layers.js'
import { recordingLog } from '../__fixtures__/log.js'
import { uniqueRepo } from '../__fixtures__/images/index.js'

const exec = promisify(execFile)
const INDEX = 'application/vnd.oci.image.index.v1+json'
const ACCEPT = [
  INDEX,
  'application/vnd.docker.distribution.manifest.list.v2+json',
  'application/vnd.oci.image.manifest.v1+json',
  'application/vnd.docker.distribution.manifest.v2+json'
].join(', ')

/** The manifest behind `repo:tag` over the registry's HTTP API: status, digest header, body. */
async function manifest(
  image: string,
  reference: string
): Promise<{ status: number; digest?: string; body?: { mediaType?: string; manifests?: Descriptor[] } }> {
  const name = image.replace(/^localhost:5000\//, '')
  const res = await fetch(`http://localhost:5000/v2/${name}/manifests/${reference}`, {
    headers: { Accept: ACCEPT }
  })
  if (res.status !== 200) return { status: res.status }
  return {
    status: 200,
    digest: res.headers.get('docker-content-digest') ?? undefined,
    body: (await res.json()) as { mediaType?: string; manifests?: Descriptor[] }
  }
}

interface Descriptor {
  digest: string
  mediaType: string
  platform?: { os: string; architecture: string }
}

/**
 * One single-platform image in `image`, its manifest digest. The docker driver here cannot push by
 * digest (`push-by-digest is currently not implemented for docker driver`) and no BuildKit image is
 * at hand for a docker-container builder, so each platform goes under a scratch tag of the test repository.
 */
async function pushPlatform(image: string, platform: string, dir: string): Promise<string> {
  const metadata = join(dir, `${platform.replace(/\//g, '-')}.json`)
  await exec(
    'docker',
    [
      'buildx',
      'build',
      '--platform',
      platform,
      '--provenance=false',
      '--output',
      `type=image,name=${image}:setup-${platform.replace(/\//g, '-')},push=true`,
      '--metadata-file',
      metadata,
      '-f',
      join(dir, 'Dockerfile.copy'),
      dir
    ],
    { maxBuffer: 64 << 20 }
  )
  return (JSON.parse(await readFile(metadata, 'utf8')) as Record<string, string>)['containerimage.digest']
}

const TWO = ['linux/amd64', 'linux/arm64']

describe('mode: merge on the real registry', () => {
  const image = uniqueRepo('merge')
  let cfg: StrataConfig
  let plan: Plan
  const digests: Record<string, string> = {}
  const ctx = eventContext()
  const versioned = `${image}:base-3f2a9c1`
  const stable = `${image}:base-stable`

  beforeAll(async () => {
    const dir = await mkdtemp(join(tmpdir(), 'strata-merge-'))
    await writeFile(join(dir, 'Dockerfile.copy'), 'FROM scratch\nARG TARGETPLATFORM\nCOPY app.txt /app.txt\n')
    await writeFile(join(dir, 'app.txt'), `merge ${image}\n`)
    for (const p of TWO) digests[p] = await pushPlatform(image, p, dir)
    cfg = config([
      layer('base', { image, platforms: TWO }),
      layer('app', { image, from: from('base'), platforms: TWO })
    ])
    plan = {
      layers: {
        base: { build: true, reasons: ['forced'], matches: [], tags: [versioned, stable], selected: true },
        app: {
          build: true,
          reasons: ['always'],
          matches: [],
          tags: [`${image}:main-3f2a9c1`, `${image}:latest`],
          selected: false
        }
      },
      changes: { source: 'none', count: 0 },
      event: 'push'
    }
  }, 300_000)

  test('the platform images are two different single manifests', () => {
    expect(Object.values(digests)).toEqual([
      expect.stringMatching(/^sha256:[0-9a-f]{64}$/),
      expect.stringMatching(/^sha256:/)
    ])
    expect(digests['linux/amd64']).not.toBe(digests['linux/arm64'])
  })

  test('a missing platform: the real registry gets no index and no tag', async () => {
    const only: PlatformDigest[] = [{ platform: 'linux/amd64', digest: digests['linux/amd64'] }]
    await expect(
      mergePlatforms(
        cfg,
        plan,
        ctx,
        { digests: only, push: true, dryRun: false },
        { registry: createRegistry(), log: recordingLog() }
      )
    ).rejects.toThrow('nothing merged, no tag moved: base: no digest for linux/arm64')
    expect((await manifest(image, 'base-3f2a9c1')).status).toBe(404)
    expect((await manifest(image, 'base-stable')).status).toBe(404)
  })

  // Needs the registry adapter's putIndex (h1, issue 14): runs as soon as createRegistry() has it.
  describe('with the registry adapter’s putIndex', () => {
    test('both platforms: one index under the versioned tag, the stable tag moved to it', async () => {
      const both: PlatformDigest[] = TWO.map(p => ({ platform: p, digest: digests[p] }))
      const log = recordingLog()
      const result = await mergePlatforms(
        cfg,
        plan,
        ctx,
        { digests: both, push: true, dryRun: false },
        { registry: createRegistry(), log }
      )
      expect(result.failed).toBeUndefined()
      const index = await manifest(image, 'base-3f2a9c1')
      expect(index.status).toBe(200)
      expect(index.body?.mediaType).toBe(INDEX)
      expect(
        index.body?.manifests?.map(m => [`${m.platform?.os}/${m.platform?.architecture}`, m.digest])
      ).toEqual(TWO.map(p => [p, digests[p]]))
      expect(result.layers.base.ref).toBe(`${versioned}@${index.digest}`)
      expect((await manifest(image, 'base-stable')).digest).toBe(index.digest)
      // app was not merged here: its tags were not touched.
      expect((await manifest(image, 'latest')).status).toBe(404)
    })
  })
})

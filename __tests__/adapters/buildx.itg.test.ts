// The buildx adapter against the real engine, buildx and registries of scripts/stack.sh.
import { mkdtemp, readFile, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import {
  createBuildx,
  describeBuildFailure,
  parseInspect,
  ProgressCounter
} from '../../src/adapters/buildx.js'
import type { BakeTarget } from '../../src/core/bake.js'
import { bakeArgv, bakeDefinition } from '../../src/core/bake.js'
import { BakeProgress } from '../../src/core/progress.js'
import { classicDockerd, digestOf, makeWorkspace, uniqueRepo } from '../../__fixtures__/images/index.js'

const buildx = createBuildx()

/** A one-target bake of `dockerfile` pushed as `tag`: its argv, written definition and progress. */
async function bakeOne(
  ws: string,
  dockerfile: string,
  tag: string,
  extra: Partial<BakeTarget> = {}
): Promise<{ argv: string[]; progress: BakeProgress }> {
  const id = Math.random().toString(16).slice(2)
  const file = join(ws, `bake-${id}.json`)
  const target: BakeTarget = {
    context: ws,
    dockerfile: join(ws, dockerfile),
    args: {},
    tags: [tag],
    labels: {},
    'cache-from': [],
    'cache-to': [],
    output: ['type=image,push=true'],
    ...extra
  }
  await writeFile(file, JSON.stringify(bakeDefinition({ t: target })))
  const argv = bakeArgv({ file, metadataFile: join(ws, `meta-${id}.json`), targets: ['t'] })
  return { argv, progress: new BakeProgress(['t']) }
}

test('version reads the buildx CLI plugin', async () => {
  expect(await buildx.version()).toMatch(/^v?\d+\.\d+\.\d+/)
})

test('the default builder on the containerd image store can export cache, known from one process, once', async () => {
  // A docker client that records each command, then runs the real one.
  const dir = await mkdtemp(join(tmpdir(), 'strata-docker-'))
  const wrapper = join(dir, 'docker')
  await writeFile(wrapper, `#!/bin/sh\necho "$*" >> ${dir}/calls\nexec docker "$@"\n`, { mode: 0o755 })
  const recorded = createBuildx({ docker: wrapper })
  // Asked early (side by side with the plan) and again by the build: one process.
  const [info, again] = await Promise.all([recorded.inspectBuilder(), recorded.inspectBuilder()])
  expect(again).toBe(info)
  expect(info.driver).toBe('docker')
  expect(info.name).toBe('default')
  expect(info.buildkitVersion).toMatch(/^v\d+\.\d+\.\d+/)
  expect(info.canExportCache).toBe(true)
  // buildx 0.13 lists no features; the worker labels say containerd, so no `docker info` is needed.
  expect(await readFile(join(dir, 'calls'), 'utf8')).toBe('buildx inspect\n')
})

test('bake pushes, reads the digest from the metadata file; the progress counts cached steps', async () => {
  const ws = await makeWorkspace()
  const repo = uniqueRepo('adapter')
  const one = await bakeOne(ws, 'Dockerfile.base', `${repo}:base-1`)
  const lines: string[] = []
  const first = await buildx.bake(one.argv, {
    cwd: ws,
    onLine: l => (lines.push(l), one.progress.add(l))
  })
  expect(first.exitCode).toBe(0)
  expect(first.digests.t).toMatch(/^sha256:[0-9a-f]{64}$/)
  expect(await digestOf(`${repo}:base-1`)).toBe(first.digests.t)
  expect(one.progress.counter('t').total).toBe(3) // COPY busybox, RUN --install, COPY base.txt
  // busybox steps may be cached by earlier tests on this engine; base.txt is new each run.
  expect(one.progress.counter('t').cached).toBeLessThan(3)
  expect(one.progress.exportOf('t')).toEqual({ state: 'done', digest: first.digests.t })
  expect(first.durationMs).toBeGreaterThan(0)
  expect(lines.some(l => l.includes('RUN ["/bin/busybox","--install","-s","/bin"]'))).toBe(true)

  const two = await bakeOne(ws, 'Dockerfile.base', `${repo}:base-2`)
  const again = await buildx.bake(two.argv, { cwd: ws, onLine: l => two.progress.add(l) })
  expect(again.exitCode).toBe(0)
  // Every step cached (a step BuildKit shares with another session may show twice).
  expect(two.progress.counter('t').total).toBeGreaterThanOrEqual(3)
  expect(two.progress.counter('t').cached).toBe(two.progress.counter('t').total)
})

test('a failing RUN is recorded, not thrown, with its last error line', async () => {
  const ws = await makeWorkspace()
  const repo = uniqueRepo('adapter')
  const base = await bakeOne(ws, 'Dockerfile.base', `${repo}:base`)
  const built = await buildx.bake(base.argv, { cwd: ws })
  expect(built.exitCode).toBe(0)
  const fail = await bakeOne(ws, 'Dockerfile.fail', `${repo}:fail`, {
    args: { BASE_IMAGE: `${repo}:base@${built.digests.t}` }
  })
  const run = await buildx.bake(fail.argv, { cwd: ws, onLine: l => fail.progress.add(l) })
  expect(run.exitCode).not.toBe(0)
  expect(run.digests).toEqual({})
  expect(fail.progress.lastError).toMatch(/^ERROR: .*did not complete successfully: exit code: 1/)
  expect(fail.progress.errorDockerfile).toBe('Dockerfile.fail')
  expect(describeBuildFailure(fail.progress.lastError, repo)).toBe(
    `buildx failed with: ${fail.progress.lastError}`
  )
  expect(await digestOf(`${repo}:fail`)).toBeUndefined()
})

test('a denied push says to log in (htpasswd registry, no login), and packages: write on GHCR', async () => {
  const ws = await makeWorkspace()
  const repo = `localhost:5001/strata-test/denied-${Math.random().toString(16).slice(2, 10)}`
  const one = await bakeOne(ws, 'Dockerfile.copy', `${repo}:x`)
  const run = await buildx.bake(one.argv, { cwd: ws, onLine: l => one.progress.add(l) })
  expect(run.exitCode).not.toBe(0)
  const last = one.progress.lastError
  expect(last).toContain('401 Unauthorized')
  const local = describeBuildFailure(last, repo)
  expect(local).toContain(`buildx failed with: ${last}`)
  expect(local).toContain('log in to localhost:5001')
  expect(local).toContain('docker login localhost:5001')
  // The same denial for a GHCR image names the missing permission.
  expect(describeBuildFailure(last, 'ghcr.io/acme/sindri')).toContain('`permissions: packages: write`')
})

describe('the docker driver without the containerd image store', () => {
  let dockerd: { host: string; stop: () => Promise<void> }
  beforeAll(async () => {
    dockerd = await classicDockerd()
  }, 60000)
  afterAll(async () => dockerd?.stop())

  test('inspect says it cannot export cache, and buildx refuses --cache-to with its own words', async () => {
    const classic = createBuildx({ env: { DOCKER_HOST: dockerd.host } })
    const info = await classic.inspectBuilder()
    expect(info.driver).toBe('docker')
    expect(info.canExportCache).toBe(false)

    const ws = await makeWorkspace()
    const repo = uniqueRepo('classic')
    const one = await bakeOne(ws, 'Dockerfile.copy', `${repo}:x`, {
      'cache-to': [`type=registry,ref=${repo}:cache,ignore-error=true`]
    })
    const run = await classic.bake(one.argv, { cwd: ws, onLine: l => one.progress.add(l) })
    expect(run.exitCode).not.toBe(0)
    expect(one.progress.lastError).toBe('ERROR: Cache export is not supported for the docker driver.')
  })
})

test.each([
  [
    'Name:   default\nDriver: docker\n\nNodes:\nName: default\nBuildKit version: v0.0.0+unknown\n',
    'docker',
    undefined
  ],
  [
    'Name:          b\nDriver:        docker-container\nLast Activity: x\n\nFeatures:\n Cache export:    true\n Multi-platform build: true\n\nNodes:\nName: b0\nBuildKit version: v0.20.1\n',
    'docker-container',
    true
  ],
  [
    'Name: default\nDriver: docker\nNodes:\nBuildKit version: v0.0.0+unknown\nLabels:\n org.mobyproject.buildkit.worker.containerd.namespace: moby\n org.mobyproject.buildkit.worker.executor:             containerd\n',
    'docker',
    true
  ],
  [
    'Name: default\nDriver: docker\nNodes:\nBuildKit version: v0.0.0+unknown\nLabels:\n org.mobyproject.buildkit.worker.moby.host-gateway-ip: 10.250.0.1\n',
    'docker',
    undefined
  ],
  [
    'Name: d\nDriver: docker\nFeatures:\n Cache export:                                               false\n',
    'docker',
    false
  ]
])('parseInspect reads driver and the Cache export feature (%#)', (text, driver, cacheExport) => {
  const got = parseInspect(text)
  expect(got.driver).toBe(driver)
  expect(got.cacheExport).toBe(cacheExport)
})

test('ProgressCounter counts [n/m] steps, per platform, and CACHED ones', () => {
  const p = new ProgressCounter()
  for (const l of [
    '#1 [internal] load build definition from Dockerfile',
    '#4 [linux/amd64 1/2] COPY a /a',
    '#4 CACHED',
    '#5 [linux/arm64 1/2] COPY a /a',
    '#6 [stage-1 2/2] RUN true',
    '#6 DONE 0.1s',
    '#7 exporting to image'
  ]) {
    p.add(l)
  }
  expect([p.cached, p.total]).toEqual([1, 3])
})

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
import { classicDockerd, digestOf, makeWorkspace, uniqueRepo } from '../../__fixtures__/images/index.js'

const buildx = createBuildx()

function argv(ws: string, dockerfile: string, tag: string, extra: string[] = []): string[] {
  return [
    'buildx',
    'build',
    '--progress=plain',
    '--file',
    dockerfile,
    '--metadata-file',
    join(ws, `meta-${Math.random().toString(16).slice(2)}.json`),
    '--tag',
    tag,
    ...extra,
    '--push',
    '.'
  ]
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

test('build pushes, reads the digest from the metadata file, counts cached steps', async () => {
  const ws = await makeWorkspace()
  const repo = uniqueRepo('adapter')
  const lines: string[] = []
  const first = await buildx.build(argv(ws, 'Dockerfile.base', `${repo}:base-1`), {
    cwd: ws,
    onLine: l => lines.push(l)
  })
  expect(first.exitCode).toBe(0)
  expect(first.digest).toMatch(/^sha256:[0-9a-f]{64}$/)
  expect(await digestOf(`${repo}:base-1`)).toBe(first.digest)
  expect(first.totalSteps).toBe(3) // COPY busybox, RUN --install, COPY base.txt
  // busybox steps may be cached by earlier tests on this engine; base.txt is new each run.
  expect(first.cachedSteps).toBeLessThan(3)
  expect(first.lastErrorLine).toBeUndefined()
  expect(first.durationMs).toBeGreaterThan(0)
  expect(lines.some(l => l.includes('RUN ["/bin/busybox","--install","-s","/bin"]'))).toBe(true)

  const again = await buildx.build(argv(ws, 'Dockerfile.base', `${repo}:base-2`), { cwd: ws })
  expect(again.exitCode).toBe(0)
  expect(again.cachedSteps).toBe(3)
  expect(again.totalSteps).toBe(3)
})

test('a failing RUN is recorded, not thrown, with its last error line', async () => {
  const ws = await makeWorkspace()
  const repo = uniqueRepo('adapter')
  const base = await buildx.build(argv(ws, 'Dockerfile.base', `${repo}:base`), { cwd: ws })
  expect(base.exitCode).toBe(0)
  const run = await buildx.build(
    argv(ws, 'Dockerfile.fail', `${repo}:fail`, ['--build-arg', `BASE_IMAGE=${repo}:base@${base.digest}`]),
    { cwd: ws }
  )
  expect(run.exitCode).not.toBe(0)
  expect(run.digest).toBeUndefined()
  expect(run.lastErrorLine).toMatch(/^ERROR: .*did not complete successfully: exit code: 1/)
  expect(describeBuildFailure(run.lastErrorLine, repo)).toBe(`buildx failed with: ${run.lastErrorLine}`)
  expect(await digestOf(`${repo}:fail`)).toBeUndefined()
})

test('a denied push says to log in (htpasswd registry, no login), and packages: write on GHCR', async () => {
  const ws = await makeWorkspace()
  const repo = `localhost:5001/strata-test/denied-${Math.random().toString(16).slice(2, 10)}`
  const run = await buildx.build(argv(ws, 'Dockerfile.copy', `${repo}:x`), { cwd: ws })
  expect(run.exitCode).not.toBe(0)
  expect(run.lastErrorLine).toContain('401 Unauthorized')
  const local = describeBuildFailure(run.lastErrorLine, repo)
  expect(local).toContain(`buildx failed with: ${run.lastErrorLine}`)
  expect(local).toContain('log in to localhost:5001')
  expect(local).toContain('docker login localhost:5001')
  // The same denial for a GHCR image names the missing permission.
  expect(describeBuildFailure(run.lastErrorLine, 'ghcr.io/acme/sindri')).toContain(
    '`permissions: packages: write`'
  )
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
    const run = await classic.build(
      argv(ws, 'Dockerfile.copy', `${repo}:x`, [
        '--cache-to',
        `type=registry,ref=${repo}:cache,ignore-error=true`
      ]),
      { cwd: ws }
    )
    expect(run.exitCode).not.toBe(0)
    expect(run.lastErrorLine).toBe('ERROR: Cache export is not supported for the docker driver.')
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

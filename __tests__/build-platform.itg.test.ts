// SPEC 3a: BUILDPLATFORM is the builder's own platform, which a remote builder does not share with the
// runner: it is asked of the builder (`docker buildx inspect`, the first platform), through the real
// buildx adapter, and only when a Dockerfile reads it.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { afterAll, expect, jest, test } from '@jest/globals'
import { createBuildx, parseInspect } from '../src/adapters/buildx.js'
import { createGit } from '../src/adapters/git.js'
import { createWorkspaceFiles } from '../src/adapters/workspace-files.js'
import { docker } from '../__fixtures__/images/index.js'
import { config, layer } from '../__fixtures__/layers.js'
import { readLayers } from '../src/plan/layer-reads.js'

jest.setTimeout(120_000)

const tmp = mkdtempSync(join(tmpdir(), 'strata-buildplatform-'))
afterAll(() => rmSync(tmp, { recursive: true, force: true }))

function workspace(dockerfile: string): string {
  const dir = mkdtempSync(join(tmp, 'ws-'))
  const files: Record<string, string> = {
    'Dockerfile.base': dockerfile,
    'bin/amd64/tool': 'amd64\n',
    'bin/arm64/tool': 'arm64\n'
  }
  for (const [p, text] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, p)), { recursive: true })
    writeFileSync(join(dir, p), text)
  }
  return dir
}

/** The real adapter's answer, counted. */
function counted(buildx = createBuildx()): { ask: () => Promise<string[] | undefined>; asked: () => number } {
  let n = 0
  return {
    ask: async () => {
      n++
      return (await buildx.inspectBuilder()).platforms
    },
    asked: () => n
  }
}

async function inputs(dockerfile: string, builder: ReturnType<typeof counted>, platforms: string[] = []) {
  const dir = workspace(dockerfile)
  const cfg = config([layer('base', { platforms, context: '.' })])
  const reads = await readLayers(cfg, {}, createWorkspaceFiles(dir, createGit(dir)), {
    builderPlatforms: builder.ask
  })
  expect(reads.errors).toEqual([])
  return { files: [...reads.files.base.keys()], warnings: reads.warnings }
}

test("the builder's own platform is the first that `docker buildx inspect` lists", async () => {
  const info = parseInspect(await docker(['buildx', 'inspect']))
  const arch = (await docker(['info', '--format', '{{.Architecture}}'])).trim()
  const own = ({ x86_64: 'linux/amd64', aarch64: 'linux/arm64' } as Record<string, string>)[arch]
  expect(info.platforms?.[0]).toBe(own)
})

test('parseInspect: platforms set by hand (`*`) are named without the mark', () => {
  const text = 'Name: r\nDriver: remote\nNodes:\nPlatforms: linux/arm64*, linux/amd64\n'
  expect(parseInspect(text).platforms).toEqual(['linux/arm64', 'linux/amd64'])
})

test('a Dockerfile that reads BUILDARCH reads the folder of the builder’s platform', async () => {
  const builder = counted()
  const own = (await createBuildx().inspectBuilder()).platforms?.[0]?.split('/')[1]
  const r = await inputs('FROM scratch\nARG BUILDARCH\nCOPY bin/${BUILDARCH}/ /b/\n', builder, [
    'linux/arm64'
  ])
  expect(r.files).toEqual(['Dockerfile.base', `bin/${own}/tool`])
  expect(builder.asked()).toBe(1)
})

test('a layer without platforms builds for the builder’s: TARGETARCH asks it too', async () => {
  const builder = counted()
  await inputs('FROM scratch\nARG TARGETARCH\nCOPY bin/${TARGETARCH}/ /b/\n', builder)
  expect(builder.asked()).toBe(1)
})

test('no process for a Dockerfile that reads neither (nor TARGET* on a layer with platforms)', async () => {
  const builder = counted()
  await inputs('FROM scratch\nCOPY bin/ /b/\n', builder)
  await inputs('FROM scratch\nARG TARGETARCH\nCOPY bin/${TARGETARCH}/ /b/\n', builder, ['linux/arm64'])
  expect(builder.asked()).toBe(0)
})

test('a builder that cannot be inspected: this machine’s platform, and a warning that says so', async () => {
  const builder = counted(createBuildx({ docker: join(tmp, 'no-such-docker') }))
  const r = await inputs('FROM scratch\nARG BUILDARCH\nCOPY bin/${BUILDARCH}/ /b/\n', builder, [
    'linux/arm64'
  ])
  expect(builder.asked()).toBe(1)
  expect(r.files).toHaveLength(2)
  expect(r.warnings.filter(w => w.includes("the builder's own platform (BUILDPLATFORM"))).toHaveLength(1)
})

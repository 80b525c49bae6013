// SPEC 3a: an external image with ONBUILD runs instructions Strata never reads in every build FROM it,
// so its users' inputs are unknowable. Real images on the stack's registry (127.0.0.1:5000), built
// and pushed by BuildKit: one with ONBUILD, one without, an index of two platforms with ONBUILD, and
// one whose config blob is deleted after the push (SPEC 8: unknown, never "nothing to do").
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, expect, jest, test } from '@jest/globals'
import { git } from '../__fixtures__/github-api-server.js'
import { buildAndPush, rawManifest, uniqueRepo } from '../__fixtures__/images/index.js'
import { cli } from '../src/cli.js'

jest.setTimeout(300_000)

const tmp = mkdtempSync(join(tmpdir(), 'strata-onbuild-'))
const repo = uniqueRepo('onbuild')
const images = {
  onbuild: `${repo}:onbuild`,
  plain: `${repo}:plain`,
  multi: `${repo}:multi`,
  broken: `${repo}:broken`
}

async function push(ref: string, dockerfile: string, platforms = 'linux/amd64'): Promise<void> {
  const dir = mkdtempSync(join(tmp, 'image-'))
  writeFileSync(join(dir, 'Dockerfile'), dockerfile)
  writeFileSync(join(dir, 'x.txt'), `${ref}\n`)
  await buildAndPush(['--provenance=false', '--platform', platforms, '--push', '-t', ref, dir])
}

beforeAll(async () => {
  const onbuild = 'FROM scratch\nCOPY x.txt /x.txt\nONBUILD COPY . /app\n'
  await Promise.all([
    push(images.onbuild, onbuild),
    push(images.plain, 'FROM scratch\nCOPY x.txt /x.txt\n'),
    push(images.multi, onbuild, 'linux/amd64,linux/arm64'),
    push(images.broken, 'FROM scratch\nCOPY x.txt /y.txt\n')
  ])
  // The broken image's config blob is deleted: its manifest still answers, its config does not.
  const manifest = await rawManifest(images.broken)
  const config = (manifest.config as { digest: string }).digest
  const path = repo.slice('localhost:5000/'.length)
  const reply = await fetch(`http://127.0.0.1:5000/v2/${path}/blobs/${config}`, { method: 'DELETE' })
  if (reply.status !== 202) throw new Error(`DELETE of the config blob answered ${reply.status}`)
})

afterAll(() => rmSync(tmp, { recursive: true, force: true }))

/** A repository with one layer `l` whose Dockerfile is `dockerfile`; its config on the test registry. */
function makeRepo(dockerfile: string, platforms = ['linux/amd64']): string {
  const dir = mkdtempSync(join(tmp, 'repo-'))
  mkdirSync(join(dir, '.github'))
  writeFileSync(join(dir, 'Dockerfile'), dockerfile)
  writeFileSync(join(dir, 'a.txt'), 'a\n')
  writeFileSync(
    join(dir, '.github/strata.yml'),
    `version: 1\nimage: ${uniqueRepo('onbuild-user')}\nlayers:\n  l:\n    dockerfile: Dockerfile\n` +
      `    platforms: ${JSON.stringify(platforms)}\n`
  )
  git(dir, 'init', '-q', '-b', 'main')
  git(dir, 'add', '-A')
  git(dir, 'commit', '-q', '-m', 'one layer')
  return dir
}

async function plan(dir: string): Promise<{ code: number; layer: Record<string, unknown>; err: string }> {
  const head = git(dir, 'rev-parse', 'HEAD')
  let out = ''
  let err = ''
  const code = await cli(['plan', '--base', head, '--head', head, '--json', '-C', dir], {
    out: t => void (out += t),
    err: t => void (err += t)
  })
  const layer = out ? (JSON.parse(out) as { layers: Record<string, Record<string, unknown>> }).layers.l : {}
  return { code, layer, err }
}

test('a layer FROM an external image with ONBUILD has no input digest, and the plan says why', async () => {
  const r = await plan(makeRepo(`FROM ${images.onbuild}\nCOPY a.txt /a.txt\n`))
  expect(r.code).toBe(0)
  expect(r.layer.inputs).toBeUndefined()
  expect(r.layer['no-digest']).toBe(`inputs unknowable: ${images.onbuild} has ONBUILD COPY . /app`)
})

test('the same layer FROM an image without ONBUILD keeps its digest', async () => {
  const r = await plan(makeRepo(`FROM ${images.plain}\nCOPY a.txt /a.txt\n`))
  expect(r.code).toBe(0)
  expect(r.layer.inputs).toMatch(/^sha256:[0-9a-f]{64}$/)
  expect(r.layer['no-digest']).toBeUndefined()
})

test("an index's platform manifest is read: ONBUILD on a two-platform base", async () => {
  const r = await plan(makeRepo(`FROM ${images.multi}\n`, ['linux/arm64']))
  expect(r.code).toBe(0)
  expect(r.layer['no-digest']).toBe(`inputs unknowable: ${images.multi} has ONBUILD COPY . /app`)
})

test('an image only copied from (COPY --from) runs no ONBUILD: the digest stays', async () => {
  const r = await plan(makeRepo(`FROM ${images.plain}\nCOPY --from=${images.onbuild} /x.txt /x.txt\n`))
  expect(r.code).toBe(0)
  expect(r.layer.inputs).toMatch(/^sha256:[0-9a-f]{64}$/)
})

test('a base whose config cannot be read makes the decision unknown (SPEC 8), not reused', async () => {
  const r = await plan(makeRepo(`FROM ${images.broken}\nCOPY a.txt /a.txt\n`))
  expect(r.code).not.toBe(0)
  expect(r.layer.unknown).toBe(true)
  expect(r.layer.inputs).toBeUndefined()
  expect(r.err).toContain('the registry localhost:5000 cannot be read')
})

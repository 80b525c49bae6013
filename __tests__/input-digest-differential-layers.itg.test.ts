// The differential referee of SPEC 4a for two layers (a parent and its child), beside
// input-digest-differential.itg.test.ts: each variant's input digests come from `strata plan --json`,
// and both layers are built by real BuildKit (SOURCE_DATE_EPOCH=0, rewrite-timestamp) into OCI
// layouts, the child on the parent's layout (a named context, as a bake session hands it a parent).
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { execFileSync } from 'node:child_process'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { afterAll, expect, jest, test } from '@jest/globals'
import { git } from '../__fixtures__/github-api-server.js'
import { docker, uniqueRepo } from '../__fixtures__/images/index.js'
import { parentMismatch } from '../src/core/same-inputs.js'
import { planInputs } from './helpers/plan-inputs.js'

jest.setTimeout(600_000)

const tmp = mkdtempSync(join(tmpdir(), 'strata-differential-layers-'))
afterAll(() => rmSync(tmp, { recursive: true, force: true }))

const CONFIG = `version: 1
image: ${uniqueRepo('differential-layers')}
layers:
  base:
    dockerfile: Dockerfile.base
    platforms: ["linux/amd64"]
  app:
    dockerfile: Dockerfile.app
    from: base
    platforms: ["linux/amd64"]
`

function put(repo: string, path: string, text: string): void {
  mkdirSync(dirname(join(repo, path)), { recursive: true })
  writeFileSync(join(repo, path), text)
}

function makeRepo(files: Record<string, string>): string {
  const repo = mkdtempSync(join(tmp, 'repo-'))
  for (const [p, text] of Object.entries({ ...files, '.github/strata.yml': CONFIG })) put(repo, p, text)
  git(repo, 'init', '-q', '-b', 'main')
  git(repo, 'add', '-A')
  git(repo, 'commit', '-q', '-m', 'two layers')
  return repo
}

/** Each layer's input digest as the plan computes it. */
async function digests(repo: string): Promise<Record<string, string | undefined>> {
  const layers = await planInputs(repo)
  return { base: layers.base, app: layers.app }
}

/** Builds one layer into the OCI layout `dir` (the child on the parent's layout); its diff_ids. */
async function build(repo: string, dockerfile: string, dir: string, parent?: string): Promise<string[]> {
  const args = ['buildx', 'build', '--provenance=false', '--no-cache', '--build-arg', 'SOURCE_DATE_EPOCH=0']
  if (parent) {
    const index = JSON.parse(readFileSync(join(parent, 'index.json'), 'utf8')) as {
      manifests: { digest: string }[]
    }
    args.push('--build-arg', 'BASE_IMAGE=strata-parent')
    args.push('--build-context', `strata-parent=oci-layout://${parent}@${index.manifests[0].digest}`)
  }
  args.push('-f', join(repo, dockerfile), '--output', `type=oci,dest=${dir}.tar,rewrite-timestamp=true`, repo)
  await docker(args)
  mkdirSync(dir)
  execFileSync('tar', ['-xf', `${dir}.tar`, '-C', dir])
  return diffIds(dir)
}

function diffIds(dir: string): string[] {
  const blob = (digest: string): Record<string, unknown> =>
    JSON.parse(readFileSync(join(dir, 'blobs', ...digest.split(':')), 'utf8')) as Record<string, unknown>
  let doc = JSON.parse(readFileSync(join(dir, 'index.json'), 'utf8')) as Record<string, unknown>
  while (doc.manifests) doc = blob((doc.manifests as { digest: string }[])[0].digest)
  const config = blob((doc.config as { digest: string }).digest)
  return (config.rootfs as { diff_ids: string[] }).diff_ids
}

let n = 0
/** Both layers of a variant: their input digests and diff_ids. */
async function variant(repo: string, parentDockerfile = 'Dockerfile.base') {
  const out = join(tmp, `v${++n}`)
  const d = await digests(repo)
  const base = await build(repo, parentDockerfile, `${out}-base`)
  const app = await build(repo, 'Dockerfile.app', `${out}-app`, `${out}-base`)
  return { digests: d, images: { base, app } }
}

test("a parent's ONBUILD COPY reads the child's context: a change there moves the child, not the parent", async () => {
  const repo = makeRepo({
    'Dockerfile.base': 'FROM scratch\nCOPY a.txt /a.txt\nONBUILD COPY src/ /src/\n',
    'Dockerfile.app': 'ARG BASE_IMAGE\nFROM ${BASE_IMAGE}\nCOPY b.txt /b.txt\n',
    'a.txt': 'a\n',
    'b.txt': 'b\n',
    'src/x.txt': 'one\n',
    'other.txt': 'x\n'
  })
  const one = await variant(repo)
  put(repo, 'src/x.txt', 'two\n')
  const two = await variant(repo)
  put(repo, 'other.txt', 'y\n')
  const three = await variant(repo)
  // BuildKit: the ONBUILD COPY ran in the child only; a file nobody reads changes no image.
  const differs = (l: 'base' | 'app'): boolean =>
    JSON.stringify(one.images[l]) !== JSON.stringify(two.images[l])
  expect({ base: differs('base'), app: differs('app') }).toEqual({ base: false, app: true })
  expect(JSON.stringify(two.images)).toBe(JSON.stringify(three.images))
  // The rule, both ways, per layer.
  expect(one.digests.base).toBe(two.digests.base)
  expect(one.digests.app).not.toBe(two.digests.app)
  expect(two.digests).toEqual(three.digests)
  expect(one.digests.app).toMatch(/^sha256:/)
})

test('a parent rebuilt with the same inputs and other layers: the child keeps its digest, and reuse refuses its old image', async () => {
  // BuildKit is not reproducible here on purpose (a RUN writes random bytes): the parent's input
  // digest cannot see it, so SPEC 4a's parent check (diff_ids) is what stands between the child's old
  // image and the new parent. It is run here on the layers BuildKit wrote.
  const repo = makeRepo({
    'Dockerfile.base':
      'FROM scratch\nCOPY busybox /bin/busybox\nRUN ["/bin/busybox", "sh", "-c", "/bin/busybox head -c 16 /dev/urandom > /r"]\n',
    'Dockerfile.app': 'ARG BASE_IMAGE\nFROM ${BASE_IMAGE}\nCOPY --link b.txt /b.txt\n',
    'b.txt': 'b\n'
  })
  copyFileSync('/bin/busybox', join(repo, 'busybox'))
  git(repo, 'add', '-A')
  git(repo, 'commit', '-q', '-m', 'busybox')
  const one = await variant(repo)
  const two = await variant(repo)
  expect(two.digests).toEqual(one.digests)
  expect(two.images.base).not.toEqual(one.images.base)
  expect(two.images.app).not.toEqual(one.images.app)
  const platform = 'linux/amd64'
  // The child's old image on the parent this run uses: refused; on its own parent: accepted.
  expect(parentMismatch({ [platform]: one.images.app }, { base: { [platform]: two.images.base } })).toBe(
    `was built on another base image (${platform})`
  )
  expect(
    parentMismatch({ [platform]: one.images.app }, { base: { [platform]: one.images.base } })
  ).toBeUndefined()
})

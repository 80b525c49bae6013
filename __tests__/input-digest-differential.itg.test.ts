// The referee of SPEC 4a ("same inputs, same image"): for each case, two variants of a small repository
// get their input digest from Strata's own plan (`strata plan --json`, the path every run takes) and are
// both built by real BuildKit (SOURCE_DATE_EPOCH=0, rewrite-timestamp) into an OCI layout (see build()).
// The image seen is, per platform, its `rootfs.diff_ids` and its config labels. The rule is checked both ways: equal input digests ⇒ equal images; different images ⇒
// different input digests. Each case also states what it expects, so a case that stops testing what it
// names (both variants built alike by accident) fails too.
import { execFileSync } from 'node:child_process'
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { jest } from '@jest/globals'
import { git } from '../__fixtures__/github-api-server.js'
import { docker, uniqueRepo } from '../__fixtures__/images/index.js'
import { planInputs } from './helpers/plan-inputs.js'

jest.setTimeout(600_000)

const tmp = mkdtempSync(join(tmpdir(), 'strata-differential-'))
const image = uniqueRepo('differential')

/** The build settings of the one layer, written both into the config and onto buildx's command line. */
interface Layer {
  dockerfile?: string
  context?: string
  platforms?: string[]
  buildArgs?: Record<string, string>
  labels?: Record<string, string>
}

interface Case {
  name: string
  /** Files of the first variant (a string is a file, `{ link }` a symlink, `{ dir }` an empty folder). */
  files: Record<string, string | { link: string } | { dir: true } | { mode: number; text: string }>
  layer?: Layer
  /** Turns the first variant into the second, on disk, after the commit (git may not see it). */
  change: (repo: string) => void
  /** Settings of the second variant when they differ. */
  layer2?: Layer
  /** Per platform: does the image differ between the variants? */
  imageDiffers: boolean | Record<string, boolean>
}

const put = (repo: string, path: string, text: string): void => {
  mkdirSync(dirname(join(repo, path)), { recursive: true })
  writeFileSync(join(repo, path), text)
}

const cases: Case[] = [
  {
    name: 'a COPY source symlink whose target file changes',
    files: {
      Dockerfile: 'FROM scratch\nCOPY link.txt /x\n',
      'target.txt': 'one\n',
      'link.txt': { link: 'target.txt' }
    },
    change: r => put(r, 'target.txt', 'two\n'),
    imageDiffers: true
  },
  {
    name: 'a symlinked folder whose file changes',
    files: {
      Dockerfile: 'FROM scratch\nCOPY dirlink /d\n',
      'real/a.txt': 'one\n',
      dirlink: { link: 'real' }
    },
    change: r => put(r, 'real/a.txt', 'two\n'),
    imageDiffers: true
  },
  {
    // BuildKit follows the links of a source's path: COPY linkdir/a.txt copies real/a.txt.
    name: 'COPY linkdir/a.txt through a link to a folder, the file changes',
    files: {
      Dockerfile: 'FROM scratch\nCOPY linkdir/a.txt /x\n',
      'real/a.txt': 'one\n',
      'other/a.txt': 'other\n',
      linkdir: { link: 'real' }
    },
    change: r => put(r, 'real/a.txt', 'two\n'),
    imageDiffers: true
  },
  {
    name: 'COPY linkdir/a.txt, the folder link re-pointed to another folder',
    files: {
      Dockerfile: 'FROM scratch\nCOPY linkdir/a.txt /x\n',
      'real/a.txt': 'one\n',
      'other/a.txt': 'other\n',
      linkdir: { link: 'real' }
    },
    change: r => {
      rmSync(join(r, 'linkdir'))
      symlinkSync('other', join(r, 'linkdir'))
    },
    imageDiffers: true
  },
  {
    name: 'COPY linkdir/a.txt, a file beside it in the linked folder changes (no move)',
    files: {
      Dockerfile: 'FROM scratch\nCOPY linkdir/a.txt /x\n',
      'real/a.txt': 'one\n',
      'real/b.txt': 'b\n',
      linkdir: { link: 'real' }
    },
    change: r => put(r, 'real/b.txt', 'c\n'),
    imageDiffers: false
  },
  {
    name: 'a file gains its exec bit',
    files: {
      Dockerfile: 'FROM scratch\nCOPY tool.sh /tool.sh\n',
      'tool.sh': { mode: 0o644, text: 'echo\n' }
    },
    change: r => chmodSync(join(r, 'tool.sh'), 0o755),
    imageDiffers: true
  },
  {
    name: 'a file loses group and other read bits',
    files: { Dockerfile: 'FROM scratch\nCOPY a.txt /a.txt\n', 'a.txt': { mode: 0o644, text: 'a\n' } },
    change: r => chmodSync(join(r, 'a.txt'), 0o600),
    imageDiffers: true
  },
  {
    name: 'an empty folder added to a copied folder',
    files: { Dockerfile: 'FROM scratch\nCOPY app /app\n', 'app/a.txt': 'a\n' },
    change: r => mkdirSync(join(r, 'app/empty')),
    imageDiffers: true
  },
  {
    // BuildKit copies a link inside a copied folder as a link: its target path is what the image holds.
    name: 'a link inside a copied folder whose outside target changes (no move)',
    files: {
      Dockerfile: 'FROM scratch\nCOPY app /app\n',
      'app/link': { link: '../out.txt' },
      'out.txt': 'one\n'
    },
    change: r => put(r, 'out.txt', 'two\n'),
    imageDiffers: false
  },
  {
    name: 'a link inside a copied folder that points elsewhere',
    files: { Dockerfile: 'FROM scratch\nCOPY app /app\n', 'app/link': { link: 'one' } },
    change: r => {
      rmSync(join(r, 'app/link'))
      symlinkSync('two', join(r, 'app/link'))
    },
    imageDiffers: true
  },
  {
    name: 'a mode change that COPY --chmod overrides (no move)',
    files: {
      Dockerfile: 'FROM scratch\nCOPY --chmod=755 a.sh /a.sh\n',
      'a.sh': { mode: 0o644, text: 'echo\n' }
    },
    change: r => chmodSync(join(r, 'a.sh'), 0o700),
    imageDiffers: false
  },
  {
    name: '.dockerignore leaves out a file of COPY .',
    files: {
      Dockerfile: 'FROM scratch\nCOPY . /app\n',
      '.dockerignore': '.git\n',
      'a.txt': 'a\n',
      'b.txt': 'b\n'
    },
    change: r => put(r, '.dockerignore', '.git\nb.txt\n'),
    imageDiffers: true
  },
  {
    name: 'a declared build arg that only a LABEL uses changes',
    files: {
      Dockerfile: 'FROM scratch\nARG FLAVOUR\nLABEL flavour=$FLAVOUR\nCOPY a.txt /a.txt\n',
      'a.txt': 'a\n'
    },
    layer: { buildArgs: { FLAVOUR: 'one' } },
    change: () => {},
    layer2: { buildArgs: { FLAVOUR: 'two' } },
    imageDiffers: true
  },
  {
    name: 'a file outside every input changes (no move)',
    files: { Dockerfile: 'FROM scratch\nCOPY a.txt /a.txt\n', 'a.txt': 'a\n', 'other.txt': 'x\n' },
    change: r => put(r, 'other.txt', 'y\n'),
    imageDiffers: false
  },
  {
    name: 'a build arg no ARG declares changes (no move)',
    files: { Dockerfile: 'FROM scratch\nCOPY a.txt /a.txt\n', 'a.txt': 'a\n' },
    layer: { buildArgs: { UNDECLARED: '1' } },
    change: () => {},
    layer2: { buildArgs: { UNDECLARED: '2' } },
    imageDiffers: false
  },
  {
    name: 'context ./ instead of . (no move)',
    files: { Dockerfile: 'FROM scratch\nCOPY a.txt /a.txt\n', 'a.txt': 'a\n' },
    layer: { context: '.' },
    change: () => {},
    layer2: { context: './' },
    imageDiffers: false
  },
  {
    name: 'a config label changes',
    files: { Dockerfile: 'FROM scratch\nCOPY a.txt /a.txt\n', 'a.txt': 'a\n' },
    layer: { labels: { team: 'one' } },
    change: () => {},
    layer2: { labels: { team: 'two' } },
    imageDiffers: true
  },
  {
    // COPY alone needs no emulation: BuildKit copies the arm64 file without running anything.
    name: 'COPY bin/${TARGETARCH}/ on two platforms, only the arm64 file changes',
    files: {
      Dockerfile: 'FROM scratch\nARG TARGETARCH\nCOPY bin/${TARGETARCH}/ /bin/\n',
      'bin/amd64/tool': 'amd64 one\n',
      'bin/arm64/tool': 'arm64 one\n'
    },
    layer: { platforms: ['linux/amd64', 'linux/arm64'] },
    change: r => put(r, 'bin/arm64/tool', 'arm64 two\n'),
    imageDiffers: { 'linux/amd64': false, 'linux/arm64': true }
  },
  {
    name: "a file git assumes unchanged is edited on disk (git's view is not BuildKit's)",
    files: { Dockerfile: 'FROM scratch\nCOPY a.txt /a.txt\n', 'a.txt': 'a\n' },
    change: r => {
      git(r, 'update-index', '--assume-unchanged', 'a.txt')
      put(r, 'a.txt', 'edited\n')
    },
    imageDiffers: true
  },
  {
    name: 'CRLF on disk that core.autocrlf hides from git',
    files: { Dockerfile: 'FROM scratch\nCOPY a.txt /a.txt\n', 'a.txt': 'line\n' },
    change: r => {
      git(r, 'config', 'core.autocrlf', 'true')
      put(r, 'a.txt', 'line\r\n')
    },
    imageDiffers: true
  }
]

function configOf(l: Layer): string {
  const lines = [
    'version: 1',
    `image: ${image}`,
    'layers:',
    '  l:',
    `    dockerfile: ${l.dockerfile ?? 'Dockerfile'}`
  ]
  lines.push(`    context: ${JSON.stringify(l.context ?? '.')}`)
  lines.push(`    platforms: ${JSON.stringify(l.platforms ?? ['linux/amd64'])}`)
  for (const [key, map] of [
    ['build-args', l.buildArgs],
    ['labels', l.labels]
  ] as const) {
    if (map) lines.push(`    ${key}: ${JSON.stringify(map)}`)
  }
  return `${lines.join('\n')}\n`
}

function makeRepo(c: Case): string {
  const repo = mkdtempSync(join(tmp, 'repo-'))
  for (const [path, f] of Object.entries(c.files)) {
    mkdirSync(dirname(join(repo, path)), { recursive: true })
    if (typeof f === 'string') writeFileSync(join(repo, path), f)
    else if ('link' in f) symlinkSync(f.link, join(repo, path))
    else if ('dir' in f) mkdirSync(join(repo, path))
    else {
      writeFileSync(join(repo, path), f.text)
      chmodSync(join(repo, path), f.mode)
    }
  }
  put(repo, '.github/strata.yml', configOf(c.layer ?? {}))
  git(repo, 'init', '-q', '-b', 'main')
  git(repo, 'add', '-A')
  git(repo, 'commit', '-q', '-m', c.name)
  return repo
}

/** The layer's input digest as the plan computes it. */
async function inputDigest(repo: string): Promise<string> {
  const inputs = (await planInputs(repo)).l
  if (!inputs) throw new Error(`strata plan gave layer "l" no input digest`)
  return inputs
}

/**
 * Builds the layer as its settings say, reproducibly, into an OCI layout at `dir`. Not pushed: the
 * `docker` driver's image exporter always unpacks into the engine's store and refuses
 * `rewrite-timestamp` with it ("conflicts with unpack"), and without it each layer carries the time
 * it was built. The OCI exporter has no such step and honours it.
 */
async function build(repo: string, l: Layer, dir: string): Promise<void> {
  const args = ['buildx', 'build', '--provenance=false', '--build-arg', 'SOURCE_DATE_EPOCH=0']
  args.push('--platform', (l.platforms ?? ['linux/amd64']).join(','))
  for (const [k, v] of Object.entries(l.buildArgs ?? {})) args.push('--build-arg', `${k}=${v}`)
  for (const [k, v] of Object.entries(l.labels ?? {})) args.push('--label', `${k}=${v}`)
  args.push('-f', join(repo, l.dockerfile ?? 'Dockerfile'))
  args.push('--output', `type=oci,dest=${dir}.tar,rewrite-timestamp=true`)
  await docker([...args, join(repo, l.context ?? '.')])
  mkdirSync(dir)
  execFileSync('tar', ['-xf', `${dir}.tar`, '-C', dir])
}

interface Descriptor {
  digest: string
  mediaType?: string
  platform?: { os: string; architecture: string }
}

const blob = (dir: string, d: Descriptor): Record<string, unknown> =>
  JSON.parse(readFileSync(join(dir, 'blobs', ...d.digest.split(':')), 'utf8')) as Record<string, unknown>

/** Per platform, what the image in the OCI layout `dir` is: its layers' diff_ids and its config labels. */
function imageOf(dir: string, platforms: string[]): Record<string, string> {
  const found: Record<string, Record<string, unknown>> = {}
  const walk = (index: Record<string, unknown>, platform?: string): void => {
    for (const d of (index.manifests ?? []) as Descriptor[]) {
      const p = d.platform ? `${d.platform.os}/${d.platform.architecture}` : platform
      const m = blob(dir, d)
      if (m.manifests) walk(m, p)
      else found[p ?? platforms[0]] = m
    }
  }
  walk(JSON.parse(readFileSync(join(dir, 'index.json'), 'utf8')) as Record<string, unknown>)
  const seen: Record<string, string> = {}
  for (const p of platforms) {
    if (!found[p]) throw new Error(`${dir} has no ${p} image`)
    const config = blob(dir, found[p].config as Descriptor)
    const diffIds = (config.rootfs as { diff_ids: string[] }).diff_ids
    const labels = (config.config as { Labels?: Record<string, string> } | undefined)?.Labels ?? {}
    seen[p] = JSON.stringify({ diffIds, labels })
  }
  return seen
}

let n = 0
test.each(cases.map(c => [c.name, c] as const))('%s', async (_name, c) => {
  const layer1 = c.layer ?? {}
  const layer2 = c.layer2 ?? layer1
  const platforms = layer1.platforms ?? ['linux/amd64']
  const repo = makeRepo(c)
  const out = join(tmp, `case${++n}`)

  const digest1 = await inputDigest(repo)
  await build(repo, layer1, `${out}-a`)
  c.change(repo)
  if (c.layer2) put(repo, '.github/strata.yml', configOf(layer2))
  const digest2 = await inputDigest(repo)
  await build(repo, layer2, `${out}-b`)

  const [image1, image2] = [imageOf(`${out}-a`, platforms), imageOf(`${out}-b`, platforms)]
  const differs = (p: string): boolean => image1[p] !== image2[p]
  // What the case is about happened in BuildKit's images (else it tests nothing).
  const expected =
    typeof c.imageDiffers === 'boolean'
      ? Object.fromEntries(platforms.map(p => [p, c.imageDiffers]))
      : c.imageDiffers
  expect(Object.fromEntries(platforms.map(p => [p, differs(p)]))).toEqual(expected)
  // The rule, both ways: a different image has a different input digest, and an equal input digest an
  // equal image. Where the images are equal the digest must not move either: every such case here is a
  // change SPEC 4a names as no input (moving would be safe but would waste a build).
  const moved = { image: platforms.some(differs), digest: digest1 !== digest2 }
  expect({ ...moved, digests: [digest1, digest2] }).toEqual({
    image: moved.image,
    digest: moved.image,
    digests: [digest1, digest2]
  })
  for (const dir of [repo, `${out}-a`, `${out}-b`, `${out}-a.tar`, `${out}-b.tar`])
    rmSync(dir, { recursive: true, force: true })
})

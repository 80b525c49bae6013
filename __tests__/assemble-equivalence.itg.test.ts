// SPEC 7a's referee, on the real stack: every Dockerfile of the corpus is built by BuildKit (pushed to
// the test registry) and assembled by Strata (no docker process), then compared per platform: the file
// tree of each new layer (path, type, mode, uid/gid, size, content hash, link target, read from the layer
// blobs in the registry) and the config fields users see. One smoke check runs both images.
import { execFile } from 'node:child_process'
import { chmod, mkdir, mkdtemp, symlink, writeFile, copyFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { createRegistry } from '../src/adapters/registry.js'
import { assembleLayer } from '../src/build/assemble.js'
import { assemblyOf } from '../src/core/assemble.js'
import { compileDockerignore } from '../src/core/dockerignore.js'
import { neededStages, parseDockerfile } from '../src/core/dockerfile.js'
import type { LayerConfig } from '../src/core/types.js'
import { buildAndPush, docker, uniqueRepo } from '../__fixtures__/images/index.js'
import {
  layerTree,
  platformImages,
  type PlatformImage,
  type TreeEntry
} from '../__fixtures__/images/layer-tree.js'

const run = promisify(execFile)
const repo = uniqueRepo('assemble')
const LABELS = {
  'org.opencontainers.image.source': 'https://github.com/acme/sindri',
  'org.opencontainers.image.revision': '0123456789abcdef0123456789abcdef01234567',
  'dev.strata.inputs': `sha256:${'a'.repeat(64)}`
}
const HEAD = 'ARG BASE_IMAGE\nFROM ${BASE_IMAGE}\n'
/** The parents' Dockerfiles: one platform (its WORKDIRs make /srv and /opt/www), and two platforms. */
const PARENTS = {
  base:
    'FROM scratch\nCOPY busybox /bin/busybox\nRUN ["/bin/busybox","--install","-s","/bin"]\n' +
    'ENV PATH=/usr/local/bin:/bin\nWORKDIR /opt/www\nWORKDIR /srv\nCMD ["sh"]\n',
  two: 'FROM scratch\nCOPY busybox /bin/busybox\nENV PATH=/bin\n'
}
let work: string
let context: string
let base: string // single-platform parent, repo:base@digest
let base2: string // two-platform parent

async function buildPush(dir: string, file: string, tag: string, extra: string[] = []): Promise<string> {
  const meta = join(work, `${tag}.json`)
  await buildAndPush([
    '--quiet',
    '--push',
    '--provenance=false',
    '--metadata-file',
    meta,
    '-f',
    file,
    '-t',
    `${repo}:${tag}`,
    ...extra,
    dir
  ])
  const { stdout } = await run('cat', [meta])
  return `${repo}:${tag}@${(JSON.parse(stdout) as { 'containerimage.digest': string })['containerimage.digest']}`
}

async function write(path: string, text: string, mode = 0o644): Promise<void> {
  await mkdir(join(path, '..'), { recursive: true })
  await writeFile(path, text)
  await chmod(path, mode)
}

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'strata-assemble-'))
  context = join(work, 'context')
  const c = (p: string): string => join(context, p)
  await write(c('app/a.txt'), 'a\n')
  await write(c('app/run.sh'), '#!/bin/sh\necho "run $(cat /app/a.txt) as $(id -u)"\n', 0o755)
  await write(c('app/sub/deep/b.txt'), 'b\n', 0o640)
  await chmod(c('app/sub'), 0o700)
  await mkdir(c('app/empty'))
  await symlink('a.txt', c('app/link'))
  await symlink('/etc/hostname', c('app/abs-link'))
  await write(c('top.txt'), 'top\n', 0o600)
  await write(c('odd name #1.txt'), 'odd\n')
  await write(c('ünïcode-ñ.txt'), 'u\n')
  await write(c('-dash.txt'), 'dash\n')
  await symlink('app', c('linkdir'))
  await write(c('notes.log'), 'ignored\n')
  await write(c('secret/key'), 'ignored\n')
  await mkdir(c('empty-top'))
  await write(c('.dockerignore'), '*.log\nsecret\n')
  for (const d of ['', 'app', 'app/sub/deep', 'app/empty', 'empty-top', 'secret'])
    await chmod(c(d), d === '' ? 0o755 : 0o755)
  await chmod(c('app/sub'), 0o700)

  const b = join(work, 'base')
  await mkdir(b)
  await copyFile('/bin/busybox', join(b, 'busybox'))
  await write(join(b, 'Dockerfile'), PARENTS.base)
  await write(join(b, 'Dockerfile.two'), PARENTS.two)
  base = await buildPush(b, join(b, 'Dockerfile'), 'base')
  base2 = await buildPush(b, join(b, 'Dockerfile.two'), 'base2', ['--platform', 'linux/amd64,linux/arm64'])
})

const CASES: Record<string, { dockerfile: string; two?: boolean }> = {
  folders: { dockerfile: 'COPY --link app/ /app/\nCMD /app/run.sh\n' },
  owners: {
    dockerfile:
      'COPY --link --chown=1000:1000 top.txt /opt/deep/er/\n' +
      'COPY --link --chown=42 app /x/y\nCOPY --link --chown=7:8 app/sub/ /z/\n'
  },
  'shared-parent': {
    dockerfile: 'COPY --link top.txt /opt/deep/\nCOPY --link --chown=1000 top.txt /opt/c/\n'
  },
  'chown-over-parent-folder': {
    dockerfile: 'COPY --link --chown=1000 top.txt /srv/x/\nCOPY --link app /bin/\n'
  },
  sources: {
    dockerfile:
      'COPY --link ["app/a.txt", "odd name #1.txt", "ünïcode-ñ.txt", "./-dash.txt", "/multi/"]\n' +
      'COPY --link app/*.sh app/s* /globbed/\nCOPY --link ["top.txt", "/json dest/file.txt"]\n'
  },
  links: { dockerfile: 'COPY --link linkdir /followed/\nCOPY --link app/link /single\n' },
  context: { dockerfile: 'COPY --link . /ctx/\n' },
  config: {
    dockerfile:
      'ARG GREETING=hello\nENV PATH=/app/bin:$PATH A="two words" G=$GREETING\nLABEL team=core "with space"="x y"\n' +
      'USER 1000:1000\nEXPOSE 8080 53/udp\nENTRYPOINT ["/bin/sh", "-c"]\nCMD ["echo $A"]\n' +
      'HEALTHCHECK --interval=30s --timeout=3s --start-period=1m30s --retries=2 CMD wget -q localhost || exit 1\n' +
      'STOPSIGNAL SIGQUIT\nVOLUME /data ["/cache"]\nCOPY --link top.txt /home/\n'
  },
  'entrypoint-resets-cmd': { dockerfile: 'ENTRYPOINT ["/bin/echo"]\nHEALTHCHECK NONE\n' },
  workdir: {
    dockerfile:
      'COPY --link app/ /srv2/app/\nWORKDIR /srv2\nCOPY --link top.txt ./\nWORKDIR /srv2/app\nWORKDIR /\n' +
      'COPY --link top.txt rel/\n'
  },
  'workdir-of-the-parent': {
    dockerfile:
      'WORKDIR /srv\nCOPY --link top.txt ./\nWORKDIR /\nWORKDIR /opt/www\nCOPY --link app/a.txt sub/\n' +
      'WORKDIR /opt\nWORKDIR /srv/\n'
  },
  'relative-dest': { dockerfile: 'COPY --link top.txt rel/\nCOPY --link app/a.txt .\n' },
  'two-platforms': { dockerfile: 'ARG TARGETARCH\nENV ARCH=$TARGETARCH\nCOPY --link app/ /app/\n', two: true }
}

const CONFIG_FIELDS = [
  'Env',
  'Cmd',
  'Entrypoint',
  'WorkingDir',
  'User',
  'ExposedPorts',
  'StopSignal',
  'Healthcheck',
  'Volumes'
]

function configOf(img: PlatformImage): Record<string, unknown> {
  const c = img.config.config ?? {}
  const labels = { ...(c.Labels as Record<string, string> | undefined) }
  delete labels['org.opencontainers.image.created']
  return Object.fromEntries([...CONFIG_FIELDS.map(f => [f, c[f] ?? null]), ['Labels', labels]])
}

function layerOf(dockerfile: string, platforms: string[], image: string): LayerConfig {
  return {
    name: 'app',
    dockerfile,
    context: '.',
    paths: [],
    from: [{ layer: 'base', buildArg: 'BASE_IMAGE' }],
    always: false,
    image,
    buildArgs: {},
    platforms,
    cache: [],
    secrets: [],
    labels: {}
  }
}

async function assemble(
  name: string,
  dockerfile: string,
  parent: string,
  platforms: string[],
  into = repo
): Promise<string> {
  const text = HEAD + dockerfile
  const parsed = parseDockerfile(text, `Dockerfile.${name}`, { layerArgs: { BASE_IMAGE: 'base' } })
  const e = assemblyOf({
    layer: layerOf(`Dockerfile.${name}`, platforms, into),
    parsed,
    stages: neededStages(parsed) ?? [],
    buildArgs: {},
    reincludes: false,
    parentOnbuild: false,
    parentStages: neededStages(parseDockerfile(parent === base ? PARENTS.base : PARENTS.two, 'Dockerfile'))
  })
  if ('why' in e) throw new Error(`${name} is not eligible: ${e.why}`)
  const ignore = compileDockerignore('*.log\nsecret\n')
  const done = await assembleLayer(
    {
      assembly: e.assembly,
      parent,
      image: into,
      tags: [`${into}:as-${name}`],
      platforms,
      labels: LABELS,
      context: { root: context, ignored: rel => ignore.ignores(rel) },
      time: new Date('2026-01-02T03:04:05Z')
    },
    createRegistry().images
  )
  return done.ref
}

test.each(Object.entries(CASES))('%s: assembled as BuildKit builds it', async (name, c) => {
  const parent = c.two ? base2 : base
  const platforms = c.two ? ['linux/amd64', 'linux/arm64'] : ['linux/amd64']
  const file = join(work, `Dockerfile.${name}`)
  await write(file, HEAD + c.dockerfile)
  const labels = Object.entries(LABELS).flatMap(([k, v]) => ['--label', `${k}=${v}`])
  const built = await buildPush(context, file, `bk-${name}`, [
    '--build-arg',
    `BASE_IMAGE=${parent}`,
    '--platform',
    platforms.join(','),
    ...labels
  ])
  const assembled = await assemble(name, c.dockerfile, parent, platforms)
  const [want, got, from] = await Promise.all([
    platformImages(built),
    platformImages(assembled),
    platformImages(parent)
  ])
  expect(Object.keys(got).sort()).toEqual(platforms)
  expect(Object.keys(want).sort()).toEqual(platforms)
  for (const p of platforms) {
    const skip = from[p].layers.length
    expect(got[p].layers.slice(0, skip)).toEqual(from[p].layers)
    const newWant = want[p].layers.slice(skip)
    const newGot = got[p].layers.slice(skip)
    expect(newGot.length).toBe(newWant.length)
    for (let i = 0; i < newWant.length; i++) {
      const [w, g] = await Promise.all([layerTree(built, newWant[i]), layerTree(assembled, newGot[i])])
      expect({ layer: i, tree: g }).toEqual({ layer: i, tree: w })
    }
    expect(configOf(got[p])).toEqual(configOf(want[p]))
    expect(got[p].config.rootfs?.diff_ids?.length).toBe(want[p].config.rootfs?.diff_ids?.length)
  }
})

test('docker run of an assembled image behaves like the built one', async () => {
  const built = `${repo}:bk-folders`
  const assembled = `${repo}:as-folders`
  const [a, b] = await Promise.all([
    docker(['run', '--rm', '--pull', 'always', built]),
    docker(['run', '--rm', '--pull', 'always', assembled])
  ])
  expect(b).toBe('run a as 0\n')
  expect(b).toBe(a)
})

test('a parent in another repository: its blobs are mounted, the image is whole there', async () => {
  const elsewhere = `${repo}-elsewhere`
  const ref = await assemble('folders', CASES.folders.dockerfile, base, ['linux/amd64'], elsewhere)
  expect(ref.startsWith(`${elsewhere}:as-folders@sha256:`)).toBe(true)
  const [got, from] = await Promise.all([platformImages(ref), platformImages(base)])
  expect(got['linux/amd64'].layers.slice(0, from['linux/amd64'].layers.length)).toEqual(
    from['linux/amd64'].layers
  )
  // The parent's first layer (busybox) is read back from the new repository.
  const tree = await layerTree(ref, from['linux/amd64'].layers[0])
  expect(tree.map(e => e.path)).toEqual(['bin', 'bin/busybox'])
  expect(await docker(['run', '--rm', '--pull', 'always', ref.replace(/:as-folders@/, '@')])).toBe(
    'run a as 0\n'
  )
})

// SPEC 7a's `COPY --chmod` fallback, proven on BuildKit 0.13: with --chmod the layer of a COPY --link
// holds the destination's parent folders as the parent image has them (mode and owner from its files),
// which no assembler reading only manifests and configs can know; without --chmod it does not.
test("COPY --link --chmod depends on the parent image's folders: it stays with BuildKit, and the plan says why", async () => {
  const b = join(work, 'odd')
  await write(
    join(b, 'Dockerfile'),
    'ARG BASE_IMAGE\nFROM ${BASE_IMAGE}\nRUN mkdir -p -m 700 /srv/x && chown 5:6 /srv/x\n'
  )
  const odd = await buildPush(b, join(b, 'Dockerfile'), 'base-odd', ['--build-arg', `BASE_IMAGE=${base}`])
  const trees = async (dockerfile: string, name: string): Promise<TreeEntry[][]> => {
    const file = join(work, `Dockerfile.${name}`)
    await write(file, HEAD + dockerfile)
    return Promise.all(
      [base, odd].map(async (parent, i) => {
        const ref = await buildPush(context, file, `bk-${name}-${i}`, ['--build-arg', `BASE_IMAGE=${parent}`])
        const layers = (await platformImages(ref))['linux/amd64'].layers
        return layerTree(ref, layers[layers.length - 1])
      })
    )
  }
  const copy = (flags: string): string => `COPY --link ${flags}top.txt /srv/x/y/\n`
  const [plain, plainOdd] = await trees(copy(''), 'parent-plain')
  const [chmod, chmodOdd] = await trees(copy('--chmod=640 '), 'parent-chmod')
  expect(plainOdd).toEqual(plain)
  const x = (t: TreeEntry[]): TreeEntry | undefined => t.find(e => e.path === 'srv/x')
  expect(chmod).not.toEqual(chmodOdd)
  expect(x(chmodOdd)).toMatchObject({ uid: 5, gid: 6 })
  expect(x(chmod)).toMatchObject({ uid: 0, gid: 0 })
  const parsed = parseDockerfile(HEAD + copy('--chmod=640 '), 'Dockerfile', {
    layerArgs: { BASE_IMAGE: 'base' }
  })
  const e = assemblyOf({
    layer: layerOf('Dockerfile', ['linux/amd64'], repo),
    parsed,
    stages: neededStages(parsed) ?? [],
    buildArgs: {},
    reincludes: false,
    parentOnbuild: false
  })
  expect(e).toEqual({
    why: "COPY --chmod=640 (BuildKit makes its folders from the parent's files) at Dockerfile:3"
  })
})

// Helpers for the tests that build real images: a workspace with the fixture Dockerfiles and
// busybox, registry look-ups with imagetools, and a second dockerd without the containerd store.
import { execFile, spawn } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { copyFile, mkdir, mkdtemp, readdir, writeFile } from 'node:fs/promises'
import { existsSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { registryServerError } from '../../src/core/progress.js'

const run = promisify(execFile)
const here = dirname(fileURLToPath(import.meta.url))

/** A unique repository in the open test registry. */
export function uniqueRepo(prefix = 'build'): string {
  return `localhost:5000/strata-test/${prefix}-${randomBytes(4).toString('hex')}`
}

/** A temp dir holding the fixture Dockerfiles, busybox and text files with unique content. */
export async function makeWorkspace(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'strata-build-'))
  for (const f of await readdir(here)) {
    if (f.startsWith('Dockerfile.')) await copyFile(join(here, f), join(dir, f))
  }
  await copyFile('/bin/busybox', join(dir, 'busybox'))
  const nonce = randomBytes(8).toString('hex')
  for (const f of ['base', 'tooling', 'app']) await writeFile(join(dir, `${f}.txt`), `${f} ${nonce}\n`)
  return dir
}

export async function docker(args: string[], env?: NodeJS.ProcessEnv): Promise<string> {
  const { stdout } = await run('docker', args, { env: env ?? process.env, maxBuffer: 64 << 20 })
  return stdout
}

/**
 * `docker buildx build` with `args` (which push), run once more when the registry answered 5xx.
 * On the docker driver with the containerd store the engine pushes the image again after BuildKit,
 * every manifest of an index under the same tag at once, and the test registry (Distribution on
 * filesystem storage) answers a HEAD of a tag whose link file is being rewritten with 500. Strata's
 * own sessions retry on the same check (src/core/progress.ts registryServerError).
 */
export async function buildAndPush(args: string[]): Promise<string> {
  try {
    return await docker(['buildx', 'build', ...args])
  } catch (e) {
    if (!registryServerError(String((e as { stderr?: unknown }).stderr ?? '').split('\n'))) throw e
    return docker(['buildx', 'build', ...args])
  }
}

/** The digest behind `repo:tag`, or undefined when the tag does not exist. */
export async function digestOf(ref: string): Promise<string | undefined> {
  try {
    const out = await docker(['buildx', 'imagetools', 'inspect', ref, '--format', '{{json .Manifest}}'])
    return (JSON.parse(out) as { digest: string }).digest
  } catch {
    return undefined
  }
}

/** The raw manifest (or index) of `ref`. */
export async function rawManifest(ref: string): Promise<Record<string, unknown>> {
  return JSON.parse(await docker(['buildx', 'imagetools', 'inspect', '--raw', ref])) as Record<
    string,
    unknown
  >
}

interface Descriptor {
  digest: string
  platform?: { os: string; architecture: string }
}

/** Platforms of the image manifests in an index (attestations left out). */
export async function platformsOf(ref: string): Promise<string[]> {
  const index = await rawManifest(ref)
  const manifests = (index.manifests ?? []) as Descriptor[]
  return manifests
    .filter(m => m.platform && m.platform.os !== 'unknown')
    .map(m => `${m.platform?.os}/${m.platform?.architecture}`)
    .sort()
}

/** Layer digests of the linux/amd64 image of `ref` (through the index when there is one). */
export async function layersOf(ref: string): Promise<string[]> {
  let manifest = await rawManifest(ref)
  if (manifest.manifests) {
    const amd64 = (manifest.manifests as Descriptor[]).find(m => m.platform?.architecture === 'amd64')
    if (!amd64) throw new Error(`${ref} has no linux/amd64 image`)
    manifest = await rawManifest(`${ref.split('@')[0].replace(/:[^/:]+$/, '')}@${amd64.digest}`)
  }
  return ((manifest.layers ?? []) as Descriptor[]).map(l => l.digest)
}

const BRIDGE = 'strata-br0'

/**
 * A second dockerd with the classic image store (no containerd snapshotter), on its own socket,
 * directories and bridge. Never `--bridge=none`: that makes dockerd delete the host's docker0,
 * which breaks RUN on the main engine. Reused when it already answers; `stop` ends it only
 * when this call started it.
 */
export async function classicDockerd(): Promise<{ host: string; stop: () => Promise<void> }> {
  const root = join(tmpdir(), 'strata-classic-dockerd')
  const sock = join(root, 'docker.sock')
  const host = `unix://${sock}`
  const env = { ...process.env, DOCKER_HOST: host }
  const answers = async (): Promise<boolean> =>
    docker(['info', '--format', '{{.Driver}}'], env).then(
      () => true,
      () => false
    )
  if (existsSync(sock) && (await answers())) return { host, stop: async () => {} }
  await mkdir(root, { recursive: true })
  await writeFile(join(root, 'daemon.json'), '{}\n')
  if (!existsSync(`/sys/class/net/${BRIDGE}`)) {
    await run('ip', ['link', 'add', BRIDGE, 'type', 'bridge'])
    await run('ip', ['addr', 'add', '10.250.0.1/24', 'dev', BRIDGE])
    await run('ip', ['link', 'set', BRIDGE, 'up'])
  }
  const child = spawn(
    'dockerd',
    [
      '--config-file',
      join(root, 'daemon.json'),
      '--data-root',
      join(root, 'data'),
      '--exec-root',
      join(root, 'exec'),
      '--pidfile',
      join(root, 'docker.pid'),
      '-H',
      host,
      `--bridge=${BRIDGE}`,
      '--iptables=false',
      '--ip6tables=false'
    ],
    { stdio: 'ignore', detached: true }
  )
  child.unref()
  for (let i = 0; i < 60; i++) {
    if (await answers()) {
      return {
        host,
        stop: async () => {
          child.kill('SIGTERM')
          await new Promise(r => setTimeout(r, 1000))
        }
      }
    }
    await new Promise(r => setTimeout(r, 500))
  }
  child.kill('SIGTERM')
  throw new Error(`a second dockerd (classic image store) did not answer on ${host} within 30 s`)
}

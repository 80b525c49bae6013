// docker buildx: version, builder features, and one bake session (its progress is read by core/progress.ts).
import { readFile } from 'node:fs/promises'
import * as exec from '@actions/exec'
import { registryHost } from '../core/image-ref.js'

export { ProgressCounter } from '../core/progress.js'

export interface BuilderInfo {
  name: string
  driver: string
  /** As the builder reports it (`v0.13.1`, or `v0.0.0+unknown` for some distribution builds). */
  buildkitVersion?: string
  /** Can export cache (`--cache-to`): not the docker driver without the containerd image store. */
  canExportCache: boolean
  /** The platforms its first node builds for; the first is its own (BUILDPLATFORM). */
  platforms?: string[]
}

export interface BakeRun {
  exitCode: number
  durationMs: number
  /** Per target, from bake's `--metadata-file` (written only when every target succeeded). */
  digests: Record<string, string>
}

export interface Buildx {
  /** buildx version (`0.13.1+ds1`). */
  version(): Promise<string>
  /** Memoized per builder: asking early (side by side with the plan's look-ups) makes the later ask free. */
  inspectBuilder(name?: string): Promise<BuilderInfo>
  /** Runs `docker <argv>` (argv from core/bake.ts), every output line to onLine; never throws on a failed build. */
  bake(argv: string[], opts?: { cwd?: string; onLine?: (line: string) => void }): Promise<BakeRun>
  /** `docker push <ref>` of an image the session stored in the engine; the last error line when it fails. */
  push(ref: string): Promise<{ exitCode: number; lastErrorLine?: string }>
}

export interface BuildxOptions {
  /** The docker client (default `docker`). */
  docker?: string
  /** Extra environment for every docker process (e.g. DOCKER_HOST, the runner's ACTIONS_* for gha). */
  env?: Record<string, string | undefined>
}

export function createBuildx(opts: BuildxOptions = {}): Buildx {
  const d: Docker = { docker: opts.docker ?? 'docker', env: mergeEnv(opts.env) }
  const inspected = new Map<string, Promise<BuilderInfo>>()
  return {
    version: () => version(d),
    inspectBuilder(name) {
      const key = name ?? ''
      if (!inspected.has(key)) inspected.set(key, inspectBuilder(d, name))
      return inspected.get(key) as Promise<BuilderInfo>
    },
    bake: (argv, o = {}) => bake(d, argv, o),
    push: ref => push(d, ref)
  }
}

/** The docker client and the environment of every docker process. */
interface Docker {
  docker: string
  env: Record<string, string>
}

async function run(d: Docker, args: string[]): Promise<{ exitCode: number; stdout: string; stderr: string }> {
  return exec.getExecOutput(d.docker, args, { silent: true, ignoreReturnCode: true, env: d.env })
}

async function version(d: Docker): Promise<string> {
  const out = await run(d, ['buildx', 'version'])
  if (out.exitCode !== 0) throw new Error(`docker buildx is not available: ${lastLine(out.stderr)}`)
  // `github.com/docker/buildx 0.13.1+ds1 <commit>`
  return out.stdout.trim().split(/\s+/)[1] ?? out.stdout.trim()
}

async function inspectBuilder(d: Docker, name?: string): Promise<BuilderInfo> {
  const out = await run(d, ['buildx', 'inspect', ...(name ? [name] : [])])
  if (out.exitCode !== 0) {
    throw new Error(`buildx builder ${name ?? '(current)'} cannot be inspected: ${lastLine(out.stderr)}`)
  }
  const info = parseInspect(out.stdout)
  if (info.cacheExport !== undefined || info.driver !== 'docker') {
    return { ...info, canExportCache: info.cacheExport ?? true }
  }
  // No features and no containerd labels: the docker driver exports cache only with the
  // containerd image store, which `docker info` shows as the containerd snapshotter.
  const ctx = name && name !== 'default' ? ['--context', name] : []
  const dockerInfo = await run(d, [...ctx, 'info', '--format', '{{json .DriverStatus}}'])
  return { ...info, canExportCache: dockerInfo.stdout.includes('io.containerd.snapshotter') }
}

async function bake(
  d: Docker,
  argv: string[],
  o: { cwd?: string; onLine?: (line: string) => void }
): Promise<BakeRun> {
  const started = Date.now()
  const exitCode = await exec.exec(d.docker, argv, {
    cwd: o.cwd,
    env: d.env,
    silent: true,
    ignoreReturnCode: true,
    listeners: { stdline: line => o.onLine?.(line), errline: line => o.onLine?.(line) }
  })
  const durationMs = Date.now() - started
  const i = argv.indexOf('--metadata-file')
  return { exitCode, durationMs, digests: i >= 0 ? await readBakeDigests(argv[i + 1]) : {} }
}

async function push(d: Docker, ref: string): Promise<{ exitCode: number; lastErrorLine?: string }> {
  // `--` first: a reference is never read as an option (it is validated before too).
  const out = await run(d, ['push', '--quiet', '--', ref])
  return out.exitCode === 0
    ? { exitCode: 0 }
    : { exitCode: out.exitCode, lastErrorLine: lastLine(out.stderr) }
}

/** target → containerimage.digest of bake's metadata file; empty when it is missing (a failed session). */
async function readBakeDigests(file: string): Promise<Record<string, string>> {
  try {
    const meta = JSON.parse(await readFile(file, 'utf8')) as Record<string, unknown>
    const out: Record<string, string> = {}
    for (const [target, m] of Object.entries(meta)) {
      const digest = (m as Record<string, unknown> | null)?.['containerimage.digest']
      if (typeof digest === 'string') out[target] = digest
    }
    return out
  } catch {
    return {}
  }
}

/** The parts of `docker buildx inspect` that decide cache and gha support. */
export function parseInspect(text: string): Omit<BuilderInfo, 'canExportCache'> & { cacheExport?: boolean } {
  const field = (key: string): string | undefined =>
    new RegExp(`^${key}:[ \\t]*(.*)$`, 'm').exec(text)?.[1]?.trim() || undefined
  const cacheExport = /^\s*Cache export:\s*(true|false)\s*$/m.exec(text)?.[1]
  // buildx before 0.15 lists no features, but the docker driver's worker labels show the
  // containerd image store (which exports cache): then `docker info` need not be asked.
  const containerd = /^\s*org\.mobyproject\.buildkit\.worker\.containerd\./m.test(text)
  // `linux/amd64*, linux/arm64`: a `*` marks a platform set by hand.
  const platforms = field('Platforms')
    ?.split(',')
    .map(p => p.trim().replace(/\*$/, ''))
    .filter(Boolean)
  return {
    ...(platforms?.length && { platforms }),
    name: field('Name') ?? 'default',
    driver: field('Driver') ?? 'unknown',
    buildkitVersion: field('BuildKit version') ?? field('Buildkit'),
    cacheExport: cacheExport === undefined ? (containerd ? true : undefined) : cacheExport === 'true'
  }
}

/**
 * `buildx failed with: <line>`, plus what to do when the registry denied the push:
 * GHCR needs `packages: write`; elsewhere the job must log in first.
 */
export function describeBuildFailure(lastErrorLine: string | undefined, image: string): string {
  const line = lastErrorLine ?? 'no error output'
  const message = `buildx failed with: ${line}`
  if (
    !/401 Unauthorized|403 Forbidden|denied|unauthorized|authentication required|insufficient_scope/i.test(
      line
    )
  ) {
    return message
  }
  const registry = registryHost(image)
  if (registry === 'ghcr.io') {
    return (
      `${message}\nThe push to ${image} was denied: give the job \`permissions: packages: write\` ` +
      '(and, for an existing package, give this repository write access in the package settings).'
    )
  }
  return `${message}\nThe push to ${image} was denied: log in to ${registry} before Strata runs (docker/login-action, or \`docker login ${registry}\`) with an account that may push there.`
}

/** @deprecated registryHost of core/image-ref.ts; kept until the registry adapter stops importing it. */
export const registryOf = registryHost

/** The last non-blank line of a process's output, for one-line error messages. */
export function lastLine(text: string): string {
  return (
    text
      .trim()
      .split('\n')
      .filter(l => l.trim())
      .pop() ?? '(no output)'
  )
}

/** process.env plus `extra` (undefined values dropped), for @actions/exec. */
export function mergeEnv(extra: Record<string, string | undefined> = {}): Record<string, string> {
  const env: Record<string, string> = {}
  for (const [k, v] of Object.entries({ ...process.env, ...extra })) if (v !== undefined) env[k] = v
  return env
}

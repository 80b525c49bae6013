// The registry as Strata sees it, through `docker buildx imagetools`: existence and digests
// (memoized: one process per ref per run, side by side) and retagging without pulling.
import * as exec from '@actions/exec'
import type { ImageInfo, Registry } from '../core/types.js'
import { lastLine, mergeEnv, registryOf } from './buildx.js'

export interface RegistryOptions {
  /** The docker client (default `docker`). */
  docker?: string
  /** buildx builder name (`--builder`). */
  builder?: string
  /** Extra environment for every docker process (e.g. DOCKER_HOST, DOCKER_CONFIG). */
  env?: Record<string, string | undefined>
  /** At most this many look-ups at once (default 8). */
  parallel?: number
}

export interface RegistryAdapter extends Registry {
  /** Every docker command started, argv without `docker`: for tests and the dry-run log. */
  readonly commands: string[][]
}

/** The registry says the tag (or the whole repository) does not exist. */
const NOT_FOUND = /: not found\s*$|manifest unknown|name unknown|MANIFEST_UNKNOWN|NAME_UNKNOWN/i
const DENIED =
  /401 Unauthorized|403 Forbidden|denied|unauthorized|authentication required|insufficient_scope|no basic auth credentials/i

export function createRegistry(opts: RegistryOptions = {}): RegistryAdapter {
  const docker = opts.docker ?? 'docker'
  const env = mergeEnv(opts.env)
  const builder = opts.builder ? ['--builder', opts.builder] : []
  const memo = new Map<string, Promise<ImageInfo | null>>()
  const commands: string[][] = []
  let free = opts.parallel ?? 8
  const queue: (() => void)[] = []

  async function run(args: string[]): Promise<{ exitCode: number; stdout: string; stderr: string }> {
    if (free > 0) free--
    else await new Promise<void>(res => queue.push(res))
    commands.push(args)
    try {
      return await exec.getExecOutput(docker, args, { silent: true, ignoreReturnCode: true, env })
    } finally {
      const next = queue.shift()
      if (next) next()
      else free++
    }
  }

  async function lookUp(ref: string): Promise<ImageInfo | null> {
    const out = await run([
      'buildx',
      'imagetools',
      'inspect',
      ...builder,
      ref,
      '--format',
      '{{json .Manifest}}'
    ])
    if (out.exitCode !== 0) {
      const line = lastLine(out.stderr)
      if (NOT_FOUND.test(line)) return null
      throw new Error(`cannot look up ${ref} in the registry: ${line}${hint(line, ref)}`)
    }
    let digest: unknown
    try {
      digest = (JSON.parse(out.stdout) as { digest?: unknown }).digest
    } catch {
      digest = undefined
    }
    if (typeof digest !== 'string' || !/^sha256:[0-9a-f]{64}$/.test(digest)) {
      throw new Error(
        `cannot read the digest of ${ref}: imagetools printed ${out.stdout.trim().slice(0, 200)}`
      )
    }
    return { digest }
  }

  return {
    commands,

    inspect(ref) {
      let p = memo.get(ref)
      if (!p) {
        p = lookUp(ref)
        memo.set(ref, p)
      }
      return p
    },

    async retag(source, targets) {
      if (targets.length === 0) return
      const out = await run([
        'buildx',
        'imagetools',
        'create',
        ...builder,
        ...targets.flatMap(t => ['--tag', t]),
        source
      ])
      if (out.exitCode !== 0) {
        const line = lastLine(out.stderr)
        throw new Error(`cannot tag ${source} as ${targets.join(', ')}: ${line}${hint(line, targets[0])}`)
      }
      // The tags moved: a later look-up must ask again (a single manifest gets wrapped in an
      // index, so the target's digest is not always the source's).
      for (const t of targets) memo.delete(t)
    }
  }
}

/** What to do about a denial: GHCR needs `packages` permissions; elsewhere log in first. */
function hint(line: string, ref: string): string {
  if (!DENIED.test(line)) return ''
  const registry = registryOf(ref.replace(/[@:][^/]*$/, ''))
  if (registry === 'ghcr.io') {
    return ' — the job needs `permissions: packages: write` (read for look-ups) and a docker/login-action step for ghcr.io'
  }
  return ` — log in to ${registry} before Strata runs (docker/login-action, or \`docker login ${registry}\`)`
}

// The argv of one `docker buildx build` (SPEC 7). Pure: everything it needs comes in as data.
import type { LayerConfig } from './types.js'

export interface BuildArgvInput {
  layer: LayerConfig
  /** Parent build-arg name → parent ref (digest-pinned when pushing, the local tag when not). */
  parents: Record<string, string>
  /** Full refs the build pushes (or loads): the layer's versioned tags. Moving tags are added later. */
  tags: string[]
  push: boolean
  /** The `platforms` input; overrides the layer's. */
  platforms?: string[]
  /** The `build-args` input, added to every layer (wins over the layer's own). */
  buildArgs: Record<string, string>
  /** OCI labels: repository URL, commit, build time (ISO 8601). */
  oci: { source: string; revision: string; created: string }
  metadataFile: string
  cache: { from: string[]; to: string[] }
  builder?: string
  /** The builder's driver (`docker`, `docker-container`, …): whether a multi-platform image can be loaded. */
  driver?: string
}

/** The platforms a layer builds for: the `platforms` input, else the layer's. */
export function platformsOf(layer: LayerConfig, input?: string[]): string[] {
  return input?.length ? input : layer.platforms
}

/**
 * Where the image goes: `push`; `load` into the local engine (one platform, or any number on the
 * docker driver, which loads multi-platform images with the containerd image store); else `cache`:
 * other drivers cannot load several platforms, so the result stays in the build cache only.
 */
export function outputOf(push: boolean, platforms: string[], driver?: string): 'push' | 'load' | 'cache' {
  if (push) return 'push'
  return platforms.length <= 1 || driver === 'docker' ? 'load' : 'cache'
}

/** Arguments after `docker`: `buildx build … <context>`. */
export function buildArgv(input: BuildArgvInput): string[] {
  const { layer } = input
  const argv = ['buildx', 'build']
  if (input.builder) argv.push('--builder', input.builder)
  // plain progress: one line per event, with `#N CACHED` that the adapter counts.
  argv.push('--progress=plain', '--file', layer.dockerfile, '--metadata-file', input.metadataFile)
  const platforms = platformsOf(layer, input.platforms)
  if (platforms.length) argv.push('--platform', platforms.join(','))
  if (layer.target) argv.push('--target', layer.target)

  for (const [k, v] of Object.entries(input.parents)) argv.push('--build-arg', `${k}=${v}`)
  for (const [k, v] of Object.entries({ ...layer.buildArgs, ...input.buildArgs })) {
    if (!(k in input.parents)) argv.push('--build-arg', `${k}=${v}`)
  }
  const labels: Record<string, string> = {
    'org.opencontainers.image.source': input.oci.source,
    'org.opencontainers.image.revision': input.oci.revision,
    'org.opencontainers.image.created': input.oci.created,
    ...layer.labels
  }
  for (const [k, v] of Object.entries(labels)) argv.push('--label', `${k}=${v}`)
  for (const t of input.tags) argv.push('--tag', t)
  for (const c of input.cache.from) argv.push('--cache-from', c)
  for (const c of input.cache.to) argv.push('--cache-to', c)
  if (layer.provenance !== undefined) argv.push(`--provenance=${layer.provenance}`)
  if (layer.sbom !== undefined) argv.push(`--sbom=${layer.sbom}`)
  for (const s of layer.secrets) argv.push('--secret', secretSpec(layer.name, s))

  const output = outputOf(input.push, platforms, input.driver)
  if (output !== 'cache') argv.push(`--${output}`)
  argv.push(layer.context)
  return argv
}

const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/
const SECRET_KEYS = new Set(['id', 'type', 'src', 'source', 'env', 'required'])

/**
 * A secret reaches buildx from an environment variable or a file, never as a value on the
 * command line: `NPM_TOKEN` → `id=NPM_TOKEN,env=NPM_TOKEN`; `id=npmrc,src=.npmrc` as is.
 */
export function secretSpec(layer: string, s: string): string {
  if (ENV_NAME.test(s)) return `id=${s},env=${s}`
  const keys = s.split(',').map(part => part.split('=', 1)[0])
  const named =
    keys.includes('id') && (keys.includes('src') || keys.includes('source') || keys.includes('env'))
  if (named && keys.every(k => SECRET_KEYS.has(k))) return s
  // Never echo what might be the secret's value: name only the part before `=`.
  throw new Error(
    `layer "${layer}": secret "${keys[0]}=…" is not an environment variable name or a buildx secret spec; ` +
      `write the name of an environment variable that holds it (${ENV_NAME.test(keys[0]) ? keys[0] : 'NPM_TOKEN'}) ` +
      'or id=<id>,src=<file> / id=<id>,env=<VAR>'
  )
}

/** The environment variable a secret is read from (`NPM_TOKEN`, `id=tok,env=GH_TOKEN`), else undefined (a file). */
export function secretEnv(s: string): string | undefined {
  if (ENV_NAME.test(s)) return s
  const kv = new Map(s.split(',').map(part => [part.split('=', 1)[0], part.slice(part.indexOf('=') + 1)]))
  return kv.get('env') ?? (kv.get('type') === 'env' ? kv.get('id') : undefined)
}

/** A command, shell-quoted for reading in the log (never run through a shell). */
export function quoteCommand(argv: string[]): string {
  return argv.map(a => (/^[A-Za-z0-9_@%+=:,./-]+$/.test(a) ? a : `'${a.replace(/'/g, `'\\''`)}'`)).join(' ')
}

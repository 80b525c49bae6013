// Pieces of a build's command line (SPEC 7, 10): platforms, output, secrets, quoting. Pure.
import type { LayerConfig } from './types.js'

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

// Reads the layer config from the workspace, parses it (core/config/), and checks what the
// parser cannot: that the config is UTF-8 text of a sane size, and that every layer's Dockerfile,
// build context and .dockerignore exist and stay inside the repository once `..` and symlinks are
// resolved (SPEC 10).
import { readFile, realpath, stat } from 'node:fs/promises'
import * as path from 'node:path'
import {
  ConfigError,
  parseConfigWithPositions,
  type LayerPositions,
  type Position
} from '../core/config/index.js'
import type { LayerConfig, Logger, StrataConfig } from '../core/types.js'

// A layer config is a few kilobytes; 5,000 layers fit in 1 MB. Anything far bigger is another file.
const MAX_CONFIG_BYTES = 4 * 1024 * 1024

/**
 * `configPath` as the user gave it (the `config` input), relative to `workspace` unless absolute; it
 * must be inside the workspace. Notices (an image name lower-cased) go to `log` when given.
 */
export async function loadConfig(configPath: string, workspace: string, log?: Logger): Promise<StrataConfig> {
  const root = await realpath(workspace)
  const full = path.resolve(workspace, configPath)
  const text = await readConfigText(configPath, full, root)
  const { config, positions, notices } = parseConfigWithPositions(text, configPath)
  notices.forEach(n => log?.notice(n))

  // Side by side, each path once: many layers share one context.
  const seen = new Map<string, Promise<Where>>()
  const where = (rel: string): Promise<Where> => {
    const abs = path.resolve(workspace, rel)
    if (!seen.has(abs)) seen.set(abs, locate(abs, root))
    return seen.get(abs)!
  }
  const checks = await Promise.all(
    config.layers.map(async l => ({
      layer: l,
      dockerfile: await where(l.dockerfile),
      context: await where(l.context),
      // buildx reads <Dockerfile>.dockerignore first, else <context>/.dockerignore.
      ignores: await Promise.all(
        [`${l.dockerfile}.dockerignore`, path.join(l.context, '.dockerignore')].map(where)
      )
    }))
  )
  for (const c of checks) checkPlaces(c, positions.layers[c.layer.name], { configPath, workspace, root })
  return config
}

/** One layer's Dockerfile, context and .dockerignore: inside the repository, a file and a folder. */
function checkPlaces(
  c: { layer: LayerConfig; dockerfile: Where; context: Where; ignores: Where[] },
  pos: LayerPositions,
  at: { configPath: string; workspace: string; root: string }
): void {
  const { layer, dockerfile, context, ignores } = c
  const { workspace, root } = at
  const fail = (p: Position | undefined, what: string, fix: string): never => {
    const { line, column } = p ?? pos.name
    throw new ConfigError(at.configPath, line, column, what, fix)
  }
  const outside = (w: Where, what: string, p: Position | undefined): void => {
    if (w.outside)
      fail(
        p,
        `layer "${layer.name}": ${what} resolves to ${w.real}, outside the repository ${root}`,
        'keep every Dockerfile, context and .dockerignore inside the repository (no symlink out of it)'
      )
  }
  outside(dockerfile, `Dockerfile "${layer.dockerfile}"`, pos.dockerfile)
  outside(context, `build context "${layer.context}"`, pos.context)
  ignores.forEach(w =>
    outside(w, `.dockerignore ${path.relative(root, w.path)}`, pos.context ?? pos.dockerfile)
  )
  if (dockerfile.kind !== 'file')
    fail(
      pos.dockerfile,
      `layer "${layer.name}": Dockerfile "${layer.dockerfile}" ${dockerfile.kind === 'dir' ? 'is a directory' : 'does not exist'} in ${workspace}`,
      pos.dockerfile
        ? 'fix the `dockerfile` path; it is relative to the repository root'
        : 'add `dockerfile:` to the layer with its path relative to the repository root'
    )
  if (context.kind !== 'dir')
    fail(
      pos.context,
      `layer "${layer.name}": build context "${layer.context}" is not a directory in ${workspace}`,
      'fix the `context` path; it is relative to the repository root'
    )
}

interface Where {
  path: string
  /** With symlinks resolved (the path itself when missing). */
  real: string
  kind: 'file' | 'dir' | 'missing'
  outside: boolean
}

function isInside(root: string, p: string): boolean {
  return p === root || p.startsWith(root.endsWith(path.sep) ? root : `${root}${path.sep}`)
}

/** Where `abs` really is. A missing path is judged by the nearest parent that exists. */
async function locate(abs: string, root: string): Promise<Where> {
  try {
    const real = await realpath(abs)
    const kind = (await stat(real)).isDirectory() ? 'dir' : 'file'
    return { path: abs, real, kind, outside: !isInside(root, real) }
  } catch {
    let dir = path.dirname(abs)
    for (;;) {
      const real = await realpath(dir).catch(() => undefined)
      if (real !== undefined) {
        const rest = path.relative(dir, abs)
        return { path: abs, real: path.join(real, rest), kind: 'missing', outside: !isInside(root, real) }
      }
      if (path.dirname(dir) === dir) return { path: abs, real: abs, kind: 'missing', outside: true }
      dir = path.dirname(dir)
    }
  }
}

/** The config's text: inside the repository, not too big, UTF-8 (a UTF-8 BOM is fine). */
async function readConfigText(configPath: string, full: string, root: string): Promise<string> {
  const fix = 'point the `config` input at your layer config inside the repository'
  const where = await locate(full, root)
  if (where.outside)
    throw new Error(
      `${configPath}: the layer config resolves to ${where.real}, outside the repository ${root}; ${fix}`
    )
  let bytes: Buffer
  try {
    if ((await stat(full)).size > MAX_CONFIG_BYTES)
      throw new Error(
        `${configPath}: is over ${MAX_CONFIG_BYTES / 1024 / 1024} MB, not a layer config; ${fix}`
      )
    bytes = await readFile(full)
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code
    if (code === 'ENOENT')
      throw new Error(
        `${configPath}: layer config not found (looked for ${full}); add it, or point the \`config\` input at your layer config`
      )
    if (code === 'EISDIR')
      throw new Error(
        `${configPath}: is a directory, not a layer config; point the \`config\` input at the YAML file`
      )
    if (code === undefined) throw e
    throw new Error(`${configPath}: cannot read the layer config: ${(e as Error).message}`)
  }
  return decodeUtf8(configPath, bytes)
}

/** UTF-8 text, or an error that names the encoding the file seems to have. */
export function decodeUtf8(file: string, bytes: Buffer): string {
  const resave = 'save it as UTF-8'
  const bom = (...b: number[]): boolean => b.every((x, i) => bytes[i] === x)
  if (bom(0xff, 0xfe, 0, 0) || bom(0, 0, 0xfe, 0xff))
    throw new Error(`${file}: is UTF-32 text (it starts with a UTF-32 byte order mark); ${resave}`)
  if (bom(0xff, 0xfe))
    throw new Error(`${file}: is UTF-16 LE text (it starts with a UTF-16 byte order mark); ${resave}`)
  if (bom(0xfe, 0xff))
    throw new Error(`${file}: is UTF-16 BE text (it starts with a UTF-16 byte order mark); ${resave}`)
  const nul = bytes.indexOf(0)
  if (nul >= 0) {
    // ASCII as UTF-16 without a byte order mark: every other byte is 0 (odd offsets: little-endian).
    const head = bytes.subarray(0, 256)
    const zeros = (parity: number): number => head.filter((b, i) => i % 2 === parity && b === 0).length
    const [even, odd] = [zeros(0), zeros(1)]
    const half = Math.floor(head.length / 2)
    const order = odd >= half * 0.5 && even === 0 ? 'LE' : even >= half * 0.5 && odd === 0 ? 'BE' : undefined
    throw new Error(
      order
        ? `${file}: is UTF-16 ${order} text (without a byte order mark: every other byte is 0); ${resave}`
        : `${file}: is binary, not a YAML layer config (it has a NUL byte at offset ${nul}); point the \`config\` input at your layer config`
    )
  }
  try {
    return new TextDecoder('utf-8', { fatal: true, ignoreBOM: false }).decode(bytes)
  } catch {
    const at = firstInvalidUtf8(bytes)
    const before = bytes.subarray(0, at).toString('latin1')
    const line = before.split('\n').length
    const column = at - before.lastIndexOf('\n')
    throw new Error(
      `${file}:${line}:${column}: is not UTF-8 text (byte 0x${bytes[at].toString(16).padStart(2, '0')} is not UTF-8; ` +
        `the file looks like Latin-1 or Windows-1252); ${resave}`
    )
  }
}

/** Offset of the first byte that does not start or continue a valid UTF-8 sequence. */
function firstInvalidUtf8(bytes: Buffer): number {
  let i = 0
  while (i < bytes.length) {
    const b = bytes[i]
    const len =
      b < 0x80 ? 1 : b >= 0xc2 && b <= 0xdf ? 2 : b >= 0xe0 && b <= 0xef ? 3 : b >= 0xf0 && b <= 0xf4 ? 4 : 0
    if (len === 0) return i
    for (let k = 1; k < len; k++) if (i + k >= bytes.length || (bytes[i + k] & 0xc0) !== 0x80) return i
    i += len
  }
  return Math.max(0, bytes.length - 1)
}

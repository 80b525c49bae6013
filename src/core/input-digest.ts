// The input digest of a layer (SPEC 4a): sha256 over a canonical, versioned JSON of everything a
// build reads. Two builds with the same digest make the same image, so an image already pushed with
// it is reused instead of built. Pure: the adapters gather the file ids and digests.
import { createHash } from 'node:crypto'
import { posix } from 'node:path'
import { sanitizeTag } from './tags.js'
import type { LayerConfig } from './types.js'

/**
 * Bump when what goes into the digest changes: older input tags then simply stop matching.
 * 2: content ids from the bytes on disk with full modes, folders and followed links; labels; only
 * declared build args; canonical paths.
 */
export const INPUT_DIGEST_VERSION = 2

/** A layer's build settings as they reach the build; never automatic labels, never secret values. */
export interface InputSettings {
  /** Canonical repository-relative paths (`./docker/` is `docker`, the root is `.`). */
  dockerfile: string
  context: string
  target?: string
  /** Sorted, unique. */
  platforms: string[]
  /** After every override (layer, `build-args` input); parents' build args left out (their digests count). */
  buildArgs: Record<string, string>
  /** Secret ids only, sorted. */
  secrets: string[]
  provenance?: string | boolean
  sbom?: string | boolean
  /** The config's `labels` (they are in the image); not the automatic ones (revision, time, SPEC 4a's). */
  labels?: Record<string, string>
}

/** One input file as the build reads it: repository-relative path and content id (see content-ids.ts). */
export interface InputFile {
  path: string
  id: string
}

export interface DigestInput {
  settings: InputSettings
  /** `sha256:<hex>` of the Dockerfile's bytes. */
  dockerfile: string
  files: InputFile[]
  /** Parent layer name → its image digest (`sha256:…`), as this build will use it. */
  parents: Record<string, string>
  /** External image ref (`ubuntu:24.04`) → its digest, as resolved at plan time. */
  externals: Record<string, string>
}

/**
 * The settings of `layer` that change what it builds. `overrides` are the `build-args` input (it wins
 * over the layer's), `platforms` the `platforms` input. A parent's build arg is left out: it carries
 * a tag that differs between runs (`target:base`, a PR tag) while the parent's digest says it all.
 * `declared`: the names the Dockerfile's ARGs declare; a build arg none declares changes nothing
 * (BuildKit's own, such as BUILDKIT_SYNTAX, count anyway). Undefined: every build arg counts.
 */
export function inputSettings(
  layer: LayerConfig,
  overrides: { buildArgs?: Record<string, string>; platforms?: string[] } = {},
  declared?: readonly string[]
): InputSettings {
  const parentArgs = new Set(layer.from.map(p => p.buildArg))
  const known = declared && new Set(declared)
  const buildArgs: Record<string, string> = {}
  for (const [k, v] of Object.entries({ ...layer.buildArgs, ...overrides.buildArgs }))
    if (!parentArgs.has(k) && (!known || known.has(k) || undeclaredArgCounts(k))) buildArgs[k] = String(v)
  const s: InputSettings = {
    dockerfile: canonicalPath(layer.dockerfile),
    context: canonicalPath(layer.context),
    platforms: [...new Set(overrides.platforms ?? layer.platforms)].sort(),
    buildArgs,
    secrets: [...new Set(layer.secrets.map(secretId))].sort()
  }
  if (layer.target !== undefined) s.target = layer.target
  if (layer.provenance !== undefined) s.provenance = layer.provenance
  if (layer.sbom !== undefined) s.sbom = layer.sbom
  if (Object.keys(layer.labels ?? {}).length > 0) s.labels = { ...layer.labels }
  return s
}

/**
 * Build args that BuildKit reads without an ARG (BUILDKIT_SYNTAX, BUILDKIT_CONTEXT_KEEP_GIT_DIR, …,
 * SOURCE_DATE_EPOCH, the proxy variables RUN sees): they change the build whether declared or not.
 */
export function undeclaredArgCounts(name: string): boolean {
  return /^BUILDKIT_/.test(name) || name === 'SOURCE_DATE_EPOCH' || /^(HTTPS?|FTP|NO|ALL)_PROXY$/i.test(name)
}

/** One spelling of a repository-relative path: `./a/` and `a` are `a`; `./` and `` are `.`. */
export function canonicalPath(p: string): string {
  const clean = posix.normalize(p === '' ? '.' : p).replace(/\/+$/, '')
  return clean === '' ? '.' : clean.replace(/^(\.\/)+/, '') || '.'
}

/**
 * The id of a buildx `--secret` value (`id=npmrc,src=.npmrc` → `npmrc`). Where the value comes from
 * (`src=`, `env=`) is not part of it: a secret's value never changes the digest.
 */
export function secretId(spec: string): string {
  const fields = new Map<string, string>()
  for (const part of spec.split(',')) {
    const eq = part.indexOf('=')
    if (eq > 0) fields.set(part.slice(0, eq).trim(), part.slice(eq + 1).trim())
  }
  const id = fields.get('id')
  if (id) return id
  // buildx: without id, the id is the src file's base name, or the env variable's name.
  const src = fields.get('src') ?? fields.get('source')
  if (src) return src.split('/').pop() ?? src
  return fields.get('env') ?? spec
}

/** `sha256:<hex>` of bytes: a Dockerfile, a manifest. */
export function sha256(bytes: string | Uint8Array): string {
  return `sha256:${createHash('sha256').update(bytes).digest('hex')}`
}

/** SPEC 4a's input digest, `sha256:<hex>`. File order and object key order do not matter. */
export function inputDigest(input: DigestInput): string {
  const paths = new Set<string>()
  for (const f of input.files) {
    if (paths.has(f.path)) throw new Error(`input file "${f.path}" is listed twice`)
    paths.add(f.path)
  }
  const doc = {
    version: INPUT_DIGEST_VERSION,
    settings: input.settings,
    dockerfile: input.dockerfile,
    files: [...input.files]
      .sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0))
      .map(f => [f.path, f.id]),
    parents: input.parents,
    externals: input.externals
  }
  return sha256(canonicalJson(doc))
}

/** JSON with every object's keys sorted (arrays keep their order), undefined fields left out. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(v => canonicalJson(v ?? null)).join(',')}]`
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`
  }
  return JSON.stringify(value)
}

const DIGEST = /^sha256:([0-9a-f]{64})$/

/** The `{inputs}` template variable: the first 16 hex of the input digest. */
export function shortInputs(digest: string): string {
  const m = DIGEST.exec(digest)
  if (!m) throw new Error(`"${digest}" is not an input digest (sha256:<64 hex>)`)
  return m[1].slice(0, 16)
}

/** The input tag of SPEC 4a: `{layer}-inputs-{inputs}`. */
export function inputTag(layer: string, digest: string): string {
  // At most 128 characters, as every tag (SPEC 5); config layer names are short enough not to need it.
  return sanitizeTag(`${layer.toLowerCase()}-inputs-${shortInputs(digest)}`)
}

export function isInputDigest(s: string): boolean {
  return DIGEST.test(s)
}

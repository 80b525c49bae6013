// The `layers:` map: names checked, defaults applied, and the tags the config alone fixes kept
// apart (two layers of one repository, or a tag over a registry cache).
import type { Node } from 'yaml'
import { isMap } from 'yaml'
import { sanitizeTag } from '../tags.js'
import type { LayerConfig } from '../types.js'
import { ConfigError, type ConfigPositions, type Position } from './errors.js'
import { readLayerKeys, type RawLayer } from './layer-keys.js'
import { suggest } from './suggest.js'
import { describe, isNull, type Entry, type YamlReader } from './yaml-reader.js'

export const LAYER_NAME = /^[A-Za-z][A-Za-z0-9_-]*$/
const MAX_LAYER_NAME = 100

/** A layer as written: its name, where the name stands, and its keys. */
export interface WrittenLayer {
  name: string
  keyNode: Node
  raw: RawLayer
}

/** Each entry of `layers:` with a valid, distinct name and a map (or nothing) of settings. */
export function readLayerEntries(r: YamlReader, entries: Entry[]): WrittenLayer[] {
  const out: WrittenLayer[] = []
  const seen = new Map<string, string>()
  for (const e of entries) {
    if (!LAYER_NAME.test(e.key))
      r.fail(
        e.keyNode,
        `layer name "${e.key}" is not valid`,
        'start it with a letter and use only letters, digits, - and _'
      )
    // Tags are at most 128 characters (SPEC 5): `cache-<layer>` and `<layer>-inputs-<16 hex>` must fit.
    if (e.key.length > MAX_LAYER_NAME)
      r.fail(
        e.keyNode,
        `layer name "${e.key.slice(0, 40)}…" is ${e.key.length} characters long`,
        `keep it to ${MAX_LAYER_NAME}: its tags (\`<layer>-inputs-<16 hex>\`, \`cache-<layer>\`) must fit in 128`
      )
    // Names become output names (`-` → `_`) and tags (lower-case): those must not collide.
    const norm = e.key.toLowerCase().replace(/-/g, '_')
    const other = seen.get(norm)
    if (other !== undefined)
      r.fail(
        e.keyNode,
        `layer "${e.key}" clashes with layer "${other}": outputs and tags cannot tell them apart`,
        'rename one of them'
      )
    seen.set(norm, e.key)
    const v = r.deref(e.value)
    if (!isNull(v) && !isMap(v))
      r.fail(
        v,
        `layer "${e.key}" must be a map of settings, got ${describe(v)}`,
        `e.g. ${e.key}: { dockerfile: Dockerfile.${e.key} }`
      )
    out.push({
      name: e.key,
      keyNode: e.keyNode,
      raw: isMap(v) ? readLayerKeys(r, v, `layer "${e.key}"`) : { pos: {} }
    })
  }
  return out
}

/** Each layer with `defaults` (and the top-level image) filled in, and where its keys were written. */
export function applyDefaults(
  r: YamlReader,
  written: WrittenLayer[],
  defaults: RawLayer,
  topImage: string | undefined
): { layers: LayerConfig[]; positions: ConfigPositions } {
  const names = written.map(w => w.name)
  const known = new Set(names)
  const layers: LayerConfig[] = []
  const positions: ConfigPositions = { layers: {} }
  for (const { name, keyNode, raw } of written) {
    const from = raw.from ? raw : defaults
    for (const p of from.from ?? []) {
      if (!known.has(p.ref.layer))
        r.fail(
          p.node,
          `layer "${name}" has unknown parent "${p.ref.layer}"`,
          suggest(p.ref.layer, names, `\`from\` names layers under \`layers:\`: ${names.join(', ')}`)
        )
    }
    const image = raw.image ?? defaults.image ?? topImage
    if (image === undefined)
      r.fail(
        keyNode,
        `layer "${name}" has no image`,
        'add a top-level `image: ghcr.io/<owner>/<name>`, or `image:` to every layer'
      )
    layers.push(layerConfig(name, raw, defaults, from, image))
    positions.layers[name] = {
      name: r.pos(keyNode),
      dockerfile: raw.pos.dockerfile ?? defaults.pos.dockerfile,
      context: raw.pos.context ?? defaults.pos.context
    }
  }
  // Optional fields that stayed undefined are left out, so configs compare and print cleanly.
  for (const l of layers)
    for (const k of Object.keys(l) as (keyof LayerConfig)[]) if (l[k] === undefined) delete l[k]
  return { layers, positions }
}

function layerConfig(
  name: string,
  raw: RawLayer,
  defaults: RawLayer,
  from: RawLayer,
  image: string
): LayerConfig {
  return {
    name,
    dockerfile: raw.dockerfile ?? defaults.dockerfile ?? 'Dockerfile',
    context: raw.context ?? defaults.context ?? '.',
    paths: raw.paths ?? defaults.paths ?? [],
    from: (from.from ?? []).map(p => p.ref),
    always: raw.always ?? defaults.always ?? false,
    image,
    tags: raw.tags ?? defaults.tags,
    stableTag: raw.stableTag ?? defaults.stableTag,
    buildArgs: { ...defaults.buildArgs, ...raw.buildArgs },
    target: raw.target ?? defaults.target,
    platforms: raw.platforms ?? defaults.platforms ?? ['linux/amd64'],
    cache: raw.cache ?? defaults.cache ?? ['gha', 'registry'],
    ...((raw.cache ?? defaults.cache) !== undefined && { cacheListed: true }),
    secrets: raw.secrets ?? defaults.secrets ?? [],
    labels: { ...defaults.labels, ...raw.labels },
    provenance: raw.provenance ?? defaults.provenance,
    sbom: raw.sbom ?? defaults.sbom,
    reuse: raw.reuse ?? defaults.reuse,
    ...((raw.assemble ?? defaults.assemble) !== undefined && { assemble: raw.assemble ?? defaults.assemble })
  }
}

/**
 * Tags known from the config alone (stable tags and literal tags, with {layer} filled in) must not
 * be pushed by two layers of one repository, nor overwrite a registry cache (`cache-<layer>`).
 * Tags that depend on the event are checked when the plan is made.
 */
export function checkTagClashes(
  r: YamlReader,
  layers: LayerConfig[],
  written: WrittenLayer[],
  defaults: RawLayer,
  parents: ReadonlySet<string>
): void {
  const owner = new Map<string, string>()
  // Caches and default stable tags first (two leaves sharing `latest` is the plan's error to
  // give), then every tag written in the config is checked against them and each other.
  for (const l of layers) {
    owner.set(`${l.image}:cache-${l.name}`, `the registry cache of layer "${l.name}"`)
    if (l.stableTag === undefined)
      owner.set(
        refOf(l, parents.has(l.name) ? '{layer}-stable' : 'latest')!,
        `the stable tag of layer "${l.name}"`
      )
  }
  written.forEach(({ keyNode, raw }, i) => {
    const l = layers[i]
    const claim = (template: string, what: string, at: Position | undefined): void =>
      claimTag(owner, l, template, what, at ?? r.pos(keyNode), r.file)
    if (l.stableTag !== undefined)
      claim(l.stableTag, 'stable tag', raw.pos.stableTag ?? defaults.pos.stableTag)
    const tagPos = raw.tags ? raw.pos.tags : defaults.pos.tags
    l.tags?.forEach((t, k) => claim(t, 'tag', tagPos?.[k]))
  })
}

/** A layer's tag template as a ref, when the config alone fixes it (no variable but {layer}). */
function refOf(l: LayerConfig, template: string): string | undefined {
  const rendered = template.replaceAll('{layer}', l.name)
  return rendered.includes('{') ? undefined : `${l.image}:${sanitizeTag(rendered)}`
}

/** `owner` maps each claimed ref to who claimed it; a layer may repeat its own tag. */
function claimTag(
  owner: Map<string, string>,
  l: LayerConfig,
  template: string,
  what: string,
  at: Position,
  file: string
): void {
  const ref = refOf(l, template)
  if (ref === undefined) return
  if (ref.endsWith(':'))
    throw new ConfigError(
      file,
      at.line,
      at.column,
      `layer "${l.name}" ${what} ${JSON.stringify(template)} is empty once sanitized (tags keep only a-z 0-9 _ . -)`,
      'use letters or digits, e.g. {layer}-current'
    )
  const other = owner.get(ref)
  // Nothing may take a registry cache.
  if (other !== undefined && (other.startsWith('the registry cache') || !other.endsWith(`layer "${l.name}"`)))
    throw new ConfigError(
      file,
      at.line,
      at.column,
      `layer "${l.name}" ${what} ${ref} is also ${other}`,
      'give one of the layers its own `image`, or `tags` and a `stable-tag` that use {layer}'
    )
  owner.set(ref, `${what === 'stable tag' ? 'the stable tag' : 'a tag'} of layer "${l.name}"`)
}

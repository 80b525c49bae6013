// Parse and validate `.github/strata.yml` (SPEC 1, retention: docs/ARCHITECTURE.md). Pure: text in,
// StrataConfig out, every error at file:line:column with one fix.
import { isMap, isScalar } from 'yaml'
import type { Node } from 'yaml'
import { parentLayers } from '../tags.js'
import type { StrataConfig } from '../types.js'
import type { ConfigPositions } from './errors.js'
import { readLayerKeys, type RawLayer } from './layer-keys.js'
import { applyDefaults, checkTagClashes, readLayerEntries, type WrittenLayer } from './layers.js'
import { findCycle, topologicalOrder } from './order.js'
import { readRetention } from './retention.js'
import { readTrustedSigners } from './trusted-signers.js'
import { describe, isNull, YamlReader, type Entry } from './yaml-reader.js'

const TOP_KEYS = ['version', 'image', 'defaults', 'layers', 'retention', 'trusted-signers']

export function parseConfig(text: string, file: string): StrataConfig {
  return parseConfigWithPositions(text, file).config
}

/** `notices`: what the user should know but need not fix (an image name lower-cased). */
export function parseConfigWithPositions(
  text: string,
  file: string
): { config: StrataConfig; positions: ConfigPositions; notices: string[] } {
  const r = new YamlReader(text, file)
  const top = readTop(r)
  const imageEntry = top.get('image')
  const topImage = imageEntry ? r.image(imageEntry, 'the config') : undefined
  const defaults = readDefaults(r, top.get('defaults'))
  const written = readLayerEntries(r, layerEntries(r, top.get('layers')))
  const { layers, positions } = applyDefaults(r, written, defaults, topImage)
  const ring = findCycle(layers)
  if (ring) failCycle(r, ring, written, defaults)
  const order = topologicalOrder(layers)
  const parents = parentLayers(layers)
  checkTagClashes(r, layers, written, defaults, parents)
  const leaves = layers.filter(l => !parents.has(l.name))
  const config: StrataConfig = {
    file,
    version: 1,
    image: topImage ?? defaults.image ?? leaves[leaves.length - 1].image,
    layers,
    order
  }
  const retention = top.get('retention')
  if (retention && !isNull(retention.value))
    config.retention = readRetention(
      r,
      retention,
      written.map(w => w.name)
    )
  const signers = top.get('trusted-signers')
  if (signers && !isNull(signers.value)) config.trustedSigners = readTrustedSigners(r, signers)
  // One notice for all of them: Docker repositories are lower case.
  const notices = r.lowered.length
    ? [
        `${file}: image ${r.lowered.join(', ')} lower-cased: Docker repository names are lower case ` +
          '(write them so to silence this)'
      ]
    : []
  return { config, positions, notices }
}

/** The top-level keys, each known, and `version: 1` if given. */
function readTop(r: YamlReader): Map<string, Entry> {
  const root = r.root()
  if (root === null || (isScalar(root) && root.value === null))
    r.fail(null, 'the config is empty', 'start it with `version: 1`, `image:` and `layers:`')
  if (!isMap(root))
    r.fail(root, `the config must be a map, got ${describe(root)}`, 'start it with `version: 1`')
  const top = new Map<string, Entry>()
  for (const e of r.entries(root, 'the config')) {
    if (!TOP_KEYS.includes(e.key)) r.unknownKey(e, 'the config', TOP_KEYS)
    top.set(e.key, e)
  }
  const version = top.get('version')
  if (version) {
    const v = version.value
    if (!isScalar(v) || v.value !== 1)
      r.fail(v ?? version.keyNode, `"version" must be 1, got ${describe(v)}`, 'write version: 1')
  }
  return top
}

function readDefaults(r: YamlReader, entry: Entry | undefined): RawLayer {
  if (!entry || isNull(entry.value)) return { pos: {} }
  const m = r.deref(entry.value)
  if (!isMap(m))
    r.fail(
      m,
      `"defaults" must be a map of layer keys, got ${describe(m)}`,
      'e.g. defaults: { context: ., platforms: [linux/amd64] }'
    )
  return readLayerKeys(r, m, 'defaults')
}

/** The entries of `layers:`, which must be a map with at least one layer. */
function layerEntries(r: YamlReader, entry: Entry | undefined): Entry[] {
  if (!entry)
    r.fail(
      null,
      'the config has no `layers`',
      'add layers: with at least one layer, e.g. layers: { app: {} }'
    )
  const node = r.deref(entry.value)
  const empty = ['`layers` is empty', 'add at least one layer, e.g. app: { dockerfile: Dockerfile }'] as const
  if (isNull(node)) r.fail(entry.keyNode, ...empty)
  if (!isMap(node))
    r.fail(
      node,
      `"layers" must be a map of layer names to settings, got ${describe(node)}`,
      'write layers: { base: {...}, app: {...} }'
    )
  const entries = r.entries(node, 'layers')
  if (entries.length === 0) r.fail(node, ...empty)
  return entries
}

/** A cycle is an error at the edge that closes the ring: the first layer's own `from`. */
function failCycle(r: YamlReader, ring: string[], written: WrittenLayer[], defaults: RawLayer): never {
  const owner = written.find(w => w.name === ring[0])
  const node: Node | null = owner?.raw.fromNode ?? defaults.fromNode ?? null
  r.fail(node, `layers form a cycle: ${[...ring, ring[0]].join(' → ')}`, 'remove one of these `from` parents')
}

// The keys of one layer (or of `defaults`) as written, each checked where it stands.
import { isMap, isScalar, isSeq } from 'yaml'
import type { Node, Scalar, YAMLMap } from 'yaml'
import { secretSpec } from '../buildx-args.js'
import { refuseLabelKey, refuseNeverMatching, refuseTarget } from '../config-names.js'
import { compilePatterns } from '../patterns.js'
import { TAG_VARIABLES } from '../tags.js'
import type { CacheKind, LayerConfig, ParentRef } from '../types.js'
import type { Position } from './errors.js'
import { bestMatch, suggest } from './suggest.js'
import { describe, isNull, type Entry, type YamlReader } from './yaml-reader.js'

export const CACHE_KINDS: CacheKind[] = ['gha', 'registry', 'local', 'inline']
const TEMPLATE_VARIABLES: string[] = [...TAG_VARIABLES]
const REUSE: NonNullable<LayerConfig['reuse']>[] = ['verified', 'any', 'default-branch', 'off']
const ASSEMBLE: NonNullable<LayerConfig['assemble']>[] = ['auto', 'off']
const PLATFORM = /^[a-z0-9_]+\/[a-z0-9_]+(\/[a-z0-9_.]+)?$/
export const BUILD_ARG = /^[A-Za-z_][A-Za-z0-9_]*$/
const PATTERN_FIX = 'write a glob relative to the repository root, e.g. docker/** or !docs/**'

/** A layer's settings as written (in a layer or in `defaults`), before defaults apply. */
export interface RawLayer {
  dockerfile?: string
  context?: string
  paths?: string[]
  from?: { ref: ParentRef; node: Node }[]
  fromNode?: Node
  always?: boolean
  image?: string
  tags?: string[]
  stableTag?: string
  buildArgs?: Record<string, string>
  target?: string
  platforms?: string[]
  cache?: CacheKind[]
  secrets?: string[]
  labels?: Record<string, string>
  provenance?: string | boolean
  sbom?: string | boolean
  reuse?: LayerConfig['reuse']
  assemble?: LayerConfig['assemble']
  pos: { dockerfile?: Position; context?: Position; stableTag?: Position; tags?: Position[] }
}

/** The default build-arg of a parent: `tool-chain` → `TOOL_CHAIN_IMAGE`. */
export function parentBuildArg(parent: string): string {
  return `${parent.toUpperCase().replace(/-/g, '_')}_IMAGE`
}

type KeyReader = (r: YamlReader, e: Entry, ctx: string, raw: RawLayer) => void

// One reader per layer key, in the order the "valid keys" hint lists them. A Map, not an object:
// a key written `constructor` must be unknown, not Object.prototype's.
const KEY_READERS = new Map<string, KeyReader>([
  [
    'dockerfile',
    (r, e, ctx, raw) => {
      raw.dockerfile = r.path(e, ctx, 'Dockerfile.base')
      raw.pos.dockerfile = r.pos(e.keyNode)
    }
  ],
  [
    'context',
    (r, e, ctx, raw) => {
      raw.context = r.path(e, ctx, '.')
      raw.pos.context = r.pos(e.keyNode)
    }
  ],
  [
    'paths',
    (r, e, ctx, raw) => {
      raw.paths = r.strings(e, ctx, "[Dockerfile, 'docker/**']")
      r.seqItems(e).forEach(n => pattern(r, n, ctx))
    }
  ],
  [
    'from',
    (r, e, ctx, raw) => {
      raw.from = readFrom(r, e, ctx)
      raw.fromNode = e.value ?? e.keyNode
    }
  ],
  ['always', (r, e, ctx, raw) => (raw.always = r.bool(e, ctx))],
  ['image', (r, e, ctx, raw) => (raw.image = r.image(e, ctx))],
  ['tags', readTags],
  [
    'stable-tag',
    (r, e, ctx, raw) => {
      raw.stableTag = r.string(e, ctx, "'{layer}-stable'")
      raw.pos.stableTag = r.pos(e.value)
      template(r, r.deref(e.value)!, ctx, 'stable-tag')
    }
  ],
  [
    'build-args',
    (r, e, ctx, raw) => (raw.buildArgs = r.stringMap(e, ctx, '{ NODE_VERSION: 20 }', BUILD_ARG))
  ],
  [
    'target',
    (r, e, ctx, raw) => {
      raw.target = r.string(e, ctx, 'runtime')
      r.refuse(
        e.value,
        refuseTarget(raw.target),
        `${ctx} key "target"`,
        'name a stage of the Dockerfile (FROM … AS <name>)'
      )
    }
  ],
  ['platforms', readPlatforms],
  ['cache', readCache],
  [
    'secrets',
    (r, e, ctx, raw) => {
      raw.secrets = r.strings(e, ctx, "['id=npmrc,src=.npmrc']")
      r.seqItems(e).forEach(n => secret(r, n, ctx))
    }
  ],
  ['labels', readLabels],
  ['provenance', (r, e, ctx, raw) => (raw.provenance = r.boolOrString(e, ctx))],
  ['sbom', (r, e, ctx, raw) => (raw.sbom = r.boolOrString(e, ctx))],
  ['reuse', (r, e, ctx, raw) => (raw.reuse = reuse(r, e, ctx))],
  ['assemble', (r, e, ctx, raw) => (raw.assemble = assemble(r, e, ctx))]
])
const LAYER_KEYS = [...KEY_READERS.keys()]

/** The keys of one layer or of `defaults`. */
export function readLayerKeys(r: YamlReader, map: YAMLMap, ctx: string): RawLayer {
  const raw: RawLayer = { pos: {} }
  for (const e of r.entries(map, ctx)) {
    const read = KEY_READERS.get(e.key)
    if (!read) r.unknownKey(e, ctx, LAYER_KEYS)
    read(r, e, ctx, raw)
  }
  return raw
}

function readTags(r: YamlReader, e: Entry, ctx: string, raw: RawLayer): void {
  const tags = r.strings(e, ctx, "['{layer}-{sha7}', '{branch}']")
  if (tags.length === 0)
    r.fail(
      e.value,
      `${ctx} has an empty \`tags\` list`,
      'list at least one tag, or remove `tags` for the defaults'
    )
  r.seqItems(e).forEach(n => template(r, n, ctx, 'tag'))
  raw.tags = tags
  raw.pos.tags = r.seqItems(e).map(n => r.pos(n))
}

function readPlatforms(r: YamlReader, e: Entry, ctx: string, raw: RawLayer): void {
  raw.platforms = r.strings(e, ctx, '[linux/amd64, linux/arm64]')
  if (raw.platforms.length === 0)
    r.fail(e.value, `${ctx} has an empty \`platforms\` list`, 'list at least one, e.g. [linux/amd64]')
  r.seqItems(e).forEach(n => {
    const p = (n as Scalar).value as string
    if (!PLATFORM.test(p))
      r.fail(
        n,
        `${ctx} has bad platform "${p}"`,
        'write os/arch[/variant], e.g. linux/amd64 or linux/arm64/v8'
      )
  })
}

function readCache(r: YamlReader, e: Entry, ctx: string, raw: RawLayer): void {
  const kinds = r.strings(e, ctx, '[gha, registry]')
  r.seqItems(e).forEach(n => {
    const k = (n as Scalar).value as string
    if (!(CACHE_KINDS as string[]).includes(k))
      r.fail(
        n,
        `${ctx} has unknown cache kind "${k}"`,
        suggest(k, CACHE_KINDS, 'use gha, registry, local or inline')
      )
  })
  raw.cache = [...new Set(kinds)] as CacheKind[]
}

function readLabels(r: YamlReader, e: Entry, ctx: string, raw: RawLayer): void {
  raw.labels = r.stringMap(e, ctx, '{ org.opencontainers.image.vendor: acme }')
  for (const k of r.mapEntries(e.value, `${ctx} labels`))
    r.refuse(
      k.keyNode,
      refuseLabelKey(k.key),
      `${ctx} labels`,
      'start a label key with a letter or digit, e.g. org.example.team'
    )
}

/** `from`: a name, a list of names, or a map of name to build-arg. */
function readFrom(r: YamlReader, e: Entry, ctx: string): { ref: ParentRef; node: Node }[] {
  const v = r.deref(e.value)
  const out: { ref: ParentRef; node: Node }[] = []
  const add = (layer: string, buildArg: string, node: Node): void => {
    if (out.some(p => p.ref.layer === layer))
      r.fail(node, `${ctx} names parent "${layer}" twice`, 'list each parent once')
    const same = out.find(p => p.ref.buildArg === buildArg)
    if (same)
      r.fail(
        node,
        `${ctx} passes parents "${same.ref.layer}" and "${layer}" as the same build-arg ${buildArg}`,
        `map them to different build-args, e.g. from: { ${layer}: OTHER_IMAGE }`
      )
    out.push({ ref: { layer, buildArg }, node })
  }
  const expected = 'a layer name, a list of names, or a map of name to build-arg'
  const fix = 'e.g. from: base, from: [base, tools] or from: { base: BASE_IMAGE }'
  if (isScalar(v) && typeof v.value === 'string') add(v.value, parentBuildArg(v.value), v)
  else if (isSeq(v)) {
    for (const item of v.items) {
      const n = r.deref(item as Node)
      if (!isScalar(n) || typeof n.value !== 'string')
        r.fail(n, `${ctx} key "from" must be ${expected}, got ${describe(n)} in the list`, fix)
      add(n.value, parentBuildArg(n.value), n)
    }
  } else if (isMap(v)) {
    for (const p of r.entries(v, `${ctx} from`)) {
      const arg = r.deref(p.value)
      if (isNull(arg)) add(p.key, parentBuildArg(p.key), p.keyNode)
      else if (isScalar(arg) && typeof arg.value === 'string' && BUILD_ARG.test(arg.value))
        add(p.key, arg.value, p.keyNode)
      else
        r.fail(
          arg,
          `${ctx} maps parent "${p.key}" to ${describe(arg)}, which is not a build-arg name`,
          `e.g. from: { ${p.key}: ${parentBuildArg(p.key)} }`
        )
    }
  } else r.fail(v ?? e.keyNode, `${ctx} key "from" must be ${expected}, got ${describe(v)}`, fix)
  return out
}

/** SPEC 4a, 4b: which earlier images with the same inputs a layer may reuse, and who must vouch for them. */
function reuse(r: YamlReader, e: Entry, ctx: string): LayerConfig['reuse'] {
  const v = r.string(e, ctx, 'default-branch')
  if (!(REUSE as string[]).includes(v))
    r.fail(
      e.value,
      `${ctx} has unknown reuse "${v}"`,
      suggest(v, REUSE, 'use verified, any, default-branch or off')
    )
  return v as LayerConfig['reuse']
}

/** SPEC 7a: assemble an eligible layer in the registry (`auto`) or never (`off`; YAML's `false` too). */
function assemble(r: YamlReader, e: Entry, ctx: string): LayerConfig['assemble'] {
  const v = e.value && isScalar(e.value) && e.value.value === false ? 'off' : r.string(e, ctx, 'off')
  if (!(ASSEMBLE as string[]).includes(v))
    r.fail(e.value, `${ctx} has unknown assemble "${v}"`, suggest(v, ASSEMBLE, 'use auto or off'))
  return v as LayerConfig['assemble']
}

/** A secret must be an environment variable name or a buildx secret spec (id=…,src=… / env=…). */
function secret(r: YamlReader, node: Node, ctx: string): void {
  try {
    secretSpec('-', (node as Scalar).value as string)
  } catch (err) {
    const { problem, fix } = splitSecret((err as Error).message.replace(/^layer "-": /, ''))
    r.fail(node, `${ctx}: ${problem}`, fix)
  }
}

/** A `paths` item must compile as the planner will compile it; the error points at that item. */
function pattern(r: YamlReader, node: Node, ctx: string): void {
  const p = (node as Scalar).value as string
  const never = refuseNeverMatching(p)
  if (never)
    r.fail(node, `${ctx} has path pattern ${JSON.stringify(p)} that can never match: ${never}`, PATTERN_FIX)
  try {
    compilePatterns([p])
  } catch (err) {
    const why = (err instanceof Error ? err.message : String(err)).replace(
      /^invalid path pattern "(?:[^"\\]|\\.)*": /,
      ''
    )
    const { problem, fix } = splitFix(why)
    r.fail(node, `${ctx} has invalid path pattern ${JSON.stringify(p)}: ${problem}`, fix)
  }
}

/** `{variable}` in a tag template must be one SPEC 5 knows. */
function template(r: YamlReader, node: Node, ctx: string, what: string): void {
  const t = (node as Scalar).value as string
  const vars = TEMPLATE_VARIABLES.map(v => `{${v}}`).join(' ')
  for (const m of t.matchAll(/\{([^{}]*)\}/g)) {
    if (!TEMPLATE_VARIABLES.includes(m[1])) {
      const hint = bestMatch(m[1], TEMPLATE_VARIABLES)
      r.fail(
        node,
        `${ctx} ${what} "${t}" has unknown variable {${m[1]}}`,
        hint ? `did you mean {${hint}}?` : `variables: ${vars}`
      )
    }
  }
  if (/[{}]/.test(t.replace(/\{[^{}]*\}/g, '')))
    r.fail(node, `${ctx} ${what} "${t}" has an unmatched brace`, `write variables as {name}: ${vars}`)
}

/** secretSpec()'s error as problem and fix (`…; write …`). */
function splitSecret(message: string): { problem: string; fix: string } {
  const at = message.indexOf('; ')
  return at < 0
    ? { problem: message, fix: 'write id=<id>,src=<file> or id=<id>,env=<VAR>' }
    : { problem: message.slice(0, at), fix: message.slice(at + 2) }
}

/** compilePatterns' reason as problem and fix: `problem (fix)`, `problem; fix` or `problem, e.g. …`. */
function splitFix(why: string): { problem: string; fix: string } {
  const m = /^(.+?) \((.+)\)$/.exec(why) ?? /^(.+?); (.+)$/.exec(why) ?? /^(.+?), (e\.g\. .+)$/.exec(why)
  if (m) return { problem: m[1], fix: m[2] }
  // A bare reason is either the problem (`it matches nothing`) or the fix (`use a single leading !`).
  return why.startsWith('it ') ? { problem: why, fix: PATTERN_FIX } : { problem: 'it is not valid', fix: why }
}

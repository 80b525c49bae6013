// Parse and validate `.github/strata.yml` (SPEC 1, retention: docs/ARCHITECTURE.md). Pure: text in,
// StrataConfig out. The YAML tree is walked node by node (not toJS) so every error can say
// file:line:column and one fix.
import { parentLayers, sanitizeTag, TAG_VARIABLES } from './tags.js'
import { isAlias, isMap, isScalar, isSeq, LineCounter, parseDocument } from 'yaml'
import type { Document, Node, Scalar, YAMLMap } from 'yaml'
import { compilePatterns } from './patterns.js'
import { secretSpec } from './buildx-args.js'
import { refuseImage, refuseLabelKey, refuseNeverMatching, refusePath, refuseTarget } from './config-names.js'
import type {
  CacheKind,
  LayerConfig,
  ParentRef,
  RetentionConfig,
  RetentionRule,
  StrataConfig,
  TagKind
} from './types.js'

const MAX_QUOTED = 300

export class ConfigError extends Error {
  file: string
  line: number
  column: number
  /** The problem, and the one-line fix, as in the message. */
  what: string
  fix: string
  constructor(file: string, line: number, column: number, problem: string, fix: string) {
    // A foreign file (the `config` input pointed elsewhere) can make any key or value huge: quote
    // at most MAX_QUOTED characters of it.
    const what = problem.length > MAX_QUOTED ? `${problem.slice(0, MAX_QUOTED)}…` : problem
    super(`${file}:${line}:${column}: ${what} (${fix})`)
    this.name = 'ConfigError'
    this.file = file
    this.line = line
    this.column = column
    this.what = what
    this.fix = fix
  }
}

export interface Position {
  line: number
  column: number
}

/** Where a layer's name and the keys that point at files were written (for the adapter's checks). */
export interface LayerPositions {
  name: Position
  /** The `dockerfile` key that set its Dockerfile (in the layer or in `defaults`); none: built-in. */
  dockerfile?: Position
  context?: Position
}

export interface ConfigPositions {
  layers: Record<string, LayerPositions>
}

const TEMPLATE_VARIABLES: string[] = [...TAG_VARIABLES]
export const CACHE_KINDS: CacheKind[] = ['gha', 'registry', 'local', 'inline']
export const TAG_KINDS: TagKind[] = ['stable', 'versioned', 'inputs', 'pr', 'branch', 'cache', 'untagged']
export const LAYER_NAME = /^[A-Za-z][A-Za-z0-9_-]*$/

const TOP_KEYS = ['version', 'image', 'defaults', 'layers', 'retention']
const LAYER_KEYS = [
  'dockerfile',
  'context',
  'paths',
  'from',
  'always',
  'image',
  'tags',
  'stable-tag',
  'build-args',
  'target',
  'platforms',
  'cache',
  'secrets',
  'labels',
  'provenance',
  'sbom',
  'reuse',
  'assemble'
]
const ASSEMBLE: NonNullable<LayerConfig['assemble']>[] = ['auto', 'off']
const REUSE: NonNullable<LayerConfig['reuse']>[] = ['any', 'default-branch', 'off']
const RETENTION_KEYS = ['min-keep', 'default', 'layers']
const RULE_KEYS = ['keep', 'max-age-days', 'delete-when-closed', 'keep-forever']
const PLATFORM = /^[a-z0-9_]+\/[a-z0-9_]+(\/[a-z0-9_.]+)?$/
const BUILD_ARG = /^[A-Za-z_][A-Za-z0-9_]*$/
// Used when `retention:` leaves `min-keep` out: never delete the last version of a layer.
const DEFAULT_MIN_KEEP = 1

/** One `key: value` of a map; merge keys (`<<: *anchor`) are expanded, explicit keys win. */
interface Entry {
  key: string
  keyNode: Node
  /** null: the key has no value (`always:`). */
  value: Node | null
}

/** A layer's settings as written (in a layer or in `defaults`), before defaults apply. */
interface RawLayer {
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

export function parseConfig(text: string, file: string): StrataConfig {
  return parseConfigWithPositions(text, file).config
}

/** `notices`: what the user should know but need not fix (an image name lower-cased). */
export function parseConfigWithPositions(
  text: string,
  file: string
): { config: StrataConfig; positions: ConfigPositions; notices: string[] } {
  return new Reader(text, file).read()
}

/** The default build-arg of a parent: `tool-chain` → `TOOL_CHAIN_IMAGE`. */
export function parentBuildArg(parent: string): string {
  return `${parent.toUpperCase().replace(/-/g, '_')}_IMAGE`
}

class Reader {
  private readonly lc = new LineCounter()
  private readonly doc: Document
  /** Image names written with upper case, as `line:column "Name"`. */
  private readonly lowered: string[] = []

  constructor(
    text: string,
    private readonly file: string
  ) {
    this.doc = parseDocument(text, {
      lineCounter: this.lc,
      prettyErrors: false,
      // Duplicates are found while walking, so the message can say "layer defined twice".
      uniqueKeys: false,
      merge: true
    })
  }

  read(): { config: StrataConfig; positions: ConfigPositions; notices: string[] } {
    const err = this.doc.errors[0]
    if (err) {
      const { line, col } = this.lc.linePos(err.pos[0])
      throw new ConfigError(
        this.file,
        line,
        col,
        `YAML syntax error: ${err.message.split('\n')[0]}`,
        'fix the YAML here: check indentation, quotes and brackets'
      )
    }
    const root = this.deref(this.doc.contents as Node | null)
    if (root === null || (isScalar(root) && root.value === null))
      this.fail(null, 'the config is empty', 'start it with `version: 1`, `image:` and `layers:`')
    if (!isMap(root))
      this.fail(root, `the config must be a map, got ${describe(root)}`, 'start it with `version: 1`')

    const top = new Map<string, Entry>()
    for (const e of this.entries(root, 'the config')) {
      if (!TOP_KEYS.includes(e.key)) this.unknownKey(e, 'the config', TOP_KEYS)
      top.set(e.key, e)
    }

    const version = top.get('version')
    if (version) {
      const v = version.value
      if (!isScalar(v) || v.value !== 1)
        this.fail(v ?? version.keyNode, `"version" must be 1, got ${describe(v)}`, 'write version: 1')
    }
    const imageEntry = top.get('image')
    const topImage = imageEntry ? this.image(imageEntry, 'the config') : undefined

    const defaultsEntry = top.get('defaults')
    let defaults: RawLayer = { pos: {} }
    if (defaultsEntry && !isNull(defaultsEntry.value)) {
      const m = this.deref(defaultsEntry.value)
      if (!isMap(m))
        this.fail(
          m,
          `"defaults" must be a map of layer keys, got ${describe(m)}`,
          'e.g. defaults: { context: ., platforms: [linux/amd64] }'
        )
      defaults = this.layerFields(m, 'defaults')
    }

    const layersEntry = top.get('layers')
    if (!layersEntry)
      this.fail(
        null,
        'the config has no `layers`',
        'add layers: with at least one layer, e.g. layers: { app: {} }'
      )
    const layersNode = this.deref(layersEntry.value)
    if (isNull(layersNode))
      this.fail(
        layersEntry.keyNode,
        '`layers` is empty',
        'add at least one layer, e.g. app: { dockerfile: Dockerfile }'
      )
    if (!isMap(layersNode))
      this.fail(
        layersNode,
        `"layers" must be a map of layer names to settings, got ${describe(layersNode)}`,
        'write layers: { base: {...}, app: {...} }'
      )
    const layerEntries = this.entries(layersNode, 'layers')
    if (layerEntries.length === 0)
      this.fail(
        layersNode,
        '`layers` is empty',
        'add at least one layer, e.g. app: { dockerfile: Dockerfile }'
      )

    const raws: { name: string; keyNode: Node; raw: RawLayer }[] = []
    const seen = new Map<string, string>()
    for (const e of layerEntries) {
      if (!LAYER_NAME.test(e.key))
        this.fail(
          e.keyNode,
          `layer name "${e.key}" is not valid`,
          'start it with a letter and use only letters, digits, - and _'
        )
      // Names become output names (`-` → `_`) and tags (lower-case): those must not collide.
      const norm = e.key.toLowerCase().replace(/-/g, '_')
      const other = seen.get(norm)
      if (other !== undefined)
        this.fail(
          e.keyNode,
          `layer "${e.key}" clashes with layer "${other}": outputs and tags cannot tell them apart`,
          'rename one of them'
        )
      seen.set(norm, e.key)
      const v = this.deref(e.value)
      if (!isNull(v) && !isMap(v))
        this.fail(
          v,
          `layer "${e.key}" must be a map of settings, got ${describe(v)}`,
          `e.g. ${e.key}: { dockerfile: Dockerfile.${e.key} }`
        )
      raws.push({
        name: e.key,
        keyNode: e.keyNode,
        raw: isMap(v) ? this.layerFields(v, `layer "${e.key}"`) : { pos: {} }
      })
    }

    const names = raws.map(r => r.name)
    const known = new Set(names)
    const layers: LayerConfig[] = []
    const positions: ConfigPositions = { layers: {} }
    for (const { name, keyNode, raw } of raws) {
      const from = raw.from ? raw : defaults
      for (const p of from.from ?? []) {
        if (!known.has(p.ref.layer))
          this.fail(
            p.node,
            `layer "${name}" has unknown parent "${p.ref.layer}"`,
            suggest(p.ref.layer, names, `\`from\` names layers under \`layers:\`: ${names.join(', ')}`)
          )
      }
      const image = raw.image ?? defaults.image ?? topImage
      if (image === undefined)
        this.fail(
          keyNode,
          `layer "${name}" has no image`,
          'add a top-level `image: ghcr.io/<owner>/<name>`, or `image:` to every layer'
        )
      layers.push({
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
        ...((raw.assemble ?? defaults.assemble) !== undefined && {
          assemble: raw.assemble ?? defaults.assemble
        })
      })
      positions.layers[name] = {
        name: this.pos(keyNode),
        dockerfile: raw.pos.dockerfile ?? defaults.pos.dockerfile,
        context: raw.pos.context ?? defaults.pos.context
      }
    }
    // Optional fields that stayed undefined are left out, so configs compare and print cleanly.
    for (const l of layers)
      for (const k of Object.keys(l) as (keyof LayerConfig)[]) if (l[k] === undefined) delete l[k]

    const order = this.order(layers, raws, defaults)
    const parents = parentLayers(layers)
    this.tagClashes(layers, raws, defaults, parents)
    const leaves = layers.filter(l => !parents.has(l.name))
    const config: StrataConfig = {
      file: this.file,
      version: 1,
      image: topImage ?? defaults.image ?? leaves[leaves.length - 1].image,
      layers,
      order
    }
    const retention = top.get('retention')
    if (retention && !isNull(retention.value)) config.retention = this.retention(retention, names)
    // One notice for all of them: Docker repositories are lower case.
    const notices = this.lowered.length
      ? [
          `${this.file}: image ${this.lowered.join(', ')} lower-cased: Docker repository names are lower case ` +
            '(write them so to silence this)'
        ]
      : []
    return { config, positions, notices }
  }

  /** Topological order, parents first, ties in config order; a cycle is an error naming it. */
  private order(
    layers: LayerConfig[],
    raws: { name: string; raw: RawLayer }[],
    defaults: RawLayer
  ): string[] {
    const byName = new Map(layers.map(l => [l.name, l]))
    const state = new Map<string, 'open' | 'done'>()
    const stack: string[] = []
    const visit = (name: string): void => {
      if (state.get(name) === 'done') return
      if (state.get(name) === 'open') {
        // stack follows parent edges; printed parent → child, from the first layer in config order.
        const cycle = stack.slice(stack.indexOf(name)).reverse()
        const first = layers.findIndex(l => cycle.includes(l.name))
        const start = cycle.indexOf(layers[first].name)
        const ring = [...cycle.slice(start), ...cycle.slice(0, start)]
        // Point at the edge that closes the ring: the first layer's own `from`.
        const owner = raws.find(r => r.name === ring[0])
        const node = owner?.raw.fromNode ?? defaults.fromNode ?? null
        this.fail(
          node,
          `layers form a cycle: ${[...ring, ring[0]].join(' → ')}`,
          'remove one of these `from` parents'
        )
      }
      state.set(name, 'open')
      stack.push(name)
      for (const p of byName.get(name)!.from) visit(p.layer)
      stack.pop()
      state.set(name, 'done')
    }
    for (const l of layers) visit(l.name)

    return topologicalOrder(layers)
  }

  /**
   * Tags known from the config alone (stable tags and literal tags, with {layer} filled in) must not
   * be pushed by two layers of one repository, nor overwrite a registry cache (`cache-<layer>`).
   * Tags that depend on the event are checked when the plan is made.
   */
  private tagClashes(
    layers: LayerConfig[],
    raws: { name: string; keyNode: Node; raw: RawLayer }[],
    defaults: RawLayer,
    parents: Set<string>
  ): void {
    const owner = new Map<string, string>()
    const refOf = (l: LayerConfig, template: string): string | undefined => {
      const rendered = template.replaceAll('{layer}', l.name)
      return rendered.includes('{') ? undefined : `${l.image}:${sanitizeTag(rendered)}`
    }
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
    const fix = 'give one of the layers its own `image`, or `tags` and a `stable-tag` that use {layer}'
    raws.forEach(({ name, keyNode, raw }, i) => {
      const l = layers[i]
      const claim = (template: string, what: string, at: Position | undefined): void => {
        const ref = refOf(l, template)
        if (ref === undefined) return
        if (ref.endsWith(':')) {
          const { line, column } = at ?? this.pos(keyNode)
          throw new ConfigError(
            this.file,
            line,
            column,
            `layer "${name}" ${what} ${JSON.stringify(template)} is empty once sanitized (tags keep only a-z 0-9 _ . -)`,
            'use letters or digits, e.g. {layer}-current'
          )
        }
        const other = owner.get(ref)
        // A layer may repeat its own tag; nothing may take a registry cache.
        if (
          other !== undefined &&
          (other.startsWith('the registry cache') || !other.endsWith(`layer "${name}"`))
        ) {
          const { line, column } = at ?? this.pos(keyNode)
          throw new ConfigError(
            this.file,
            line,
            column,
            `layer "${name}" ${what} ${ref} is also ${other}`,
            fix
          )
        }
        owner.set(ref, `${what === 'stable tag' ? 'the stable tag' : 'a tag'} of layer "${name}"`)
      }
      if (l.stableTag !== undefined)
        claim(l.stableTag, 'stable tag', raw.pos.stableTag ?? defaults.pos.stableTag)
      const tagPos = raw.tags ? raw.pos.tags : defaults.pos.tags
      l.tags?.forEach((t, k) => claim(t, 'tag', tagPos?.[k]))
    })
  }

  /** The keys of one layer or of `defaults`. */
  private layerFields(map: YAMLMap, ctx: string): RawLayer {
    const raw: RawLayer = { pos: {} }
    for (const e of this.entries(map, ctx)) {
      switch (e.key) {
        case 'dockerfile':
          raw.dockerfile = this.path(e, ctx, 'Dockerfile.base')
          raw.pos.dockerfile = this.pos(e.keyNode)
          break
        case 'context':
          raw.context = this.path(e, ctx, '.')
          raw.pos.context = this.pos(e.keyNode)
          break
        case 'paths':
          raw.paths = this.strings(e, ctx, "[Dockerfile, 'docker/**']")
          this.seqItems(e).forEach(n => this.pattern(n, ctx))
          break
        case 'from':
          raw.from = this.from(e, ctx)
          raw.fromNode = e.value ?? e.keyNode
          break
        case 'always':
          raw.always = this.bool(e, ctx)
          break
        case 'image':
          raw.image = this.image(e, ctx)
          break
        case 'tags': {
          const tags = this.strings(e, ctx, "['{layer}-{sha7}', '{branch}']")
          if (tags.length === 0)
            this.fail(
              e.value,
              `${ctx} has an empty \`tags\` list`,
              'list at least one tag, or remove `tags` for the defaults'
            )
          this.seqItems(e).forEach(n => this.template(n, ctx, 'tag'))
          raw.tags = tags
          raw.pos.tags = this.seqItems(e).map(n => this.pos(n))
          break
        }
        case 'stable-tag':
          raw.stableTag = this.string(e, ctx, "'{layer}-stable'")
          raw.pos.stableTag = this.pos(e.value)
          this.template(this.deref(e.value)!, ctx, 'stable-tag')
          break
        case 'build-args':
          raw.buildArgs = this.stringMap(e, ctx, '{ NODE_VERSION: 20 }', BUILD_ARG)
          break
        case 'target':
          raw.target = this.string(e, ctx, 'runtime')
          this.refuse(
            e.value,
            refuseTarget(raw.target),
            `${ctx} key "target"`,
            'name a stage of the Dockerfile (FROM … AS <name>)'
          )
          break
        case 'platforms': {
          raw.platforms = this.strings(e, ctx, '[linux/amd64, linux/arm64]')
          if (raw.platforms.length === 0)
            this.fail(
              e.value,
              `${ctx} has an empty \`platforms\` list`,
              'list at least one, e.g. [linux/amd64]'
            )
          this.seqItems(e).forEach(n => {
            const p = (n as Scalar).value as string
            if (!PLATFORM.test(p))
              this.fail(
                n,
                `${ctx} has bad platform "${p}"`,
                'write os/arch[/variant], e.g. linux/amd64 or linux/arm64/v8'
              )
          })
          break
        }
        case 'cache': {
          const kinds = this.strings(e, ctx, '[gha, registry]')
          this.seqItems(e).forEach(n => {
            const k = (n as Scalar).value as string
            if (!(CACHE_KINDS as string[]).includes(k))
              this.fail(
                n,
                `${ctx} has unknown cache kind "${k}"`,
                suggest(k, CACHE_KINDS, 'use gha, registry, local or inline')
              )
          })
          raw.cache = [...new Set(kinds)] as CacheKind[]
          break
        }
        case 'secrets':
          raw.secrets = this.strings(e, ctx, "['id=npmrc,src=.npmrc']")
          this.seqItems(e).forEach(n => this.secret(n, ctx))
          break
        case 'labels':
          raw.labels = this.stringMap(e, ctx, '{ org.opencontainers.image.vendor: acme }')
          for (const k of this.mapEntries(e.value, `${ctx} labels`))
            this.refuse(
              k.keyNode,
              refuseLabelKey(k.key),
              `${ctx} labels`,
              'start a label key with a letter or digit, e.g. org.example.team'
            )
          break
        case 'provenance':
        case 'sbom':
          raw[e.key] = this.boolOrString(e, ctx)
          break
        case 'reuse':
          raw.reuse = this.reuse(e, ctx)
          break
        case 'assemble':
          raw.assemble = this.assemble(e, ctx)
          break
        default:
          this.unknownKey(e, ctx, LAYER_KEYS)
      }
    }
    return raw
  }

  private from(e: Entry, ctx: string): { ref: ParentRef; node: Node }[] {
    const v = this.deref(e.value)
    const out: { ref: ParentRef; node: Node }[] = []
    const add = (layer: string, buildArg: string, node: Node): void => {
      if (out.some(p => p.ref.layer === layer))
        this.fail(node, `${ctx} names parent "${layer}" twice`, 'list each parent once')
      const same = out.find(p => p.ref.buildArg === buildArg)
      if (same)
        this.fail(
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
        const n = this.deref(item as Node)
        if (!isScalar(n) || typeof n.value !== 'string')
          this.fail(n, `${ctx} key "from" must be ${expected}, got ${describe(n)} in the list`, fix)
        add(n.value, parentBuildArg(n.value), n)
      }
    } else if (isMap(v)) {
      for (const p of this.entries(v, `${ctx} from`)) {
        const arg = this.deref(p.value)
        if (isNull(arg)) add(p.key, parentBuildArg(p.key), p.keyNode)
        else if (isScalar(arg) && typeof arg.value === 'string' && BUILD_ARG.test(arg.value))
          add(p.key, arg.value, p.keyNode)
        else
          this.fail(
            arg,
            `${ctx} maps parent "${p.key}" to ${describe(arg)}, which is not a build-arg name`,
            `e.g. from: { ${p.key}: ${parentBuildArg(p.key)} }`
          )
      }
    } else this.fail(v ?? e.keyNode, `${ctx} key "from" must be ${expected}, got ${describe(v)}`, fix)
    return out
  }

  private retention(entry: Entry, names: string[]): RetentionConfig {
    const ctx = 'retention'
    const map = this.deref(entry.value)
    if (!isMap(map))
      this.fail(
        map,
        `"retention" must be a map, got ${describe(map)}`,
        'e.g. retention: { min-keep: 3, default: { pr: { max-age-days: 7 } } }'
      )
    const out: RetentionConfig = { minKeep: DEFAULT_MIN_KEEP, rules: {}, layers: {} }
    for (const e of this.entries(map, ctx)) {
      if (e.key === 'min-keep') out.minKeep = this.count(e, ctx, '3')
      else if (e.key === 'default') out.rules = this.kindRules(e, 'retention.default')
      else if (e.key === 'layers') {
        const m = this.deref(e.value)
        if (isNull(m)) continue
        if (!isMap(m))
          this.fail(
            m,
            `retention key "layers" must be a map of layer names to rules, got ${describe(m)}`,
            'e.g. layers: { base: { versioned: { keep-forever: true } } }'
          )
        for (const l of this.entries(m, 'retention.layers')) {
          if (!names.includes(l.key))
            this.fail(
              l.keyNode,
              `retention.layers names unknown layer "${l.key}"`,
              suggest(l.key, names, `use a layer defined under \`layers:\`: ${names.join(', ')}`)
            )
          out.layers[l.key] = this.kindRules(l, `retention.layers.${l.key}`)
        }
      } else this.unknownKey(e, ctx, RETENTION_KEYS)
    }
    return out
  }

  /** `{ pr: rule, branch: rule }` */
  private kindRules(entry: Entry, ctx: string): Partial<Record<TagKind, RetentionRule>> {
    const m = this.deref(entry.value)
    const out: Partial<Record<TagKind, RetentionRule>> = {}
    if (isNull(m)) return out
    if (!isMap(m))
      this.fail(
        m,
        `${ctx} must be a map of tag kinds to rules, got ${describe(m)}`,
        `e.g. { pr: { max-age-days: 7 } }; tag kinds: ${TAG_KINDS.join(', ')}`
      )
    for (const e of this.entries(m, ctx)) {
      if (!(TAG_KINDS as string[]).includes(e.key))
        this.fail(
          e.keyNode,
          `${ctx} has unknown tag kind "${e.key}"`,
          suggest(e.key, TAG_KINDS, `tag kinds: ${TAG_KINDS.join(', ')}`)
        )
      out[e.key as TagKind] = this.rule(e, `${ctx}.${e.key}`)
    }
    return out
  }

  private rule(entry: Entry, ctx: string): RetentionRule {
    const m = this.deref(entry.value)
    const rule: RetentionRule = {}
    if (isNull(m)) return rule
    if (!isMap(m))
      this.fail(m, `${ctx} must be a map, got ${describe(m)}`, 'e.g. { keep: 10 } or { max-age-days: 7 }')
    for (const e of this.entries(m, ctx)) {
      if (e.key === 'keep') rule.keep = this.count(e, ctx, '10')
      else if (e.key === 'max-age-days') rule.maxAgeDays = this.count(e, ctx, '7')
      else if (e.key === 'delete-when-closed') {
        rule.deleteWhenClosed = this.bool(e, ctx)
        if (rule.deleteWhenClosed && !ctx.endsWith('.pr'))
          this.fail(
            e.keyNode,
            `${ctx} sets delete-when-closed`,
            'only pr tags belong to a pull request: move it under pr'
          )
      } else if (e.key === 'keep-forever') rule.keepForever = this.bool(e, ctx)
      else this.unknownKey(e, ctx, RULE_KEYS)
    }
    // Stable tags (and `latest`) are always kept: a limit on them could never apply.
    if (ctx.endsWith('.stable') && (rule.keep !== undefined || rule.maxAgeDays !== undefined))
      this.fail(
        m,
        `${ctx} sets ${rule.keep !== undefined ? 'keep' : 'max-age-days'}, which can never apply: stable tags are always kept`,
        'remove the rule; to limit old versions, set a rule for versioned'
      )
    if (rule.keepForever && (rule.keep !== undefined || rule.maxAgeDays !== undefined))
      this.fail(
        m,
        `${ctx} sets keep-forever together with keep or max-age-days`,
        'keep-forever keeps everything: remove the other limits or keep-forever'
      )
    return rule
  }

  // ---------- values ----------

  private scalar(
    e: Entry,
    ctx: string,
    expected: string,
    example: string,
    ok: (v: unknown) => boolean
  ): unknown {
    const v = this.deref(e.value)
    if (!isScalar(v) || !ok(v.value))
      this.fail(
        v ?? e.keyNode,
        `${ctx} key "${e.key}" must be ${expected}, got ${describe(v)}`,
        `e.g. ${e.key}: ${example}`
      )
    return v.value
  }

  private string(e: Entry, ctx: string, example: string): string {
    return this.scalar(e, ctx, 'a string', example, v => typeof v === 'string' && v !== '') as string
  }

  private path(e: Entry, ctx: string, example: string): string {
    const p = this.string(e, ctx, example)
    const why = refusePath(p)
    if (why)
      this.fail(
        e.value,
        `${ctx} key "${e.key}" ${why}`,
        why.startsWith('is an absolute')
          ? 'write it relative to the repository root'
          : 'write a path inside the repository, relative to its root (./-name for a name that starts with -)'
      )
    return p
  }

  /** SPEC 4a: which earlier images with the same inputs a layer may reuse. */
  private reuse(e: Entry, ctx: string): LayerConfig['reuse'] {
    const v = this.string(e, ctx, 'default-branch')
    if (!(REUSE as string[]).includes(v))
      this.fail(
        e.value,
        `${ctx} has unknown reuse "${v}"`,
        suggest(v, REUSE, 'use any, default-branch or off')
      )
    return v as LayerConfig['reuse']
  }

  /** SPEC 7a: assemble an eligible layer in the registry (`auto`) or never (`off`). */
  private assemble(e: Entry, ctx: string): LayerConfig['assemble'] {
    // YAML reads a bare `off` as a string here (YAML 1.2 core schema), and `false` means off too.
    const v = e.value && isScalar(e.value) && e.value.value === false ? 'off' : this.string(e, ctx, 'off')
    if (!(ASSEMBLE as string[]).includes(v))
      this.fail(e.value, `${ctx} has unknown assemble "${v}"`, suggest(v, ASSEMBLE, 'use auto or off'))
    return v as LayerConfig['assemble']
  }

  /** A refusal from config-names.ts as a ConfigError at `node`. */
  private refuse(node: Node | null, why: string | undefined, what: string, fix: string): void {
    if (why) this.fail(node, `${what}: ${why}`, fix)
  }

  /** A secret must be an environment variable name or a buildx secret spec (id=…,src=… / env=…). */
  private secret(node: Node, ctx: string): void {
    try {
      secretSpec('-', (node as Scalar).value as string)
    } catch (err) {
      const { problem, fix } = splitSecret((err as Error).message.replace(/^layer "-": /, ''))
      this.fail(node, `${ctx}: ${problem}`, fix)
    }
  }

  private bool(e: Entry, ctx: string): boolean {
    return this.scalar(e, ctx, 'true or false', 'true', v => typeof v === 'boolean') as boolean
  }

  private boolOrString(e: Entry, ctx: string): boolean | string {
    const ok = (v: unknown): boolean => typeof v === 'boolean' || (typeof v === 'string' && v !== '')
    return this.scalar(e, ctx, 'true, false or a buildx value', 'mode=max', ok) as boolean | string
  }

  private count(e: Entry, ctx: string, example: string): number {
    const ok = (v: unknown): boolean => typeof v === 'number' && Number.isInteger(v) && v >= 0
    return this.scalar(e, ctx, 'a whole number, 0 or more', example, ok) as number
  }

  private image(e: Entry, ctx: string): string {
    const written = this.string(e, ctx, 'ghcr.io/acme/app')
    const image = written.toLowerCase()
    const why = refuseImage(image)
    if (why)
      this.fail(
        e.value,
        `${ctx} key "image" is not a repository: ${JSON.stringify(written.length > 80 ? `${written.slice(0, 80)}…` : written)}${why === 'it has a tag or digest' ? '' : ` (${why})`}`,
        'write the repository without tag or digest, e.g. ghcr.io/acme/app; tags come from `tags`'
      )
    if (image !== written) {
      const { line, column } = this.pos(e.value)
      this.lowered.push(`"${written}" (${line}:${column})`)
    }
    return image
  }

  private seqItems(e: Entry): Node[] {
    const v = this.deref(e.value)
    return isSeq(v) ? v.items.map(i => this.deref(i as Node)!) : []
  }

  private strings(e: Entry, ctx: string, example: string): string[] {
    const v = this.deref(e.value)
    if (!isSeq(v))
      this.fail(
        v ?? e.keyNode,
        `${ctx} key "${e.key}" must be a list of strings, got ${describe(v)}`,
        `e.g. ${e.key}: ${example}`
      )
    return this.seqItems(e).map(n => {
      if (!isScalar(n) || typeof n.value !== 'string' || n.value === '')
        this.fail(
          n,
          `${ctx} key "${e.key}" must be a list of strings, got ${describe(n)} in it`,
          `e.g. ${e.key}: ${example}`
        )
      return n.value
    })
  }

  /** A map of names to scalars; numbers and booleans become strings (`NODE_VERSION: 20`). */
  private stringMap(e: Entry, ctx: string, example: string, keyPattern?: RegExp): Record<string, string> {
    const v = this.deref(e.value)
    if (isNull(v)) return {}
    if (!isMap(v))
      this.fail(v, `${ctx} key "${e.key}" must be a map, got ${describe(v)}`, `e.g. ${e.key}: ${example}`)
    const out: Record<string, string> = {}
    for (const p of this.entries(v, `${ctx} ${e.key}`)) {
      if (keyPattern && !keyPattern.test(p.key))
        this.fail(
          p.keyNode,
          `${ctx} has bad ${e.key} name "${p.key}"`,
          'use letters, digits and _, not starting with a digit'
        )
      const s = this.deref(p.value)
      if (!isScalar(s) || s.value === null || typeof s.value === 'object')
        this.fail(
          s ?? p.keyNode,
          `${ctx} ${e.key} "${p.key}" must be a string, got ${describe(s)}`,
          `e.g. ${e.key}: ${example}`
        )
      out[p.key] = String(s.value)
    }
    return out
  }

  /** A `paths` item must compile as the planner will compile it; the error points at that item. */
  private pattern(node: Node, ctx: string): void {
    const p = (node as Scalar).value as string
    const never = refuseNeverMatching(p)
    if (never)
      this.fail(
        node,
        `${ctx} has path pattern ${JSON.stringify(p)} that can never match: ${never}`,
        PATTERN_FIX
      )
    try {
      compilePatterns([p])
    } catch (err) {
      const why = (err instanceof Error ? err.message : String(err)).replace(
        /^invalid path pattern "(?:[^"\\]|\\.)*": /,
        ''
      )
      const { problem, fix } = splitFix(why)
      this.fail(node, `${ctx} has invalid path pattern ${JSON.stringify(p)}: ${problem}`, fix)
    }
  }

  /** `{variable}` in a tag template must be one SPEC 5 knows. */
  private template(node: Node, ctx: string, what: string): void {
    const t = (node as Scalar).value as string
    const vars = TEMPLATE_VARIABLES.map(v => `{${v}}`).join(' ')
    for (const m of t.matchAll(/\{([^{}]*)\}/g)) {
      if (!TEMPLATE_VARIABLES.includes(m[1])) {
        const hint = bestMatch(m[1], TEMPLATE_VARIABLES)
        this.fail(
          node,
          `${ctx} ${what} "${t}" has unknown variable {${m[1]}}`,
          hint ? `did you mean {${hint}}?` : `variables: ${vars}`
        )
      }
    }
    if (/[{}]/.test(t.replace(/\{[^{}]*\}/g, '')))
      this.fail(node, `${ctx} ${what} "${t}" has an unmatched brace`, `write variables as {name}: ${vars}`)
  }

  // ---------- tree ----------

  /** The pairs of a map, with merge keys expanded; a duplicate key is an error. */
  private entries(map: YAMLMap, ctx: string): Entry[] {
    const out: Entry[] = []
    const merged: Entry[] = []
    // Looked up, not searched: `layers` may have thousands of keys.
    const byKey = new Map<string, Entry>()
    for (const pair of map.items) {
      const k = pair.key as Node | null
      const value = (pair.value as Node | null) ?? null
      if (isScalar(k) && typeof k.value === 'symbol') {
        const sources = isSeq(this.deref(value)) ? (this.deref(value) as { items: Node[] }).items : [value]
        for (const s of sources) {
          const m = this.deref(s)
          if (isMap(m)) merged.push(...this.entries(m, ctx))
        }
        continue
      }
      if (!isScalar(k) || (typeof k.value !== 'string' && typeof k.value !== 'number'))
        this.fail(k, `${ctx} has a key that is not a name: ${describe(k)}`, 'use plain names as keys')
      const key = String(k.value)
      const first = byKey.get(key)
      if (first) {
        const at = this.pos(first.keyNode).line
        if (ctx === 'layers')
          this.fail(
            k,
            `layer "${key}" is defined twice (first at line ${at})`,
            'rename one of them or merge their keys'
          )
        this.fail(k, `${ctx} has key "${key}" twice (first at line ${at})`, 'keep one of them')
      }
      out.push({ key, keyNode: k, value })
      byKey.set(key, out[out.length - 1])
    }
    for (const m of merged) if (!byKey.has(m.key)) out.push(m)
    return out
  }

  /** The entries of a value that may be a map or nothing. */
  private mapEntries(value: Node | null, ctx: string): Entry[] {
    const m = this.deref(value)
    return isMap(m) ? this.entries(m, ctx) : []
  }

  private deref(node: Node | null | undefined): Node | null {
    if (node && isAlias(node)) return (node.resolve(this.doc) as Node | undefined) ?? null
    return node ?? null
  }

  private pos(node: Node | null | undefined): Position {
    const offset = node?.range?.[0]
    if (offset === undefined) return { line: 1, column: 1 }
    const { line, col } = this.lc.linePos(offset)
    return { line, column: col }
  }

  private fail(node: Node | null | undefined, what: string, fix: string): never {
    const { line, column } = this.pos(node)
    throw new ConfigError(this.file, line, column, what, fix)
  }

  private unknownKey(e: Entry, ctx: string, valid: string[]): never {
    this.fail(
      e.keyNode,
      `${ctx} has unknown key "${e.key}"`,
      suggest(e.key, valid, `valid keys: ${valid.join(', ')}`)
    )
  }
}

const PATTERN_FIX = 'write a glob relative to the repository root, e.g. docker/** or !docs/**'

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

/**
 * Parents first; among the layers ready at a step, the first in config order (Kahn's algorithm with
 * the ready layers kept by config index, so thousands of layers take n log n, not n²).
 */
function topologicalOrder(layers: LayerConfig[]): string[] {
  const index = new Map(layers.map((l, i) => [l.name, i]))
  const waiting = layers.map(l => new Set(l.from.map(p => p.layer)).size)
  const children: number[][] = layers.map(() => [])
  layers.forEach((l, i) => new Set(l.from.map(p => p.layer)).forEach(p => children[index.get(p)!].push(i)))
  const ready = new MinHeap()
  waiting.forEach((w, i) => w === 0 && ready.push(i))
  const order: string[] = []
  for (let i = ready.pop(); i !== undefined; i = ready.pop()) {
    order.push(layers[i].name)
    for (const c of children[i]) if (--waiting[c] === 0) ready.push(c)
  }
  return order
}

/** The smallest number first. */
class MinHeap {
  private readonly items: number[] = []
  push(n: number): void {
    const a = this.items
    a.push(n)
    for (let i = a.length - 1; i > 0;) {
      const up = (i - 1) >> 1
      if (a[up] <= a[i]) break
      ;[a[up], a[i]] = [a[i], a[up]]
      i = up
    }
  }
  pop(): number | undefined {
    const a = this.items
    const top = a[0]
    const last = a.pop()
    if (a.length > 0 && last !== undefined) {
      a[0] = last
      for (let i = 0; ;) {
        const l = 2 * i + 1
        const r = l + 1
        let m = i
        if (l < a.length && a[l] < a[m]) m = l
        if (r < a.length && a[r] < a[m]) m = r
        if (m === i) break
        ;[a[m], a[i]] = [a[i], a[m]]
        i = m
      }
    }
    return top
  }
}

function isNull(node: Node | null): boolean {
  return node === null || (isScalar(node) && node.value === null)
}

function describe(node: Node | null): string {
  if (isNull(node)) return 'nothing'
  if (isSeq(node)) return 'a list'
  if (isMap(node)) return 'a map'
  if (isScalar(node)) {
    const v = node.value
    if (typeof v === 'string') return JSON.stringify(v.length > 40 ? `${v.slice(0, 40)}…` : v)
    return String(v)
  }
  return 'a value'
}

/** Closest candidate within a small edit distance (typos, `_` for `-`), else undefined. */
function bestMatch(word: string, candidates: string[]): string | undefined {
  const w = word.toLowerCase()
  // A cut-short key (`max-age` for `max-age-days`) is a likely mistake too.
  if (w.length >= 4) {
    const prefix = candidates.find(c => c.toLowerCase().startsWith(w))
    if (prefix) return prefix
  }
  let best: string | undefined
  let bestD = Infinity
  for (const c of candidates) {
    const d = distance(w, c.toLowerCase())
    // Ties go to the candidate of the same length (`sha8` → `sha7`, not `sha`).
    if (d < bestD || (d === bestD && c.length === word.length)) [best, bestD] = [c, d]
  }
  return bestD <= Math.max(2, Math.floor(word.length / 3)) && bestD < word.length ? best : undefined
}

/** The fix for an unknown name: the closest valid one, else `otherwise`. */
function suggest(word: string, candidates: string[], otherwise: string): string {
  const hint = bestMatch(word, candidates)
  return hint ? `did you mean "${hint}"?` : otherwise
}

/** Levenshtein distance. */
function distance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, i) => i)
  for (let i = 1; i <= a.length; i++) {
    const cur = [i]
    for (let j = 1; j <= b.length; j++)
      cur[j] = Math.min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1))
    prev = cur
  }
  return prev[b.length]
}

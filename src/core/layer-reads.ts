// SPEC 3a for a whole config: each layer's Dockerfile parsed with its build args, its inputs compiled,
// then resolved against the workspace's files, with the checks that run before anything else. Pure:
// the texts and file lists come from the workspace adapter.
import { withPaths } from './paths-inputs.js'
import { DockerfileError, neededStages, parseDockerfile } from './dockerfile.js'
import type { ImageUse, ParsedDockerfile, Stage, Trigger } from './dockerfile.js'
import { platformsOf } from './buildx-args.js'
import { layerInputs, resolveInputs } from './derived-inputs.js'
import { malformedRule } from './dockerignore.js'
import { inputEntries, linkedSources, type InputEntries, type InputTree } from './input-entries.js'
import type { IgnoreMatchers, LayerInputs, ResolvedInputs } from './derived-inputs.js'
import { checkOne, DOCKER_FRONTEND, unlinkedWarning } from './layer-checks.js'
import { assemblyOf, type Eligibility } from './assemble.js'
import { parentLayers } from './tags.js'
import type { DockerfileFacts, LayerConfig, StrataConfig } from './types.js'

/** What the workspace holds for one layer. */
export interface LayerTexts {
  /** The Dockerfile's text; undefined when it cannot be read (the config loader says so first). */
  dockerfile?: string
  /** The .dockerignore in use (`<Dockerfile>.dockerignore` when it exists, else `<context>/.dockerignore`). */
  dockerignore: { path: string; text?: string }
}

export interface PreparedLayer {
  layer: LayerConfig
  /** As read for its first platform (checks and warnings). */
  parsed: ParsedDockerfile
  stages: Stage[]
  /** The needed stages of every platform it builds for (SPEC 3a: inputs are the union). */
  allStages: Stage[]
  inputs: LayerInputs
  /** The .dockerignore has `!` exceptions (a folder it ignores may still hold files BuildKit sends). */
  reincludes: boolean
  /** Every name an ARG of its Dockerfile declares. */
  declared: string[]
  /** The ONBUILD instructions of its image (its target stage's), for its children. */
  onbuild: Trigger[]
  /** The build args the Dockerfile was read with (the layer's, then the step's). */
  buildArgs: Record<string, string>
}

export interface Prepared {
  layers: PreparedLayer[]
  errors: string[]
}

/** Where the config names a layer, for errors about its keys (`target`). */
export type LayerPlace = (layer: string) => { line: number; column: number } | undefined

export interface PrepareOptions {
  /** The `platforms` input (wins over each layer's `platforms`). */
  platforms?: string[]
  /** The builder's platform: BUILDPLATFORM, and the target of a layer without platforms. */
  buildPlatform?: string
}

/**
 * Parses every layer's Dockerfile with its build args (the layer's, then the step's), once for each
 * platform it builds for, parents first (their ONBUILD runs in the child), and compiles its inputs.
 */
export function prepareLayers(
  config: StrataConfig,
  texts: Record<string, LayerTexts>,
  stepArgs: Record<string, string>,
  placeOf: LayerPlace = () => undefined,
  opts: PrepareOptions = {}
): Prepared {
  const done = new Map<string, PreparedLayer | string>()
  const matchers: IgnoreMatchers = new Map()
  const byName = new Map(config.layers.map(l => [l.name, l]))
  for (const name of [...config.order, ...config.layers.map(l => l.name)]) {
    const layer = byName.get(name)
    const text = texts[name]
    if (!layer || done.has(name) || text?.dockerfile === undefined) continue
    const onbuild: Record<string, Trigger[]> = {}
    for (const p of layer.from) {
      const parent = done.get(p.layer)
      if (parent && typeof parent !== 'string') onbuild[p.layer] = parent.onbuild
    }
    const overridden = parentArgOverride(config.file, layer, stepArgs)
    if (overridden) {
      done.set(name, overridden)
      continue
    }
    const missing = (names: string[]): string => targetError(config, layer, placeOf, names)
    done.set(
      name,
      prepareOne(layer, text, { ...layer.buildArgs, ...stepArgs }, onbuild, opts, matchers, missing)
    )
  }
  const layers: PreparedLayer[] = []
  const errors: string[] = []
  for (const l of config.layers) {
    const r = done.get(l.name)
    if (typeof r === 'string') errors.push(r)
    else if (r) layers.push(r)
  }
  return { layers, errors }
}

/** One layer: its Dockerfile read per platform, or the error message. */
function prepareOne(
  layer: LayerConfig,
  t: LayerTexts,
  buildArgs: Record<string, string>,
  onbuild: Record<string, Trigger[]>,
  opts: PrepareOptions,
  matchers: IgnoreMatchers,
  missingTarget: (stageNames: string[]) => string
): PreparedLayer | string {
  const layerArgs = Object.fromEntries(layer.from.map(p => [p.buildArg, p.layer]))
  const listed = platformsOf(layer, opts.platforms)
  const platforms = listed.length ? listed : [opts.buildPlatform ?? 'linux/amd64']
  const reads: { parsed: ParsedDockerfile; stages: Stage[] }[] = []
  for (const platform of [...new Set(platforms)]) {
    let parsed: ParsedDockerfile
    try {
      parsed = parseDockerfile(t.dockerfile ?? '', layer.dockerfile, {
        buildArgs,
        layerArgs,
        platform,
        buildPlatform: opts.buildPlatform,
        onbuild
      })
    } catch (e) {
      if (!(e instanceof DockerfileError)) throw e
      return e.message
    }
    const stages = neededStages(parsed, layer.target)
    if (!stages) return missingTarget(parsed.stages.flatMap(s => (s.name ? [s.name] : [])))
    reads.push({ parsed, stages })
  }
  const allStages = reads.flatMap(r => r.stages)
  const bad = malformedPattern(layer.dockerfile, t.dockerignore, allStages)
  if (bad) return bad
  const { parsed, stages } = reads[0]
  const inputs = layerInputs({
    layer: layer.name,
    dockerfile: layer.dockerfile,
    context: layer.context,
    parsed,
    stages: allStages,
    dockerignore: t.dockerignore,
    matchers
  })
  const reincludes = (t.dockerignore.text ?? '').split(/\r?\n/).some(l => l.trim().startsWith('!'))
  const target = stages[stages.length - 1]
  return {
    layer,
    parsed,
    stages,
    allStages,
    inputs,
    reincludes,
    declared: parsed.declared,
    onbuild: target ? target.onbuild : [],
    buildArgs
  }
}

/**
 * A .dockerignore rule or `COPY --exclude` pattern that is not a pattern (an unclosed `[`), as the
 * layer's error: the matcher would throw at the first path (and BuildKit refuses such a .dockerignore).
 */
function malformedPattern(
  dockerfile: string,
  ignore: LayerTexts['dockerignore'],
  stages: Stage[]
): string | undefined {
  const fix = 'fix it (a literal [ is written \\[) or remove it'
  const rule = ignore.text === undefined ? undefined : malformedRule(ignore.text)
  if (rule)
    return `${ignore.path}:${rule.line}: ${JSON.stringify(rule.rule)} is not a pattern (${rule.why}), and BuildKit refuses it too: ${fix}`
  for (const source of stages.flatMap(s => s.sources)) {
    const bad = malformedRule(source.excludes.join('\n'))
    if (bad)
      return `${dockerfile}:${source.instructionLine}: ${source.keyword} --exclude=${JSON.stringify(bad.rule)} is not a pattern (${bad.why}): ${fix}`
  }
  return undefined
}

function targetError(config: StrataConfig, layer: LayerConfig, placeOf: LayerPlace, names: string[]): string {
  const at = placeOf(layer.name)
  return (
    `${config.file}:${at ? `${at.line}:${at.column}` : '1:1'}: layer "${layer.name}": target ` +
    `${JSON.stringify(layer.target)} names no stage of ${layer.dockerfile}: ` +
    (names.length
      ? `use one of ${names.join(', ')}`
      : 'name a stage with FROM <image> AS <name>, or remove `target`')
  )
}

/** A build-arg that would replace the image Strata passes for a parent layer: silently ignored otherwise. */
function parentArgOverride(
  configFile: string,
  layer: LayerConfig,
  stepArgs: Record<string, string>
): string | undefined {
  for (const p of layer.from) {
    const where = Object.hasOwn(layer.buildArgs, p.buildArg)
      ? `layer "${layer.name}" build-args in ${configFile}`
      : Object.hasOwn(stepArgs, p.buildArg)
        ? 'the step’s build-args (or --build-arg)'
        : undefined
    if (where)
      return (
        `${where} set ${p.buildArg}, the ARG through which Strata passes parent layer "${p.layer}"'s image ` +
        `to layer "${layer.name}": remove ${p.buildArg} from build-args (to build on another image, ` +
        `change the layer's \`from\`)`
      )
  }
  return undefined
}

/**
 * Folders that the walk of the contexts may skip: ignored by the .dockerignore of every layer whose
 * context holds them, with no `!` rule that may reach into them (BuildKit's own walker skips them too).
 */
export function pruneFor(layers: readonly PreparedLayer[]): (relDir: string) => boolean {
  return relDir => {
    let holders = 0
    for (const l of layers) {
      const ctx = l.inputs.context
      // A folder that holds another layer's context is walked: that layer reads below it.
      if (ctx === relDir || ctx.startsWith(`${relDir}/`)) return false
      const rel =
        ctx === '' ? relDir : relDir.startsWith(`${ctx}/`) ? relDir.slice(ctx.length + 1) : undefined
      if (rel === undefined) continue
      holders++
      if (!l.inputs.ignored(rel) || l.inputs.reincludable(rel)) return false
      // A folder that holds the Dockerfile or .dockerignore is walked: they are inputs either way.
      if (l.inputs.dockerfile.startsWith(`${relDir}/`) || l.inputs.dockerignore.startsWith(`${relDir}/`))
        return false
    }
    return holders > 0
  }
}

export interface LayerReads {
  /** Per layer, its inputs compiled (for decide()). */
  inputs: Record<string, LayerInputs>
  /** Per layer, input file → what made it an input (Dockerfile line, or `paths` pattern). */
  files: Record<string, Map<string, string>>
  /** Per layer, the images it reads that are not layers (`scratch` left out; the `# syntax=` frontend in). */
  externals: Record<string, ImageUse[]>
  /** Per layer, the external images a needed stage is built FROM (their ONBUILD runs in its build). */
  bases: Record<string, string[]>
  /** Per layer, its folders, followed links, modes set by --chmod, and what makes it unknowable (SPEC 4a). */
  entries: Record<string, InputEntries>
  /** Per layer, the names its Dockerfile's ARGs declare. */
  declared: Record<string, string[]>
  /** Per layer, SPEC 7a: what the assembler needs, or why BuildKit builds it. */
  assembly: Record<string, Eligibility>
  /** Per layer, what the build needs of its Dockerfile (its FROM count and text), where it was read. */
  dockerfiles?: Record<string, DockerfileFacts>
  errors: string[]
  warnings: string[]
}

/**
 * Resolves every prepared layer against `files` (what is on disk in the contexts) and checks it;
 * `tracked` (the files at head) is what the `paths` patterns are checked against.
 */
export function checkLayers(
  config: StrataConfig,
  prepared: Prepared,
  files: readonly string[],
  tracked: readonly string[] = files,
  tree: InputTree = { files, folders: [], links: {}, git: [] }
): LayerReads {
  const out: LayerReads = {
    inputs: {},
    files: {},
    externals: {},
    bases: {},
    entries: {},
    declared: {},
    assembly: {},
    errors: [...prepared.errors],
    warnings: []
  }
  const parents = parentLayers(config.layers)
  const byName = new Map(prepared.layers.map(p => [p.layer.name, p]))
  for (const p of prepared.layers) {
    const unmatched = readOne(p, files, tracked, tree, out)
    checkOne(config, p, unmatched, tracked, out)
    const { layer, parsed, stages } = p
    const parent = layer.from.length === 1 ? byName.get(layer.from[0].layer) : undefined
    out.assembly[layer.name] = assemblyOf({
      layer,
      parsed,
      stages,
      buildArgs: p.buildArgs,
      reincludes: p.reincludes,
      parentOnbuild: (parent?.stages ?? []).some(s => s.instructions.some(i => i.keyword === 'ONBUILD')),
      parentStages: parent?.stages
    })
    // `assemble: off` says the layer is built by BuildKit on purpose: the hint is not wanted there.
    if (!parents.has(layer.name) && layer.from.length > 0 && layer.assemble !== 'off') {
      const warning = unlinkedWarning(p)
      if (warning) out.warnings.push(warning)
    }
  }
  return out
}

/** One layer's inputs, files, externals and entries into `out`; the sources that match nothing. */
function readOne(
  p: PreparedLayer,
  files: readonly string[],
  tracked: readonly string[],
  tree: InputTree,
  out: LayerReads
): ResolvedInputs['unmatched'] {
  const { layer, parsed, inputs } = p
  out.inputs[layer.name] = inputs
  const resolved: ResolvedInputs = resolveInputs(inputs, files)
  // A file named through a link to a folder (`COPY linkdir/a.txt`): the links and the file are read.
  const linked = linkedSources(inputs, resolved.unmatched, tree)
  const found = new Map(resolved.files)
  for (const [rule, paths] of linked) for (const f of paths) if (!found.has(f)) found.set(f, rule.reason)
  const unknowable = [...new Set(p.allStages.flatMap(s => s.unknowable))]
  // Another frontend may read anything from the context: nothing derived from the file can say what.
  if (parsed.syntax && !DOCKER_FRONTEND.test(parsed.syntax))
    unknowable.push(`# syntax=${parsed.syntax} is not Docker's Dockerfile frontend`)
  const entries = inputEntries(inputs, found, tree, unknowable)
  out.entries[layer.name] = entries
  out.declared[layer.name] = p.declared
  out.warnings.push(...entries.warnings)
  const read = entries.extra.size || linked.size ? sortedMap([...found, ...entries.extra]) : found
  out.files[layer.name] = withPaths(layer, read, tracked)
  out.externals[layer.name] = uniqueImages([
    ...(parsed.frontend ? [parsed.frontend] : []),
    ...p.allStages.flatMap(s => [...('image' in s.base ? [s.base.image] : []), ...s.images])
  ])
  const bases = p.allStages.flatMap(s => ('image' in s.base ? [s.base.image] : []))
  out.bases[layer.name] = uniqueImages(bases).map(u => u.image)
  return resolved.unmatched.filter(r => !linked.has(r))
}

function sortedMap(entries: [string, string][]): Map<string, string> {
  return new Map(entries.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
}

/** External images, each once (first use kept), `scratch` and layers left out. */
function uniqueImages(uses: ImageUse[]): ImageUse[] {
  const seen = new Set<string>()
  return uses.filter(u => {
    if (u.layer !== undefined || u.image.toLowerCase() === 'scratch' || seen.has(u.image)) return false
    seen.add(u.image)
    return true
  })
}

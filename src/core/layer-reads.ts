// SPEC 3a for a whole config: each layer's Dockerfile parsed with its build args, its inputs compiled,
// then resolved against the workspace's files, with the checks that run before anything else. Pure:
// the texts and file lists come from the workspace adapter.
import { compilePatterns, matchPath } from './patterns.js'
import { DockerfileError, neededStages, parseDockerfile, rootOf } from './dockerfile.js'
import type { ImageUse, ParsedDockerfile, Stage } from './dockerfile.js'
import { layerInputs, resolveInputs } from './derived-inputs.js'
import type { IgnoreMatchers, LayerInputs, ResolvedInputs } from './derived-inputs.js'
import { assemblyOf, type Eligibility } from './assemble.js'
import { parentLayers } from './tags.js'
import type { LayerConfig, StrataConfig } from './types.js'

/** What the workspace holds for one layer. */
export interface LayerTexts {
  /** The Dockerfile's text; undefined when it cannot be read (the config loader says so first). */
  dockerfile?: string
  /** The .dockerignore in use (`<Dockerfile>.dockerignore` when it exists, else `<context>/.dockerignore`). */
  dockerignore: { path: string; text?: string }
}

export interface PreparedLayer {
  layer: LayerConfig
  parsed: ParsedDockerfile
  stages: Stage[]
  inputs: LayerInputs
  /** The .dockerignore has `!` exceptions (a folder it ignores may still hold files BuildKit sends). */
  reincludes: boolean
  /** The build args the Dockerfile was read with (the layer's, then the step's). */
  buildArgs: Record<string, string>
}

export interface Prepared {
  layers: PreparedLayer[]
  errors: string[]
}

/** Where the config names a layer, for errors about its keys (`target`). */
export type LayerPlace = (layer: string) => { line: number; column: number } | undefined

/** Parses every layer's Dockerfile with its build args (the layer's, then the step's) and compiles its inputs. */
export function prepareLayers(
  config: StrataConfig,
  texts: Record<string, LayerTexts>,
  stepArgs: Record<string, string>,
  placeOf: LayerPlace = () => undefined
): Prepared {
  const layers: PreparedLayer[] = []
  const errors: string[] = []
  const matchers: IgnoreMatchers = new Map()
  for (const layer of config.layers) {
    const t = texts[layer.name]
    if (t?.dockerfile === undefined) continue
    const layerArgs = Object.fromEntries(layer.from.map(p => [p.buildArg, p.layer]))
    const overridden = parentArgOverride(config.file, layer, stepArgs)
    if (overridden) {
      errors.push(overridden)
      continue
    }
    let parsed: ParsedDockerfile
    const buildArgs = { ...layer.buildArgs, ...stepArgs }
    try {
      parsed = parseDockerfile(t.dockerfile, layer.dockerfile, {
        buildArgs,
        layerArgs,
        platform: layer.platforms[0]
      })
    } catch (e) {
      if (!(e instanceof DockerfileError)) throw e
      errors.push(e.message)
      continue
    }
    const stages = neededStages(parsed, layer.target)
    if (!stages) {
      const at = placeOf(layer.name)
      const names = parsed.stages.filter(s => s.name).map(s => s.name)
      errors.push(
        `${config.file}:${at ? `${at.line}:${at.column}` : '1:1'}: layer "${layer.name}": target ` +
          `${JSON.stringify(layer.target)} names no stage of ${layer.dockerfile}: ` +
          (names.length
            ? `use one of ${names.join(', ')}`
            : 'name a stage with FROM <image> AS <name>, or remove `target`')
      )
      continue
    }
    const inputs = layerInputs({
      layer: layer.name,
      dockerfile: layer.dockerfile,
      context: layer.context,
      parsed,
      stages,
      dockerignore: t.dockerignore,
      matchers
    })
    const reincludes = (t.dockerignore.text ?? '').split(/\r?\n/).some(l => l.trim().startsWith('!'))
    layers.push({ layer, parsed, stages, inputs, reincludes, buildArgs })
  }
  return { layers, errors }
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
 * context holds them, none of which re-includes anything (BuildKit's own walker skips them too).
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
      if (l.reincludes || !l.inputs.ignored(rel)) return false
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
  /** Per layer, the images it reads that are not layers (`scratch` left out). */
  externals: Record<string, ImageUse[]>
  /** Per layer, SPEC 7a: what the assembler needs, or why BuildKit builds it. */
  assembly: Record<string, Eligibility>
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
  tracked: readonly string[] = files
): LayerReads {
  const out: LayerReads = {
    inputs: {},
    files: {},
    externals: {},
    assembly: {},
    errors: [...prepared.errors],
    warnings: []
  }
  const parents = parentLayers(config.layers)
  const byName = new Map(prepared.layers.map(p => [p.layer.name, p]))
  for (const p of prepared.layers) {
    const { layer, parsed, stages, inputs } = p
    out.inputs[layer.name] = inputs
    const resolved: ResolvedInputs = resolveInputs(inputs, files)
    out.files[layer.name] = withPaths(layer, resolved.files, tracked)
    out.externals[layer.name] = stages
      .flatMap(s => [...('image' in s.base ? [s.base.image] : []), ...s.images])
      .filter(u => u.layer === undefined && u.image.toLowerCase() !== 'scratch')

    const target = stages[stages.length - 1]
    const root = target ? rootOf(parsed, target) : undefined
    for (const parent of layer.from) {
      if (stages.some(s => s.fromArgs.includes(parent.buildArg)) || !root) continue
      out.errors.push(parentNotWired(config.file, layer, parent, root))
    }
    for (const rule of resolved.unmatched) {
      const s = rule.source
      const where = `${layer.dockerfile}:${s.line}:${s.column}`
      const what = `${s.keyword} ${s.source || '.'} matches no file of the build context "${layer.context}"`
      if (/[*?[]/.test(s.source)) {
        out.warnings.push(`${where}: ${what}: BuildKit copies nothing for it; fix the pattern or remove it`)
      } else {
        out.errors.push(
          `${where}: ${what} (after ${inputs.dockerignore}): add the file (a generated one must exist before Strata runs), fix the path, or stop ignoring it in ${inputs.dockerignore}`
        )
      }
    }
    out.warnings.push(...pathsWarnings(config, layer, tracked))
    const parent = layer.from.length === 1 ? byName.get(layer.from[0].layer) : undefined
    out.assembly[layer.name] = assemblyOf({
      layer,
      parsed,
      stages,
      buildArgs: p.buildArgs,
      reincludes: p.reincludes,
      parentOnbuild: (parent?.stages ?? []).some(s => s.instructions.some(i => i.keyword === 'ONBUILD'))
    })
    if (parsed.syntax && !DOCKER_FRONTEND.test(parsed.syntax)) {
      out.warnings.push(
        `${layer.dockerfile}:1:1: # syntax=${parsed.syntax} is not Docker's Dockerfile frontend: it may read ` +
          `the file its own way, so the inputs Strata derived for layer "${layer.name}" may be wrong; list them in \`paths\``
      )
    }
    if (!parents.has(layer.name) && layer.from.length > 0) {
      // A COPY after a RUN needs the parent's layers anyway: --link cannot help there.
      const unlinked = stages
        .filter(s => builtOnLayer(parsed, s))
        .flatMap(s => s.unlinked.filter(u => s.firstRun === undefined || u.line < s.firstRun))
      if (unlinked.length) {
        const u = unlinked[0]
        const more = unlinked.length > 1 ? ` (and ${unlinked.length - 1} more)` : ''
        out.warnings.push(
          `${layer.dockerfile}:${u.line}:${u.column}: leaf layer "${layer.name}" has ${u.keyword} without --link${more}: ` +
            `building it pulls its parents; write ${u.keyword} --link`
        )
      }
    }
  }
  return out
}

// Docker's own frontends: docker/dockerfile[:tag] and docker/dockerfile-upstream, on Docker Hub.
const DOCKER_FRONTEND =
  /^(?:(?:docker\.io\/)?docker\/dockerfile(?:-upstream)?)(?::[\w.-]+)?(?:@sha256:[0-9a-f]{64})?$/

/**
 * A child whose FROM does not use its parent's build-arg. When the FROM already takes an image from
 * some other ARG, the cheapest fix is one line of config (the map form of `from`), not the Dockerfile.
 */
function parentNotWired(
  configFile: string,
  layer: LayerConfig,
  parent: LayerConfig['from'][number],
  root: Stage
): string {
  const others = new Set(layer.from.map(p => p.buildArg))
  const arg = root.fromArgs.find(a => !others.has(a))
  const at = `${layer.dockerfile}:${root.line}:${root.column}: FROM ${root.fromText} does not use ARG ${parent.buildArg}, so layer "${layer.name}" is not built on layer "${parent.layer}": `
  const edit = `write ARG ${parent.buildArg} before it and FROM \${${parent.buildArg}}`
  return arg
    ? `${at}it takes its parent from ARG ${arg}: write \`from: {${parent.layer}: ${arg}}\` for layer "${layer.name}" in ${configFile} (or ${edit})`
    : `${at}${edit}`
}

function builtOnLayer(parsed: ParsedDockerfile, stage: Stage): boolean {
  const root = rootOf(parsed, stage)
  return 'image' in root.base && root.base.image.layer !== undefined
}

/** Adds the files the layer's `paths` match (after the Dockerfile's own reasons), sorted. */
function withPaths(
  layer: LayerConfig,
  derived: Map<string, string>,
  tracked: readonly string[]
): Map<string, string> {
  if (layer.paths.length === 0) return derived
  const compiled = compilePatterns(layer.paths)
  const all = new Map(derived)
  for (const f of tracked) {
    if (all.has(f)) continue
    const pattern = matchPath(compiled, f)
    if (pattern !== undefined) all.set(f, pattern)
  }
  return new Map([...all].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
}

/** A positive `paths` pattern that matches no tracked file is likely a typo. */
function pathsWarnings(config: StrataConfig, layer: LayerConfig, tracked: readonly string[]): string[] {
  const out: string[] = []
  for (const pattern of layer.paths) {
    if (pattern.startsWith('!')) continue
    let compiled
    try {
      compiled = compilePatterns([pattern])
    } catch {
      continue // decide() reports a bad pattern
    }
    if (tracked.some(f => matchPath(compiled, f) !== undefined)) continue
    const guess = pattern.replace(/\*\*(?=[^/])/g, '**/*')
    const hint = guess !== pattern ? `; did you mean \`${guess}\`?` : '; fix it or remove it'
    out.push(
      `${config.file}: layer "${layer.name}" paths pattern \`${pattern}\` matches no file of the repository${hint}`
    )
  }
  return out
}

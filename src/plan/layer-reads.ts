// Reads what SPEC 3a needs from the workspace (Dockerfiles, .dockerignore files, the files of every
// build context, the files git tracks) and checks the layers before anything else runs.
import type { WorkspaceFiles } from '../adapters/workspace-files.js'
import { parseConfigWithPositions } from '../core/config/index.js'
import { dockerignoreCandidates } from '../core/derived-inputs.js'
import { checkLayers, prepareLayers, pruneFor } from '../core/layer-reads.js'
import type { LayerPlace, LayerReads, LayerTexts, PrepareOptions } from '../core/layer-reads.js'
import { platformsOf } from '../core/buildx-args.js'
import type { StrataConfig } from '../core/types.js'

export interface ReadOptions extends PrepareOptions {
  /**
   * The builder's platforms, its own first (`docker buildx inspect`): asked only when a Dockerfile
   * reads BUILDPLATFORM and its kin, or a layer without platforms reads TARGETPLATFORM and its kin
   * (it builds for the builder's platform). Absent, or when it fails: this machine's platform.
   */
  builderPlatforms?: () => Promise<string[] | undefined>
}

/** Every layer's inputs, checked; errors are collected, not thrown (see failOnErrors()). */
export async function readLayers(
  config: StrataConfig,
  stepArgs: Record<string, string>,
  files: WorkspaceFiles,
  opts: ReadOptions = {}
): Promise<LayerReads> {
  const texts: Record<string, LayerTexts> = {}
  await Promise.all(
    config.layers.map(async l => {
      const [dockerfile, ...ignores] = await Promise.all([
        files.read(l.dockerfile),
        ...dockerignoreCandidates(l.dockerfile, l.context).map(p => files.read(p))
      ])
      const candidates = dockerignoreCandidates(l.dockerfile, l.context)
      const i = ignores.findIndex(t => t !== undefined)
      texts[l.name] = {
        dockerfile,
        dockerignore: i >= 0 ? { path: candidates[i], text: ignores[i] } : { path: candidates[1] }
      }
    })
  )
  const [places, native]: [LayerPlace, { platform: string; warning?: string }] = await Promise.all([
    layerPlaces(config, files),
    opts.buildPlatform !== undefined
      ? { platform: opts.buildPlatform }
      : buildPlatformFor(config, texts, opts)
  ])
  const prepared = prepareLayers(config, texts, stepArgs, places, {
    platforms: opts.platforms,
    buildPlatform: native.platform
  })
  const prune = pruneFor(prepared.layers)
  const contexts = outermost(prepared.layers.map(l => l.inputs.context))
  // `git ls-files` only for `paths` (checked against the files at head); the Dockerfiles read the disk.
  const needTracked = config.layers.some(l => l.paths.length > 0)
  const [trees, tracked] = await Promise.all([
    Promise.all(contexts.map(c => files.tree(c, prune))),
    needTracked ? files.tracked() : undefined
  ])
  const onDisk = trees.flatMap(t => t.files)
  const tree = {
    files: onDisk,
    folders: trees.flatMap(t => t.folders),
    links: Object.assign({}, ...trees.map(t => t.links)) as Record<string, string>,
    git: trees.flatMap(t => t.git)
  }
  const reads = checkLayers(config, prepared, onDisk, tracked ?? onDisk, tree)
  if (native.warning) reads.warnings.push(native.warning)
  // What the build needs of each Dockerfile, read here once (SPEC 6: more than one FROM makes a
  // mode=max export pay; the text tells whose a step of the session's log is).
  const dockerfiles = Object.fromEntries(
    prepared.layers.map(p => [
      p.layer.name,
      { stages: p.parsed.stages.length, text: texts[p.layer.name].dockerfile ?? '' }
    ])
  )
  return { ...reads, dockerfiles }
}

/**
 * BUILDPLATFORM: the builder's own platform where a Dockerfile reads it (or builds for it), asked
 * of the builder, which may run elsewhere; else, or when it cannot say, this machine's.
 */
async function buildPlatformFor(
  config: StrataConfig,
  texts: Record<string, LayerTexts>,
  opts: ReadOptions
): Promise<{ platform: string; warning?: string }> {
  const reads = config.layers.some(l => {
    const text = texts[l.name]?.dockerfile ?? ''
    const targets = !platformsOf(l, opts.platforms).length && TARGET_ARGS.test(text)
    return BUILD_ARGS.test(text) || targets
  })
  if (!reads || !opts.builderPlatforms) return { platform: builderPlatform() }
  try {
    const own = (await opts.builderPlatforms())?.[0]
    if (own) return { platform: own }
  } catch (e) {
    const why = (e as Error).message.split('\n')[0]
    return { platform: builderPlatform(), warning: `${notSaid} (${why}): ${builderPlatform()} is used` }
  }
  return { platform: builderPlatform(), warning: `${notSaid}: ${builderPlatform()} is used` }
}

const notSaid = "the builder's own platform (BUILDPLATFORM, which a Dockerfile reads) is not known"

const BUILD_ARGS = /\bBUILD(?:PLATFORM|OS|ARCH|VARIANT)\b/
const TARGET_ARGS = /\bTARGET(?:PLATFORM|OS|ARCH|VARIANT)\b/

/** This machine's platform as BuildKit names it: BUILDPLATFORM when the builder runs here. */
export function builderPlatform(): string {
  const arch = ({ x64: 'amd64', arm64: 'arm64', arm: 'arm/v7', ia32: '386' } as Record<string, string>)[
    process.arch
  ]
  return `linux/${arch ?? process.arch}`
}

/** Throws one Error listing every error of the layers (nothing has run yet); warnings are the caller's to log. */
export function failOnErrors(reads: LayerReads): void {
  if (reads.errors.length === 0) return
  const n = reads.errors.length
  throw new Error(
    n === 1 ? reads.errors[0] : `${n} problems in the layers' Dockerfiles:\n${reads.errors.join('\n')}`
  )
}

/** Reads and checks the layers; throws before anything else runs on an error. */
export async function checkedLayerReads(
  config: StrataConfig,
  stepArgs: Record<string, string>,
  files: WorkspaceFiles,
  opts: ReadOptions = {}
): Promise<LayerReads> {
  const reads = await readLayers(config, stepArgs, files, opts)
  failOnErrors(reads)
  return reads
}

/** Where each layer's name is written in the config, for errors about its keys. */
async function layerPlaces(config: StrataConfig, files: WorkspaceFiles) {
  let positions: ReturnType<typeof parseConfigWithPositions>['positions'] | undefined
  try {
    const text = await files.read(config.file)
    if (text !== undefined) positions = parseConfigWithPositions(text, config.file).positions
  } catch {
    positions = undefined // a config outside the repository: errors name line 1
  }
  return (layer: string) => positions?.layers[layer]?.name
}

/** Contexts with the ones inside another left out (the outer walk lists them). */
function outermost(contexts: string[]): string[] {
  const unique = [...new Set(contexts)].sort()
  return unique.filter(c => !unique.some(o => o !== c && (o === '' || c.startsWith(`${o}/`))))
}

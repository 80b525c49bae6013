// The checks SPEC 3a runs on each layer before anything else: its parent wired through a FROM,
// sources that match no file, `paths` typos, a frontend that is not Docker's, and the leaf layer's
// COPY without --link. Pure; core/layer-reads.ts calls them with what it resolved.
import { pathsWarnings } from './paths-inputs.js'
import { rootOf, type ParsedDockerfile, type Stage } from './dockerfile.js'
import type { LayerInputs, ResolvedInputs } from './derived-inputs.js'

/** What the checks read of a prepared layer. */
export interface CheckedLayer {
  layer: LayerConfig
  parsed: ParsedDockerfile
  stages: Stage[]
  inputs: LayerInputs
}
import type { LayerConfig, StrataConfig } from './types.js'

// Docker's own frontends: docker/dockerfile[:tag] and docker/dockerfile-upstream, on Docker Hub.
export const DOCKER_FRONTEND =
  /^(?:(?:docker\.io\/)?docker\/dockerfile(?:-upstream)?)(?::[\w.-]+)?(?:@sha256:[0-9a-f]{64})?$/

/** One layer's errors and warnings: its parent wiring, sources that match nothing, `paths`, the frontend. */
export function checkOne(
  config: StrataConfig,
  p: CheckedLayer,
  unmatched: ResolvedInputs['unmatched'],
  tracked: readonly string[],
  out: { errors: string[]; warnings: string[] }
): void {
  const { layer, parsed, stages, inputs } = p
  const target = stages[stages.length - 1]
  const root = target ? rootOf(parsed, target) : undefined
  for (const parent of layer.from) {
    if (stages.some(s => s.fromArgs.includes(parent.buildArg)) || !root) continue
    out.errors.push(parentNotWired(config.file, layer, parent, root))
  }
  for (const rule of unmatched) {
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
  if (parsed.syntax && !DOCKER_FRONTEND.test(parsed.syntax)) {
    out.warnings.push(
      `${layer.dockerfile}:1:1: # syntax=${parsed.syntax} is not Docker's Dockerfile frontend: it may read ` +
        `the file its own way, so the inputs Strata derived for layer "${layer.name}" may be wrong; list them in \`paths\``
    )
  }
}

/** A leaf layer's COPY/ADD without --link before its first RUN (after a RUN, --link cannot help). */
export function unlinkedWarning(p: CheckedLayer): string | undefined {
  const { layer, parsed, stages } = p
  const unlinked = stages
    .filter(s => builtOnLayer(parsed, s))
    .flatMap(s => s.unlinked.filter(u => s.firstRun === undefined || u.line < s.firstRun))
  if (!unlinked.length) return undefined
  const u = unlinked[0]
  const more = unlinked.length > 1 ? ` (and ${unlinked.length - 1} more)` : ''
  return (
    `${layer.dockerfile}:${u.line}:${u.column}: leaf layer "${layer.name}" has ${u.keyword} without --link${more}: ` +
    `building it pulls its parents; write ${u.keyword} --link`
  )
}

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

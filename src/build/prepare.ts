// The layers a bake session builds, each prepared from the plan (SPEC 7): its parents (in the session,
// or the image the plan pinned, else what the registry has), its cache flags (logged with why), its
// bake target; its secrets masked. A layer that cannot be prepared fails here, its children skipped.
import { readFile } from 'node:fs/promises'
import { join, resolve } from 'node:path'
import type { BuilderInfo } from '../adapters/buildx.js'
import type { LayerStep, ParentSource, StepSettings } from '../core/build-steps.js'
import { layerStep, linkSessionAncestors } from '../core/build-steps.js'
import { secretEnv } from '../core/buildx-args.js'
import { cacheFlags, ghaAvailability } from '../core/cache-flags.js'
import { mapLimit } from '../core/limit.js'
import type { CacheScope, LayerConfig, LayerDecision, LayerResult, ParentDecision } from '../core/types.js'
import { failed, skipped, type Results } from './results.js'
import type { BuildDeps, BuildOptions, Run } from './types.js'

/** The session's steps, each layer's Dockerfile text (whose a step of the log is), and the layers that failed or were skipped here. */
export interface Prepared {
  steps: LayerStep[]
  texts: Record<string, string>
  results: LayerResult[]
}

/** Each layer's step: parents resolved, cache flags chosen (and logged), secrets masked. A layer that cannot be prepared fails here. */
export async function prepareSteps(
  run: Run,
  toBuild: string[],
  builder: BuilderInfo,
  oci: StepSettings['oci'],
  results: Results
): Promise<Prepared> {
  const { opts, deps } = run
  const workspace = resolve(opts.workspace ?? process.cwd())
  const gha = ghaAvailability(opts.env, builder.buildkitVersion)
  const said = new Set<string>()
  const once = (say: (m: string) => void, m: string): void => {
    if (!said.has(m)) say(m)
    said.add(m)
  }
  const settings: StepSettings = {
    push: opts.push,
    pushByDigest: opts.pushByDigest,
    platforms: opts.platforms,
    buildArgs: opts.buildArgs,
    driver: builder.driver,
    workspace,
    // The docker driver pushes from inside the session once per image (a parent's layers go up again
    // with its child) and pushes each image twice (BuildKit, then the engine: a registry that answers a
    // HEAD while the tag is being written says 500). Stored, then pushed by the engine alone, parents
    // first, each layer goes up once.
    pushAfter: true,
    oci
  }
  const common = { settings, gha, builder, once }
  const dockerfiles = await mapLimit(toBuild, 4, n => dockerfileOf(run, workspace, n))
  const steps: LayerStep[] = []
  const out: LayerResult[] = []
  const texts: Record<string, string> = {}
  const inSession = new Set<string>()
  for (const [i, name] of toBuild.entries()) {
    const l = run.layers.get(name) as LayerConfig
    const lost = parentsOf(run.plan.layers[name]).find(
      p => toBuild.includes(p.layer) && !inSession.has(p.layer)
    )
    if (lost) {
      out.push(skipped(results[name], lost.layer, deps.log))
      continue
    }
    try {
      const dockerfile = dockerfiles[i]
      if (dockerfile instanceof Error) throw dockerfile
      steps.push(await prepareLayer(run, l, dockerfile.stages, inSession, common))
      texts[name] = dockerfile.text
      inSession.add(name)
    } catch (e) {
      out.push(failed(results[name], (e as Error).message))
      deps.log.warning(`${name}: ${(e as Error).message}`)
    }
  }
  return { steps: linkSessionAncestors(steps), texts, results: out }
}

interface Common {
  settings: StepSettings
  gha: { available: boolean; why?: string }
  builder: BuilderInfo
  /** Says a notice or warning once a run. */
  once: (say: (m: string) => void, m: string) => void
}

/** One layer's step: its parents, cache flags (logged with why), target; its secrets masked. Throws what stops it. */
async function prepareLayer(
  run: Run,
  l: LayerConfig,
  stages: number,
  inSession: Set<string>,
  c: Common
): Promise<LayerStep> {
  const { ctx, opts, deps } = run
  const d = run.plan.layers[l.name]
  const parents: Record<string, ParentSource> = {}
  for (const p of parentsOf(d)) {
    parents[p.buildArg] = inSession.has(p.layer)
      ? { layer: p.layer, inSession: true }
      : { layer: p.layer, inSession: false, ref: p.ref ?? (await parentRef(run, p.layer)) }
  }
  const scope = d.cacheScope as CacheScope
  const flags = cacheFlags(
    l,
    {
      branch: scope.branch,
      defaultBranch: scope.defaultBranch,
      pushToDefault: ctx.isDefaultBranch,
      push: opts.push,
      localDir: join(opts.runnerTemp, 'strata-cache', l.name),
      inlineRef: d.stable,
      stableRef: d.stable,
      stages
    },
    {
      ghaAvailable: c.gha.available,
      ghaWhy: c.gha.why,
      canExportCache: c.builder.canExportCache,
      builder: c.builder.name
    }
  )
  flags.notices.forEach(m => c.once(deps.log.notice.bind(deps.log), m))
  flags.warnings.forEach(m => c.once(deps.log.warning.bind(deps.log), m))
  const { versioned, moving } = tagsOf(d)
  const labels = opts.inputLabels?.[l.name]
  const externals = opts.externals?.[l.name]
  const step = layerStep(
    { layer: l, versioned, moving, parents, cache: flags, labels, externals },
    c.settings
  )
  // `why` starts with the exports (`registry mode=max (…)`), or says there is none.
  deps.log.info(`${l.name}: ${flags.to.length ? 'cache export ' : ''}${flags.why}`)
  if (step.output === 'cache') {
    deps.log.warning(
      `${l.name}: built for ${step.platforms.join(', ')} without push: the ${c.builder.driver} driver cannot load ` +
        'several platforms into the local engine, so the result stays in the build cache only ' +
        '(push, or build one platform with the platforms input to get a local image)'
    )
  }
  maskSecrets(l, opts, deps)
  return step
}

/** The plan's versioned and moving tags. */
export function tagsOf(d: LayerDecision): { versioned: string[]; moving: string[] } {
  return { versioned: d.versioned ?? [], moving: d.moving ?? [] }
}

/** The plan's parent edges of a layer (none on a deleted branch's plan, which builds nothing). */
function parentsOf(d: LayerDecision | undefined): readonly ParentDecision[] {
  return d?.parents ?? []
}

/** A parent this session does not build: the plan's pinned ref, else what the registry has. */
export function parentRef(run: Run, name: string): Promise<string> {
  if (!run.refs.has(name)) run.refs.set(name, resolveParent(run, name))
  return run.refs.get(name) as Promise<string>
}

async function resolveParent(run: Run, name: string): Promise<string> {
  const d = run.plan.layers[name]
  if (d && !d.build && d.ref) return d.ref
  // Built by another job of this run: the tag its own step pushes, else the stable tag.
  const candidates = d?.build ? [tagsOf(d).versioned[0], d.stable] : [d?.stable]
  for (const ref of candidates) {
    if (!ref) continue
    if (run.opts.dryRun) return ref
    const info = await run.deps.registry.inspect(ref)
    if (info) return `${ref}@${info.digest}`
  }
  throw new Error(
    `parent layer "${name}" has no image: ${candidates.filter(Boolean).join(' and ')} not found in the registry; ` +
      `build it first (force: ${name}) or let its own job push it`
  )
}

/**
 * What the plan read of the layer's Dockerfile; read here only for a plan made without the plan step's
 * reads (decide() alone: the API, tests).
 */
async function dockerfileOf(
  run: Run,
  workspace: string,
  name: string
): Promise<{ text: string; stages: number } | Error> {
  return run.plan.layers[name].dockerfile ?? readDockerfile(workspace, run.layers.get(name) as LayerConfig)
}

/** The layer's Dockerfile and its `FROM` lines (SPEC 6: more than one makes a mode=max export pay). */
async function readDockerfile(
  workspace: string,
  l: LayerConfig
): Promise<{ text: string; stages: number } | Error> {
  let text: string
  try {
    text = await readFile(join(workspace, l.dockerfile), 'utf8')
  } catch (e) {
    const why = (e as NodeJS.ErrnoException).code === 'ENOENT' ? 'it does not exist' : (e as Error).message
    return new Error(
      `layer "${l.name}": cannot read its Dockerfile ${l.dockerfile}: ${why}; fix \`dockerfile\` in the config`
    )
  }
  const { DockerfileParser } = await import('dockerfile-ast')
  return { text, stages: DockerfileParser.parse(text).getFROMs().length }
}

/** Masks the values of a layer's environment-variable secrets, and says which are not set. */
function maskSecrets(layer: LayerConfig, opts: BuildOptions, deps: BuildDeps): void {
  // On a runner the logger masks (the action's, or the CLI's in a job); a terminal has no log to hide it from.
  const mask = deps.mask ?? deps.log.mask?.bind(deps.log) ?? ((_value: string) => undefined)
  for (const s of layer.secrets) {
    const name = secretEnv(s)
    if (!name) continue
    const value = opts.secretValues?.[name]
    if (value) mask(value)
    else {
      deps.log.warning(
        `${layer.name}: secret ${name} is empty: the environment variable ${name} is not set, so the build gets no ` +
          `such secret (set it on the step: env: ${name}: \${{ secrets.${name} }})`
      )
    }
  }
}

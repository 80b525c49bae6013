// executePlan(): every layer a step builds in one `docker buildx bake` session (SPEC 7), then the
// moving tags, only once every layer succeeded. The pure parts live in core/build-steps.ts (what
// each layer's target is), core/bake.ts (the definition, the command, which target failed) and
// core/progress.ts (the session's output split by target); the session in bake-session.ts;
// promotion in promote.ts.
import * as core from '@actions/core'
import { readFile } from 'node:fs/promises'
import { join, resolve } from 'node:path'
import type { Buildx, BuilderInfo } from '../adapters/buildx.js'
import { pushStored, runSession, skip } from './bake-session.js'
import { splitAssembled } from './assemble-step.js'
import type { LayerStep, ParentSource, StepSettings } from '../core/build-steps.js'
import { layerStep, movesOf } from '../core/build-steps.js'
import { secretEnv } from '../core/buildx-args.js'
import { cacheFlags, ghaAvailability } from '../core/cache-flags.js'
import { mapLimit } from '../core/limit.js'
import { completePlan } from '../core/plan.js'
import { sameInputsRetags } from '../core/same-inputs.js'
import type {
  BuildResult,
  CacheScope,
  EventContext,
  LayerConfig,
  LayerDecision,
  Logger,
  ParentDecision,
  Plan,
  StrataConfig
} from '../core/types.js'
import type { Move, TagSnapshot } from './promote.js'
import { promote, snapshotTags } from './promote.js'
import type { BuildDeps, BuildOptions, Run } from './types.js'

export async function executePlan(
  config: StrataConfig,
  plan: Plan,
  ctx: EventContext,
  opts: BuildOptions,
  deps: BuildDeps
): Promise<BuildResult> {
  // The pipeline's plan is complete already; one made by decide() alone (the API, tests) is completed
  // here by the same function. From here on tags, parents and cache scope are read, never derived.
  const result: BuildResult = { layers: {}, commands: [] }
  const run: Run = {
    config,
    plan: completePlan(plan, config, ctx),
    ctx,
    opts,
    deps,
    result,
    layers: new Map(config.layers.map(l => [l.name, l])),
    refs: new Map(),
    dockerfiles: new Map()
  }
  for (const name of config.order) {
    const d = run.plan.layers[name]
    if (!d) continue
    const status = !d.build ? 'reused' : d.selected ? 'built' : 'not-selected'
    result.layers[name] = { name, status, ref: d.ref, reasons: [...d.reasons] }
  }
  const toBuild = config.order.filter(n => run.plan.layers[n]?.build && run.plan.layers[n].selected)
  // Layers that another step builds: their outputs name the image that step pushes (SPEC 4),
  // looked up side by side with the build.
  const others = config.order.filter(n => result.layers[n]?.status === 'not-selected')
  const otherRefs = others.map(n => parentRef(run, n).catch((e: Error) => e))
  const finish = async (): Promise<BuildResult> => {
    const refs = await Promise.all(otherRefs)
    refs.forEach((ref, i) => {
      if (ref instanceof Error) deps.log.warning(`${others[i]}: ${ref.message}`)
      else result.layers[others[i]].ref = ref
    })
    for (const n of toBuild) {
      const r = result.layers[n]
      if (opts.push && r.status === 'built' && r.digest) (result.pushed ??= {})[n] = [r.digest]
    }
    return result
  }
  // SPEC 4a: a layer reused by its inputs gets its tags at the end of the step, like a built one.
  const reused: Move[] =
    opts.push && !opts.pushByDigest
      ? sameInputsRetags(run.plan.layers).map(r => ({ layer: r.layer, source: r.source, tags: r.targets }))
      : []
  if (toBuild.length === 0) {
    deps.log.info('Nothing to build in this step.')
    await moveTags(
      run,
      [],
      reused,
      snapshot(
        run,
        reused.flatMap(m => m.tags)
      )
    )
    return finish()
  }
  const oci = ociOf(run)
  // SPEC 7a: layers the plan assembles go to the registry (beside the session when their parent is not
  // built in it, else after it); no builder is asked for when nothing is left to bake.
  const assembly = splitAssembled(run, toBuild, oci, n => parentRef(run, n))
  const now = assembly.independent()
  const builder = assembly.baked.length ? await inspect(deps.buildx, opts, deps.log) : undefined
  const steps = builder ? await prepareSteps(run, assembly.baked, builder, oci) : []
  // Each moving tag's digest now, side by side with the build: the way back if a move fails.
  const before = snapshot(run, [
    ...steps.flatMap(s => s.moving),
    ...reused.flatMap(m => m.tags),
    ...assembly.moving
  ])

  if (builder) await runSession(run, steps, builder)
  await pushStored(run, steps)
  const assembled = [...(await now), ...(await assembly.afterSession())]
  const failed = toBuild.filter(n => result.layers[n].status === 'failed')
  if (failed.length) {
    result.failed = failed[0]
    for (const n of failed) deps.log.warning(`Layer ${n} failed: ${result.layers[n].error}`)
    deps.log.warning('No moving tag moved: a layer of this step failed.')
    return finish()
  }
  await moveTags(run, steps, [...reused, ...assembled], before)
  return finish()
}

/** The OCI labels' values for every image of the step (SPEC 7): repository URL, commit, build time. */
function ociOf(run: Run): StepSettings['oci'] {
  const { ctx, opts } = run
  return {
    source: `${opts.env.GITHUB_SERVER_URL ?? 'https://github.com'}/${ctx.owner}/${ctx.repo}`,
    revision: ctx.sha,
    created: ctx.time.toISOString()
  }
}

/** The tags' digests before any move (the way back), asked for side by side with the build. */
function snapshot(run: Run, tags: string[]): Promise<TagSnapshot> | undefined {
  if (!run.opts.push || run.opts.dryRun || tags.length === 0) return undefined
  const p = snapshotTags(run.deps.registry, tags)
  p.catch(() => undefined)
  return p
}

/** Each layer's step: parents resolved, cache flags chosen (and logged), secrets masked. A layer that cannot be prepared fails here. */
async function prepareSteps(
  run: Run,
  toBuild: string[],
  builder: BuilderInfo,
  oci: StepSettings['oci']
): Promise<LayerStep[]> {
  const { opts, deps, result } = run
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
  const inSession = new Set<string>()
  for (const [i, name] of toBuild.entries()) {
    const l = run.layers.get(name) as LayerConfig
    const lost = parentsOf(run.plan.layers[name]).find(
      p => toBuild.includes(p.layer) && !inSession.has(p.layer)
    )
    if (lost) {
      skip(result.layers[name], lost.layer, deps.log)
      continue
    }
    try {
      steps.push(await prepareLayer(run, l, dockerfiles[i], inSession, common))
      inSession.add(name)
    } catch (e) {
      Object.assign(result.layers[name], { status: 'failed', error: (e as Error).message })
      deps.log.warning(`${name}: ${(e as Error).message}`)
    }
  }
  return steps
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
  dockerfile: { text: string; stages: number } | Error,
  inSession: Set<string>,
  c: Common
): Promise<LayerStep> {
  const { ctx, opts, deps } = run
  if (dockerfile instanceof Error) throw dockerfile
  run.dockerfiles.set(l.name, dockerfile.text)
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
      stages: dockerfile.stages
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
function tagsOf(d: LayerDecision): { versioned: string[]; moving: string[] } {
  return { versioned: d.versioned ?? [], moving: d.moving ?? [] }
}

/** The plan's parent edges of a layer (none on a deleted branch's plan, which builds nothing). */
function parentsOf(d: LayerDecision | undefined): readonly ParentDecision[] {
  return d?.parents ?? []
}

/** Every layer built: move the moving tags (all or nothing), or in a dry run say what would move. */
async function moveTags(
  run: Run,
  steps: LayerStep[],
  reused: Move[],
  before?: Promise<TagSnapshot>
): Promise<void> {
  const { opts, deps, result } = run
  const built = Object.fromEntries(steps.map(s => [s.name, result.layers[s.name]]))
  const moves = [...movesOf(steps, built), ...reused]
  if (opts.dryRun) {
    for (const s of steps.filter(s => s.moving.length)) {
      deps.log.info(`Would move ${s.moving.join(', ')} → ${result.layers[s.name].ref ?? s.tags[0]}`)
    }
    for (const m of reused) deps.log.info(`Would move ${m.tags.join(', ')} → ${m.source}`)
    return
  }
  for (const m of moves) deps.log.info(`Moving ${m.tags.join(', ')} → ${m.source}`)
  if (!moves.length) return
  const promotion = await promote(deps.registry, moves, (await before) ?? new Map(), deps.log)
  if (promotion.failed) {
    const { layer, error } = promotion.failed
    const restored = promotion.restored.length ? `; put back: ${promotion.restored.join(', ')}` : ''
    const left = promotion.leftMoved.length ? `; not put back: ${promotion.leftMoved.join(', ')}` : ''
    result.layers[layer].error = `${error}${restored}${left}`
    result.failed ??= layer
    result.promotion = { restored: promotion.restored, leftMoved: promotion.leftMoved }
  }
}

/** A parent this session does not build: the plan's pinned ref, else what the registry has. */
function parentRef(run: Run, name: string): Promise<string> {
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

async function inspect(buildx: Buildx, opts: BuildOptions, log: Logger): Promise<BuilderInfo> {
  try {
    return await buildx.inspectBuilder(opts.builder)
  } catch (e) {
    if (!opts.dryRun) throw e
    log.warning(`${(e as Error).message}; the dry run assumes a builder that can export cache`)
    return { name: opts.builder ?? 'default', driver: 'unknown', canExportCache: true }
  }
}

/** Masks the values of a layer's environment-variable secrets, and says which are not set. */
function maskSecrets(layer: LayerConfig, opts: BuildOptions, deps: BuildDeps): void {
  // On a runner, a masked value never reaches the log; in a terminal there is no log to hide it from.
  const mask =
    deps.mask ??
    deps.log.mask?.bind(deps.log) ??
    ((v: string) => opts.env.GITHUB_ACTIONS === 'true' && core.setSecret(v))
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

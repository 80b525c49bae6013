// The layers of a step that are assembled in the registry (SPEC 7a) instead of built: each once its
// parent's image is known (the plan's pinned ref, or what this step just pushed), side by side. Their
// results, tags and moves are those of a built layer; no docker process runs for them.
import { readFile } from 'node:fs/promises'
import { join, resolve } from 'node:path'
import type { ImageStore } from '../adapters/registry-images.js'
import { assembleLayer } from './assemble.js'
import type { ContextView } from './assemble-tar.js'
import { failed, skipped, type Results } from './results.js'
import type { Run } from './types.js'
import { ASSEMBLED } from '../core/assemble.js'
import type { Assembly } from '../core/assemble.js'
import { imageLabels, type StepSettings } from '../core/build-steps.js'
import { platformsOf } from '../core/buildx-args.js'
import { dockerignoreCandidates } from '../core/derived-inputs.js'
import { compileDockerignore } from '../core/dockerignore.js'
import { mapLimit } from '../core/limit.js'
import type { LayerConfig, LayerResult } from '../core/types.js'
import type { Move } from './promote.js'

export interface AssembleContext {
  images: ImageStore
  assemblies: Record<string, Assembly>
  /** What the OCI labels of every image of the step say (source, revision, created). */
  oci: StepSettings['oci']
  /** A parent's image: the plan's pinned ref, or what the registry has. */
  parentRef: (name: string) => Promise<string>
  /** Every timestamp of the step's assembled layers, asked for once (timeOf). */
  time: () => Promise<Date>
}

export interface AssemblySplit {
  /** The layers the bake session builds. */
  baked: string[]
  /** The moving tags of the assembled layers (their digests are read before anything moves). */
  moving: string[]
  /** Assembles the layers whose parent the session does not build; started beside the session. */
  independent(results: Results): Promise<Assembled>
  /** Assembles the layers whose parent the session built; after it, with the session's results. */
  afterSession(results: Results): Promise<Assembled>
}

/** What assembling some layers did: their results, the moves of those that succeeded, what each pushed. */
export interface Assembled {
  results: LayerResult[]
  moves: Move[]
  /** Per layer, every manifest digest it pushed (per platform, then the index). */
  pushed: Record<string, string[]>
}

/** SPEC 7a: which layers of the step are assembled (the plan says so, and the step can write images). */
export function splitAssembled(
  run: Run,
  toBuild: string[],
  oci: StepSettings['oci'],
  parentRef: (name: string) => Promise<string>
): AssemblySplit {
  const { deps, opts, plan } = run
  const assemblies = deps.images ? (opts.assemblies ?? {}) : {}
  const assembled = toBuild.filter(n => plan.layers[n].assembly === ASSEMBLED && assemblies[n])
  const baked = toBuild.filter(n => !assembled.includes(n))
  const later = assembled.filter(n => baked.includes(assemblies[n].parent))
  let time: Promise<Date> | undefined
  const c: AssembleContext = {
    images: deps.images as ImageStore,
    assemblies,
    oci,
    parentRef,
    time: () => (time ??= timeOf(run))
  }
  return {
    baked,
    moving: opts.pushByDigest ? [] : assembled.flatMap(n => plan.layers[n].moving ?? []),
    independent: results =>
      assembleLayers(
        run,
        assembled.filter(n => !later.includes(n)),
        c,
        results
      ),
    afterSession: results => assembleLayers(run, later, c, results)
  }
}

/** Assembles `names`: their results, and the moving-tag moves of those that succeeded. */
export async function assembleLayers(
  run: Run,
  names: string[],
  c: AssembleContext,
  results: Results
): Promise<Assembled> {
  const each = await mapLimit(names, 4, name => assembleOne(run, name, c, results))
  return {
    results: each.map(e => e.result),
    moves: each.flatMap(e => e.moves),
    pushed: Object.fromEntries(each.flatMap(e => (e.pushed ? [[e.result.name, e.pushed]] : [])))
  }
}

async function assembleOne(
  run: Run,
  name: string,
  c: AssembleContext,
  results: Results
): Promise<{ result: LayerResult; moves: Move[]; pushed?: string[] }> {
  const { opts, deps } = run
  const r = results[name]
  const l = run.layers.get(name) as LayerConfig
  const parent = c.assemblies[name].parent
  const parentResult = results[parent]
  if (parentResult?.status === 'failed' || parentResult?.status === 'skipped') {
    return { result: skipped(r, parent, deps.log), moves: [] }
  }
  const { versioned = [], moving = [] } = run.plan.layers[name]
  const started = Date.now()
  try {
    const parentRef =
      parentResult?.status === 'built' || parentResult?.status === 'assembled'
        ? (parentResult.ref as string)
        : await c.parentRef(parent)
    if (opts.dryRun) {
      deps.log.info(`Would assemble ${name} in the registry on ${parentRef} as ${versioned.join(', ')}`)
      return { result: { ...r, status: 'assembled', ref: versioned[0] }, moves: [] }
    }
    const done = await assembleLayer(
      {
        assembly: c.assemblies[name],
        parent: parentRef,
        image: l.image,
        tags: versioned,
        platforms: platformsOf(l, opts.platforms),
        labels: imageLabels(c.oci, l, opts.inputLabels?.[name]),
        context: await contextOf(run, l),
        time: await c.time()
      },
      c.images
    )
    const figures = { durationMs: Date.now() - started, bytesPulled: 0, bytesPushed: done.bytesPushed }
    const result: LayerResult = { ...r, status: 'assembled', ref: done.ref, digest: done.digest, ...figures }
    deps.log.info(
      `${name}: assembled in the registry as ${done.ref} in ${(figures.durationMs / 1000).toFixed(1)} s ` +
        `(${done.bytesPushed} bytes uploaded, nothing pulled, no docker process)`
    )
    const moves = moving.length ? [{ layer: name, source: done.ref, tags: [...moving] }] : []
    return { result, moves, pushed: done.pushed }
  } catch (e) {
    const error = `not assembled: ${(e as Error).message}`
    deps.log.warning(`${name}: ${error}`)
    return { result: failed(r, error, { durationMs: Date.now() - started }), moves: [] }
  }
}

/** The build context as BuildKit receives it: the folder, less what its .dockerignore leaves out. */
async function contextOf(run: Run, l: LayerConfig): Promise<ContextView> {
  const workspace = resolve(run.opts.workspace ?? process.cwd())
  let text: string | undefined
  for (const candidate of dockerignoreCandidates(l.dockerfile, l.context)) {
    text = await readFile(join(workspace, candidate), 'utf8').catch(() => undefined)
    if (text !== undefined) break
  }
  const matcher = text === undefined ? undefined : compileDockerignore(text)
  return { root: join(workspace, l.context), ignored: rel => matcher?.ignores(rel) ?? false }
}

/** SPEC 7a: SOURCE_DATE_EPOCH when set (reproducible builds), else the head commit's time, else the run's. */
async function timeOf(run: Run): Promise<Date> {
  const epoch = run.opts.env.SOURCE_DATE_EPOCH
  if (epoch && /^\d+$/.test(epoch)) return new Date(Number(epoch) * 1000)
  const committed = run.ctx.sha
    ? await run.deps.git?.commitTime(run.ctx.sha).catch(() => undefined)
    : undefined
  return committed ?? run.ctx.time
}

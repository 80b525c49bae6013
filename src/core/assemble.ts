// SPEC 7a: which layers Strata assembles in the registry instead of building. A layer qualifies when
// its target stage is `FROM <its parent layer>` followed only by `COPY --link` from the build context
// and instructions that change only the image config. Decided from the parsed Dockerfile, pure; the
// reason it does not qualify names the instruction (`RUN at Dockerfile:7`).
import { posix } from 'node:path'
import type { ParsedDockerfile, Stage } from './dockerfile.js'
import type { RawInstruction } from './dockerfile-types.js'
import type { LayerConfig, Plan, StrataConfig } from './types.js'

/** What the assembler needs of an eligible layer: its stage's instructions and the values they may read. */
export interface Assembly {
  layer: string
  /** The parent layer the stage is built FROM. */
  parent: string
  /** The Dockerfile's path, for messages and history. */
  dockerfile: string
  escape: string
  /** Global ARG values (build args applied): a stage's `ARG NAME` without default takes them. */
  globals: Record<string, string>
  /** The layer's and the step's build args. */
  buildArgs: Record<string, string>
  instructions: RawInstruction[]
}

export type Eligibility = { assembly: Assembly } | { why: string }

export interface AssemblyInput {
  layer: LayerConfig
  parsed: ParsedDockerfile
  /** The stages the target needs (neededStages()). */
  stages: Stage[]
  buildArgs: Record<string, string>
  /** The .dockerignore has `!` exceptions. */
  reincludes: boolean
  /** The parent layer's Dockerfile has ONBUILD (its triggers would run in this layer). */
  parentOnbuild: boolean
  /** The stages the parent layer's target needs: the folders its WORKDIRs made exist in its image. */
  parentStages?: Stage[]
}

export const ASSEMBLED = 'assembled'
const CONFIG_ONLY = new Set(['ENV', 'LABEL', 'CMD', 'ENTRYPOINT', 'STOPSIGNAL', 'ARG', 'VOLUME'])
const COPY_FLAGS = new Set(['link', 'chmod', 'chown'])
const HEALTH_FLAGS = new Set(['interval', 'timeout', 'start-period', 'start-interval', 'retries'])
export const NUMERIC_OWNER = /^\d+(:\d+)?$/
export const PORT = /^\d{1,5}(\/(tcp|udp|sctp))?$/i

/** The layer's assembly, or why BuildKit builds it. */
export function assemblyOf(input: AssemblyInput): Eligibility {
  const { layer, parsed, stages } = input
  const where = (line: number): string => `${layer.dockerfile}:${line}`
  if (layer.assemble === 'off') return { why: 'assemble: off' }
  if (layer.from.length !== 1) {
    return { why: layer.from.length ? `${layer.from.length} parent layers` : 'no parent layer' }
  }
  const parent = layer.from[0].layer
  if (parsed.syntax !== undefined) {
    return { why: `# syntax=${parsed.syntax} (the frontend it names decides the build)` }
  }
  if (input.reincludes) return { why: 'the .dockerignore has ! exceptions' }
  if (input.parentOnbuild) return { why: `parent ${parent} has ONBUILD triggers` }
  const target = stages[stages.length - 1]
  const other = stages.find(s => s !== target)
  if (other) return { why: `another stage (FROM at ${where(other.line)}) is needed` }
  if (!('image' in target.base) || target.base.image.layer !== parent || target.base.image.image !== '') {
    return { why: `FROM at ${where(target.line)} is not exactly the parent layer ${parent}` }
  }
  const created = new Set<string>(['/', ...workdirFolders(input.parentStages)])
  for (const ins of target.instructions) {
    const why = problemOf(ins, created)
    if (why) return { why: `${why} at ${where(ins.line)}` }
  }
  return {
    assembly: {
      layer: layer.name,
      parent,
      dockerfile: layer.dockerfile,
      escape: parsed.escape,
      globals: parsed.globals,
      buildArgs: input.buildArgs,
      instructions: target.instructions
    }
  }
}

/** Why one instruction keeps the layer from being assembled (without the place), or undefined. */
function problemOf(ins: RawInstruction, created: Set<string>): string | undefined {
  const k = ins.keyword
  if (CONFIG_ONLY.has(k)) return undefined
  if (k === 'COPY') return copyProblem(ins, created)
  if (k === 'USER') {
    const user = ins.words.join(' ')
    return NUMERIC_OWNER.test(user) ? undefined : `USER ${user} (a name needs the image's /etc/passwd)`
  }
  if (k === 'EXPOSE') {
    const bad = ins.words.find(w => !PORT.test(w))
    return bad === undefined ? undefined : `EXPOSE ${bad} (only single literal ports are assembled)`
  }
  if (k === 'HEALTHCHECK') {
    const sub = ins.words[0]?.toUpperCase()
    const flag = ins.flags.find(
      f =>
        !HEALTH_FLAGS.has(f.name) ||
        f.value === null ||
        (f.name === 'retries' ? !/^\d+$/.test(f.value) : goDuration(f.value) === undefined)
    )
    if (flag) return `HEALTHCHECK --${flag.name}`
    return sub === 'CMD' || sub === 'NONE' ? undefined : 'HEALTHCHECK without CMD or NONE'
  }
  if (k === 'WORKDIR') {
    const path = ins.words.join(' ')
    const clean = posix.normalize(path).replace(/(.)\/+$/, '$1')
    // BuildKit makes the folder on the parent's files (a layer of what it lacked), which Strata does not
    // pull. A folder known to exist (this stage's COPY --link made it, or a WORKDIR of the parent layer's
    // Dockerfile) gets an empty layer, as the equivalence suite shows: that much is assembled.
    if (!path.includes('$') && path.startsWith('/') && created.has(clean)) return undefined
    return `WORKDIR ${path} (BuildKit makes the folder from the parent's files)`
  }
  return k
}

function copyProblem(ins: RawInstruction, created: Set<string>): string | undefined {
  const link = ins.flags.find(f => f.name === 'link')
  if (!link || (link.value !== null && link.value !== 'true')) return 'COPY without --link'
  if (ins.heredoc) return 'COPY <<heredoc'
  for (const f of ins.flags) {
    // Only the labs frontend takes --exclude, named by `# syntax=` (an image BuildKit fetches).
    if (f.name === 'exclude')
      return "COPY --exclude (BuildKit 0.13's own Dockerfile frontend does not take it)"
    if (!COPY_FLAGS.has(f.name)) return `COPY --${f.name}`
    // BuildKit 0.13 writes the folders of a COPY --link --chmod as the parent's files have them (the
    // equivalence suite proves it on two parents), which Strata does not pull.
    if (f.name === 'chmod')
      return `COPY --chmod=${f.value ?? ''} (BuildKit makes its folders from the parent's files)`
    if (f.name === 'chown' && !NUMERIC_OWNER.test(f.value ?? '')) {
      return `COPY --chown=${f.value ?? ''} (a name needs the image's /etc/passwd)`
    }
  }
  const words = ins.json ?? ins.words
  const dest = words[words.length - 1] ?? ''
  // Folders this copy certainly makes: the destination's parents, and itself when it ends with `/`.
  if (dest.startsWith('/') && !dest.includes('$')) {
    const dir = dest.endsWith('/') || words.length > 2 ? dest : posix.dirname(dest)
    for (let d = posix.normalize(dir).replace(/(.)\/+$/, '$1'); d !== '/'; d = posix.dirname(d))
      created.add(d)
  }
  return undefined
}

/** Folders (and their parents) that the absolute, literal WORKDIRs of the parent layer's target stage made. */
function workdirFolders(stages: Stage[] | undefined): string[] {
  const target = stages?.[stages.length - 1]
  const out: string[] = []
  for (const ins of target?.instructions ?? []) {
    const path = ins.words.join(' ')
    if (ins.keyword !== 'WORKDIR' || path.includes('$') || !path.startsWith('/')) continue
    for (let d = posix.normalize(path).replace(/(.)\/+$/, '$1'); d !== '/'; d = posix.dirname(d)) out.push(d)
  }
  return out
}

/** The plan with each building layer's path (SPEC 7a): `assembled`, or why BuildKit builds it. */
export function withAssembly(
  plan: Plan,
  config: StrataConfig,
  eligibility: Record<string, Eligibility>,
  opts: { push: boolean; pushByDigest?: boolean }
): Plan {
  const layers: Plan['layers'] = {}
  const building = new Set(
    Object.keys(plan.layers).filter(n => plan.layers[n].build && plan.layers[n].selected)
  )
  for (const [name, d] of Object.entries(plan.layers)) {
    if (!d.build) {
      layers[name] = d
      continue
    }
    // A child built in this step starts from its parent inside the session: the parent is built there too.
    const child = config.layers.find(l => building.has(l.name) && l.from.some(p => p.layer === name))
    const e = eligibility[name]
    const assembly = !e
      ? 'its Dockerfile was not read'
      : 'why' in e
        ? e.why
        : !opts.push
          ? 'no push (an assembled layer lives in the registry)'
          : opts.pushByDigest
            ? 'one platform pushed by digest'
            : child
              ? `its child ${child.name} builds in this step`
              : ASSEMBLED
    layers[name] = { ...d, assembly }
  }
  return { ...plan, layers }
}

const UNITS: Record<string, number> = { ns: 1, us: 1e3, µs: 1e3, ms: 1e6, s: 1e9, m: 60e9, h: 3600e9 }

/** Go's time.ParseDuration for the forms a Dockerfile uses (`30s`, `1m30s`, `500ms`), in nanoseconds. */
export function goDuration(text: string): number | undefined {
  const parts = [...text.matchAll(/(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)/g)]
  if (!parts.length || parts.map(p => p[0]).join('') !== text) return undefined
  return Math.round(parts.reduce((n, p) => n + Number(p[1]) * UNITS[p[2]], 0))
}

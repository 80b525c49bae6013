// The plan as JSON and back: SPEC 2's `plan` output (planToJson) and the `plan` input a later step
// follows (parsePlanInput). Symmetric: every field planToJson writes, parsePlanInput reads back
// (__tests__/core/plan-json.test.ts round-trips each one), but two: `assembly`, which the following
// step decides again for its own push (withAssembly), and `unknown`, which no step may follow
// (SPEC 8). Not written at all: `versioned`/`moving` (`tags` is their union; the following step splits
// it by the config's rule, completePlan()) and `dockerfile` (each step reads its own Dockerfiles, and
// outputs stay small). The input is untrusted, so every field is checked; checkPlan() then holds it
// against the config and the event. Pure.
import { sameInputsJson, sameInputsOfPlan } from './same-inputs.js'
import type { CacheScope, LayerDecision, ParentDecision, Plan } from './types.js'

export interface PlanJsonOptions {
  /** Keep at most this many matches per layer (outputs stay small); the full list belongs in `plan-file`. */
  maxMatches?: number
}

/** SPEC 2's `plan` output: `{"layers":{…},"changes":{…},"base","head","event"}`, layers in topological order. */
export function planToJson(plan: Plan, opts: PlanJsonOptions = {}): object {
  const layers: Record<string, object> = {}
  for (const [name, d] of Object.entries(plan.layers)) {
    const matches = opts.maxMatches === undefined ? d.matches : d.matches.slice(0, opts.maxMatches)
    layers[name] = {
      build: d.build,
      reasons: d.reasons,
      tags: d.tags,
      ...(d.ref !== undefined && { ref: d.ref }),
      ...(d.stable !== undefined && { stable: d.stable }),
      // SPEC 2 / 4a: the input digest where known at plan time; `same-inputs` on a reused-by-inputs layer.
      ...(d.inputs !== undefined && { inputs: d.inputs }),
      ...(d.inputTag !== undefined && { 'input-tag': d.inputTag }),
      ...sameInputsJson(d),
      ...(d.noDigest !== undefined && { 'no-digest': d.noDigest }),
      ...(d.notReused !== undefined && { 'not-reused': d.notReused }),
      ...(d.assembly !== undefined && { assembly: d.assembly }),
      ...(d.unknown && { unknown: true }),
      ...(d.parents && { parents: d.parents.map(parentJson) }),
      ...(d.cacheScope && {
        'cache-scope': { branch: d.cacheScope.branch, 'default-branch': d.cacheScope.defaultBranch }
      }),
      matches: matches.map(m => ({ path: m.path, pattern: m.pattern }))
    }
  }
  return {
    layers,
    changes: { source: plan.changes.source, count: plan.changes.count },
    ...(plan.base !== undefined && { base: plan.base }),
    ...(plan.head !== undefined && { head: plan.head }),
    event: plan.event,
    ...(plan.deleted && { deleted: true }),
    ...(plan.externals && Object.keys(plan.externals).length > 0 && { externals: { ...plan.externals } })
  }
}

function parentJson(p: ParentDecision): object {
  return { layer: p.layer, 'build-arg': p.buildArg, ...(p.ref !== undefined && { ref: p.ref }) }
}

const SOURCES: ReadonlySet<string> = new Set(['api', 'git', 'none', 'unknown'])
const DIGEST = /^sha256:[0-9a-f]{64}$/

type Fail = (why: string) => Error

/** Reads a `plan` input back; every layer is selected until followPlan() says otherwise. */
export function parsePlanInput(json: string): Plan {
  const fail: Fail = why =>
    new Error(
      `the plan input is not a Strata plan: ${why}; pass the \`plan\` output of a \`mode: plan\` step`
    )
  let v: unknown
  try {
    v = JSON.parse(json)
  } catch (e) {
    throw fail(`it is not JSON (${(e as Error).message})`)
  }
  if (!isObject(v)) throw fail('it is not a JSON object')
  if (!isObject(v.layers) || Object.keys(v.layers).length === 0) throw fail('"layers" is missing or empty')
  if (!isObject(v.changes)) throw fail('"changes" is missing')
  const { source, count } = v.changes
  if (typeof source !== 'string' || !SOURCES.has(source))
    throw fail(`"changes.source" is ${JSON.stringify(source)}`)
  if (typeof count !== 'number' || !Number.isInteger(count) || count < 0)
    throw fail('"changes.count" is not a count')
  for (const key of ['base', 'head', 'event'] as const) {
    if (v[key] !== undefined && typeof v[key] !== 'string') throw fail(`"${key}" is not a string`)
  }
  const layers: Record<string, LayerDecision> = {}
  for (const [name, d] of Object.entries(v.layers)) {
    // `__proto__` and other non-names never become keys of `layers`.
    if (!/^[A-Za-z][A-Za-z0-9_-]*$/.test(name)) throw fail(`${JSON.stringify(name)} is not a layer name`)
    layers[name] = parseDecision(d, `layer "${name}"`, fail)
  }
  const plan: Plan = {
    layers,
    changes: { source: source as Plan['changes']['source'], count },
    ...(v.base !== undefined && { base: v.base as string }),
    ...(v.head !== undefined && { head: v.head as string }),
    event: (v.event as string | undefined) ?? ''
  }
  if (v.deleted === true) plan.deleted = true
  const externals = parseExternals(v.externals, fail)
  if (externals) plan.externals = externals
  return plan
}

/** One layer of a `plan` input, selected. */
function parseDecision(d: unknown, at: string, fail: Fail): LayerDecision {
  if (!isObject(d)) throw fail(`${at} is not an object`)
  if (typeof d.build !== 'boolean') throw fail(`${at} has no boolean "build"`)
  if (!isStrings(d.reasons)) throw fail(`${at} "reasons" is not a list of strings`)
  if (!isStrings(d.tags)) throw fail(`${at} "tags" is not a list of strings`)
  for (const key of ['ref', 'stable', 'input-tag', 'no-digest', 'not-reused'] as const) {
    if (d[key] !== undefined && typeof d[key] !== 'string') throw fail(`${at} "${key}" is not a string`)
  }
  if (d.inputs !== undefined && !(isString(d.inputs) && DIGEST.test(d.inputs)))
    throw fail(`${at} "inputs" is not sha256:<64 hex>`)
  const reused = sameInputsOfPlan(d, why => {
    throw fail(`${at} ${why}`)
  })
  // SPEC 8: nothing follows a decision that could not be made.
  if (d.unknown !== undefined)
    throw fail(`${at} is unknown (its registry could not be read); run the plan step again once it can`)
  const matches = d.matches ?? []
  if (
    !Array.isArray(matches) ||
    !matches.every(m => isObject(m) && isString(m.path) && isString(m.pattern))
  ) {
    throw fail(`${at} "matches" is not a list of {path, pattern}`)
  }
  return {
    build: d.build,
    reasons: [...d.reasons],
    matches: matches.map(m => ({ path: m.path as string, pattern: m.pattern as string })),
    tags: [...d.tags],
    ...(d.ref !== undefined && { ref: d.ref as string }),
    ...(d.stable !== undefined && { stable: d.stable as string }),
    ...(d.inputs !== undefined && { inputs: d.inputs as string }),
    ...(d['input-tag'] !== undefined && { inputTag: d['input-tag'] as string }),
    ...reused,
    ...(d['no-digest'] !== undefined && { noDigest: d['no-digest'] as string }),
    ...(d['not-reused'] !== undefined && { notReused: d['not-reused'] as string }),
    ...(d.parents !== undefined && { parents: parseParents(d.parents, at, fail) }),
    ...(d['cache-scope'] !== undefined && { cacheScope: parseCacheScope(d['cache-scope'], at, fail) }),
    selected: true
  }
}

/** `parents` as planToJson() writes it: `[{layer, build-arg, ref?}]`; checkPlan() holds it against the config. */
function parseParents(v: unknown, at: string, fail: Fail): ParentDecision[] {
  const ok = (p: unknown): p is Record<string, unknown> =>
    isObject(p) && isString(p.layer) && isString(p['build-arg']) && (p.ref === undefined || isString(p.ref))
  if (!Array.isArray(v) || !v.every(ok))
    throw fail(`${at} "parents" is not a list of {layer, build-arg, ref}`)
  return v.map(p => ({
    layer: p.layer as string,
    buildArg: p['build-arg'] as string,
    ...(p.ref !== undefined && { ref: p.ref as string })
  }))
}

function parseCacheScope(v: unknown, at: string, fail: Fail): CacheScope {
  if (!isObject(v) || !isString(v.branch) || !isString(v['default-branch']))
    throw fail(`${at} "cache-scope" is not {branch, default-branch}`)
  return { branch: v.branch, defaultBranch: v['default-branch'] }
}

/**
 * `externals` as planToJson() writes it: image → `sha256:<64 hex>`, or '' where the plan step could
 * not resolve it. A platform step labels its images with these digests (SPEC 4a).
 */
function parseExternals(v: unknown, fail: Fail): Record<string, string> | undefined {
  if (v === undefined) return undefined
  if (!isObject(v)) throw fail('"externals" is not an object')
  const out: Record<string, string> = {}
  for (const [image, digest] of Object.entries(v)) {
    // Image names come from Dockerfiles: no space, no control character, no `__proto__` key.
    // eslint-disable-next-line no-control-regex
    if (image === '' || image === '__proto__' || /[\s\u0000-\u001f\u007f]/.test(image))
      throw fail(`"externals" has the image ${JSON.stringify(image.slice(0, 80))}`)
    if (!(isString(digest) && (digest === '' || DIGEST.test(digest))))
      throw fail(`"externals" ${JSON.stringify(image.slice(0, 80))} is not sha256:<64 hex> or ''`)
    out[image] = digest
  }
  return out
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v)
}

function isString(v: unknown): v is string {
  return typeof v === 'string'
}

function isStrings(v: unknown): v is string[] {
  return Array.isArray(v) && v.every(isString)
}

// Tag templates, sanitizing and the default tags of a layer per event (SPEC 5). Tag names only: the
// caller prefixes the layer's repository.
import { createHash } from 'node:crypto'
import type { CacheScope, EventContext, LayerConfig, LayerTags } from './types.js'

export const TAG_VARIABLES = [
  'layer',
  'sha',
  'sha7',
  'branch',
  'pr',
  'version',
  'major',
  'minor',
  'patch',
  'date',
  'timestamp',
  'inputs'
] as const
export type TagVariable = (typeof TAG_VARIABLES)[number]
/** A variable is absent when the event has no value for it ({pr} on a push). */
export type TagVars = Partial<Record<TagVariable, string>>

// A tag made from these is immutable: pushed by the build, never moved.
// {inputs} too: one input digest is one image (SPEC 4a).
const VERSIONED_VARIABLES: TagVariable[] = ['sha', 'sha7', 'version', 'date', 'timestamp', 'inputs']
const MAX_TAG = 128
// Stands for the layer's stable tag in a list of templates; no template can contain NUL.
const STABLE = '\u0000stable'

/** SPEC 5: lower-case, runs outside [a-z0-9_.-] → `-`, no leading `.`/`-`, at most 128 characters. */
export function sanitizeTag(s: string): string {
  const tag = s
    .toLowerCase()
    .replace(/[^a-z0-9_.-]+/g, '-')
    .replace(/^[.-]+/, '')
  if (tag.length <= MAX_TAG) return tag
  // Keep the start readable and the whole unique: two long branches never collide.
  const hash = createHash('sha256').update(tag).digest('hex').slice(0, 7)
  return `${tag.slice(0, 120)}-${hash}`
}

/** SPEC 6: caches are kept per branch (a git tag's run: per tag), with the default branch's as fallback. */
export function cacheScopeOf(ctx: Pick<EventContext, 'branch' | 'tag' | 'defaultBranch'>): CacheScope {
  const defaultBranch = sanitizeTag(ctx.defaultBranch)
  const branch = ctx.branch ? sanitizeTag(ctx.branch) : ctx.tag ? sanitizeTag(ctx.tag) : defaultBranch
  return { branch, defaultBranch }
}

export class TagTemplateError extends Error {
  constructor(message: string) {
    super(message)
    this.name = 'TagTemplateError'
  }
}

/**
 * Replaces every `{name}` of `template` with its value. undefined when a variable it uses has no value
 * for this event (the tag is then skipped); throws on an unknown variable. Does not sanitize.
 */
export function renderTemplate(template: string, vars: TagVars): string | undefined {
  let missing = false
  const out = template.replace(/\{([^{}]*)\}/g, (_m, name: string) => {
    if (!(TAG_VARIABLES as readonly string[]).includes(name))
      throw new TagTemplateError(
        `tag template "${template}" has unknown variable {${name}} (use ${TAG_VARIABLES.map(v => `{${v}}`).join(', ')})`
      )
    const value = vars[name as TagVariable]
    if (value === undefined || value === '') missing = true
    return value ?? ''
  })
  return missing ? undefined : out
}

export interface Semver {
  /** Without the `v` and without build metadata (`v1.2.3+build.5` → `1.2.3`), as docker/metadata-action. */
  version: string
  major: string
  minor: string
  patch: string
  prerelease: boolean
}

/** `v1.2.3`, `1.2.3-rc.1`, `v1.2.3+build.5` → its parts; undefined for any other tag. */
export function parseSemverTag(tag: string): Semver | undefined {
  const m =
    /^[vV]?(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(?:-([0-9A-Za-z.-]+))?(?:\+([0-9A-Za-z.-]+))?$/.exec(tag)
  if (!m) return undefined
  const version = `${m[1]}.${m[2]}.${m[3]}${m[4] ? `-${m[4]}` : ''}`
  return { version, major: m[1], minor: m[2], patch: m[3], prerelease: !!m[4] }
}

function utc(d: Date): { date: string; time: string } {
  const iso = d.toISOString() // 2024-05-01T03:04:05.678Z
  return { date: iso.slice(0, 10).replaceAll('-', ''), time: iso.slice(11, 19).replaceAll(':', '') }
}

/**
 * {branch}: the sanitized branch name, never empty (a branch of only other scripts, `日本`, falls back
 * to {sha7}, SPEC 5) and never one of Strata's own tags: a branch named like a layer with children
 * (`base`, `base-stable`, `base-pr-1`), `cache-…` (the registry cache, SPEC 6), `latest`, `pr-…`
 * (a pull request's tags and retention), `nightly-…`, `sha-…`, any `…-stable` or `…-inputs-…`
 * (stable and input tags, SPEC 4a) or, for a branch, a version (`1`, `1.2`, `1.2.3`) would push
 * over those tags, so it becomes `branch-<name>` (a safe fallback, never an error: anyone may push a
 * branch).
 */
const RESERVED = [/^(cache|latest|pr)(-|$)/, /(^|-)stable$/, /-inputs-/]
// A git tag is its own versioned tag (`2024.01.15`); a branch must not look like one of a release.
const RESERVED_FOR_BRANCHES = [/^(nightly|sha)(-|$)/, /^\d+(\.\d+)?$/, /^\d+\.\d+\.\d+([-.].*)?$/]

export function branchTag(
  branch: string,
  sha7: string,
  parents: ReadonlySet<string> = new Set(),
  prefix: 'branch' | 'tag' = 'branch'
): string {
  const name = sanitizeTag(branch)
  if (name === '') return sha7
  const owned = [...name.matchAll(/-/g)].some(m => parents.has(name.slice(0, m.index)))
  const rules = prefix === 'branch' ? [...RESERVED, ...RESERVED_FOR_BRANCHES] : RESERVED
  const reserved = rules.some(r => r.test(name)) || parents.has(name) || owned
  return reserved ? sanitizeTag(`${prefix}-${name}`) : name
}

/**
 * The template variables of `layer` in `ctx`. {major} {minor} {patch} exist only for a semver tag
 * that is not a pre-release, so that a pre-release never moves `1.2` or `1`. `parents`: the layers
 * with children (their names are reserved, see branchTag), lower-cased as in tags. {inputs} (16 hex
 * of the input digest, SPEC 4a) exists once the digest is known.
 */
export function tagVars(
  layer: Pick<LayerConfig, 'name'>,
  ctx: EventContext,
  parents: ReadonlySet<string> = new Set(),
  inputs?: string
): TagVars {
  const { date, time } = utc(ctx.time)
  const vars: TagVars = {
    layer: layer.name,
    sha: ctx.sha,
    sha7: ctx.sha.slice(0, 7),
    date,
    timestamp: `${date}-${time}`
  }
  if (ctx.branch) vars.branch = branchTag(ctx.branch, vars.sha7 ?? '', parents)
  if (ctx.pr) vars.pr = String(ctx.pr.number)
  if (inputs) vars.inputs = inputs
  const semver = ctx.tag !== undefined && !ctx.pr ? parseSemverTag(ctx.tag) : undefined
  if (semver) {
    vars.version = sanitizeTag(semver.version)
    if (!semver.prerelease)
      Object.assign(vars, { major: semver.major, minor: semver.minor, patch: semver.patch })
  }
  return vars
}

function isVersionedTemplate(template: string): boolean {
  return VERSIONED_VARIABLES.some(v => template.includes(`{${v}}`))
}

/** Default templates of a leaf layer, as [versioned, moving]. STABLE stands for the stable tag. */
function leafDefaults(ctx: EventContext, parents?: ReadonlySet<string>): [string[], string[]] {
  if (ctx.pr) return [['pr-{pr}-{sha7}'], ['pr-{pr}']]
  const versioned: string[] = []
  const moving: string[] = []
  if (ctx.eventName === 'schedule') versioned.push('nightly-{date}')
  if (ctx.tag !== undefined) {
    const semver = parseSemverTag(ctx.tag)
    // Sanitized here, so that a tag name with braces is never read as a template.
    // A git tag of no letter or digit, or named like Strata's own tags, as for {branch}.
    if (!semver) versioned.push(branchTag(ctx.tag, ctx.sha.slice(0, 7), parents, 'tag'))
    else if (semver.prerelease) versioned.push('{version}')
    else {
      versioned.push('{version}')
      moving.push('{major}.{minor}', '{major}', STABLE)
    }
  } else if (ctx.branch !== undefined) {
    versioned.push('{branch}-{sha7}')
    // A merge queue branch is gone once merged: no moving tag for it.
    if (ctx.isDefaultBranch) moving.push(STABLE)
    else if (ctx.eventName !== 'merge_group') moving.push('{branch}')
  } else {
    versioned.push('sha-{sha7}') // a ref that is neither a branch nor a tag
  }
  return [versioned, moving]
}

/** Default templates of a layer with children, as [versioned, moving]. */
function parentDefaults(ctx: EventContext): [string[], string[]] {
  if (ctx.pr) return [['{layer}-pr-{pr}-{sha7}'], []]
  return [['{layer}-{sha7}'], ctx.isDefaultBranch ? [STABLE] : []]
}

/** Layers that another layer builds FROM; every other layer is a leaf, whose tags differ (SPEC 5). */
export function parentLayers(layers: readonly LayerConfig[]): Set<string> {
  return new Set(layers.flatMap(l => l.from.map(p => p.layer)))
}

/**
 * The tags of `layer` in this run (SPEC 5): its `tags` templates, or the defaults of a leaf / a
 * layer with children. Templates with {sha} {sha7} {version} {date} {timestamp} are versioned, the
 * rest moving. The stable tag moves only on the default branch (and, for a leaf, with a release
 * tag as SPEC 5's table says), never on a pull request; custom `tags` get it there too, since later
 * runs reuse it.
 */
export function layerTags(
  layer: LayerConfig,
  ctx: EventContext,
  opts: { isLeaf: boolean; parents?: ReadonlySet<string>; inputs?: string }
): LayerTags {
  const vars = tagVars(layer, ctx, opts.parents && lowerCased(opts.parents), opts.inputs)
  const stableTemplate = layer.stableTag ?? (opts.isLeaf ? 'latest' : '{layer}-stable')
  const stableRaw = renderTemplate(stableTemplate, vars)
  if (stableRaw === undefined)
    throw new TagTemplateError(
      `layer "${layer.name}": stable-tag "${stableTemplate}" uses a variable that has no value on ${ctx.eventName} (use {layer} or {branch})`
    )
  const stable = sanitizeTag(stableRaw)
  if (stable === '')
    throw new TagTemplateError(
      `layer "${layer.name}": stable-tag "${stableTemplate}" gives an empty tag on ${ctx.eventName} (it has no letter or digit once sanitized); use {layer} or letters and digits`
    )

  let versionedT: string[]
  let movingT: string[]
  if (layer.tags) {
    versionedT = layer.tags.filter(isVersionedTemplate)
    movingT = layer.tags.filter(t => !isVersionedTemplate(t))
    if (ctx.isDefaultBranch) movingT.push(STABLE)
  } else {
    ;[versionedT, movingT] = opts.isLeaf
      ? leafDefaults(ctx, opts.parents && lowerCased(opts.parents))
      : parentDefaults(ctx)
  }
  const stableMayMove = ctx.isDefaultBranch || (opts.isLeaf && !layer.tags && movingT.includes(STABLE))

  // A template whose variables have no value here is skipped (SPEC 5); one that renders to nothing
  // is an error, never a silently missing tag.
  const render = (templates: string[]): string[] =>
    templates.flatMap(t => {
      const raw = t === STABLE ? stable : renderTemplate(t, vars)
      if (raw === undefined) return []
      const tag = sanitizeTag(raw)
      if (tag === '')
        throw new TagTemplateError(
          `layer "${layer.name}": tag template "${t}" gives an empty tag on ${ctx.eventName} (${JSON.stringify(raw)} has no letter or digit once sanitized); add letters or {sha7}`
        )
      return [tag]
    })
  const versioned = unique(render(versionedT))
  const moving = unique(render(movingT)).filter(
    t => !versioned.includes(t) && (t !== stable || stableMayMove)
  )
  // The stable tag alone is not what `tags` asked for: a template with no value here is never dropped
  // without a word when it is all the layer has (pr-{pr} on a push to the default branch).
  if (layer.tags && render(layer.tags).length === 0)
    throw new TagTemplateError(
      `layer "${layer.name}": none of its tags (${layer.tags.join(', ')}) has a value on ${ctx.eventName}; add one that always has, e.g. '{layer}-{sha7}'`
    )
  return { versioned, moving, stable }
}

// Each parents set is lower-cased once, not once per layer: thousands of layers stay linear.
const lowered = new WeakMap<ReadonlySet<string>, ReadonlySet<string>>()
function lowerCased(names: ReadonlySet<string>): ReadonlySet<string> {
  let out = lowered.get(names)
  if (!out) lowered.set(names, (out = new Set([...names].map(n => n.toLowerCase()))))
  return out
}

function unique(list: string[]): string[] {
  return [...new Set(list)]
}

// One runner per platform (issue 14), the pure half: which platforms a step builds and on which runner,
// the per-platform digests that the platform jobs hand over, and what the merge puts in the registry.
import { platformsOf } from './buildx-args.js'
import { completePlan } from './plan.js'
import type { EventContext, Plan, PlatformManifest, StrataConfig } from './types.js'

const DIGEST = /^sha256:[0-9a-f]{64}$/
const PLATFORM = /^[a-z0-9]+\/[a-z0-9_]+(\/[a-z0-9]+)?$/
const LAYER = /^[A-Za-z][A-Za-z0-9_-]*$/

/** One platform image that a platform job pushed by digest. */
export interface PlatformDigest {
  /** The layer it belongs to; undefined: the one layer the merge step names. */
  layer?: string
  platform: string
  digest: string
}

function bad(input: string, value: string, fix: string): Error {
  return new Error(`input "${input}" is ${JSON.stringify(value)}: ${fix}`)
}

/**
 * The `digests` input: `<platform>=<digest>` lines (optionally `<layer>:<platform>=<digest>`), or JSON:
 * `{"linux/arm64":"sha256:…"}` or the `digests` output of a platform step, `{"<layer>":{"<platform>":"sha256:…"}}`.
 */
export function parseDigests(text: string): PlatformDigest[] {
  const t = text.trim()
  if (!t) return []
  if (t.startsWith('{')) return digestsFromJson(t)
  const out: PlatformDigest[] = []
  for (const raw of t.split('\n')) {
    const line = raw.trim()
    if (!line || line.startsWith('#')) continue
    const m = /^(?:([^:=\s]+):)?([^=\s]+)=(\S+)$/.exec(line)
    if (!m) throw bad('digests', line, 'each line must be <platform>=<digest>, e.g. linux/arm64=sha256:…')
    out.push(checked({ ...(m[1] !== undefined && { layer: m[1] }), platform: m[2], digest: m[3] }, line))
  }
  return out
}

function digestsFromJson(text: string): PlatformDigest[] {
  let v: unknown
  try {
    v = JSON.parse(text)
  } catch (e) {
    throw bad('digests', text.slice(0, 80), `it is not JSON (${(e as Error).message})`)
  }
  if (!isObject(v)) throw bad('digests', text.slice(0, 80), 'JSON digests must be an object')
  const out: PlatformDigest[] = []
  for (const [key, value] of Object.entries(v)) {
    if (typeof value === 'string') out.push(checked({ platform: key, digest: value }, `${key}=${value}`))
    else if (isObject(value)) {
      for (const [platform, digest] of Object.entries(value)) {
        const line = `${key}:${platform}=${String(digest)}`
        out.push(checked({ layer: key, platform, digest: String(digest) }, line))
      }
    } else throw bad('digests', key, 'each value must be a digest or a map of platform to digest')
  }
  return out
}

function checked(d: PlatformDigest, line: string): PlatformDigest {
  if (d.layer !== undefined && !LAYER.test(d.layer))
    throw bad('digests', line, `"${d.layer}" is not a layer name`)
  if (!PLATFORM.test(d.platform))
    throw bad('digests', line, `"${d.platform}" is not a platform: use os/arch, e.g. linux/arm64`)
  if (!DIGEST.test(d.digest))
    throw bad('digests', line, 'the digest must be sha256: and 64 lower-case hex characters')
  return d
}

/** The `runners` input: `<platform>: <runner label>` lines (`=` also accepted); blank and `#` lines skipped. */
export function parseRunners(text: string): Record<string, string> {
  const out: Record<string, string> = {}
  for (const raw of text.split('\n')) {
    const line = raw.trim()
    if (!line || line.startsWith('#')) continue
    const m = /^([^:=\s]+)\s*[:=]\s*(\S+)$/.exec(line)
    if (!m || !PLATFORM.test(m[1])) {
      throw bad(
        'runners',
        line,
        'each line must be <platform>: <runner label>, e.g. linux/arm64: ubuntu-24.04-arm'
      )
    }
    if (!/^[A-Za-z0-9_.-]+$/.test(m[2])) {
      throw bad('runners', line, `"${m[2]}" is not a runner label: letters, digits, ".", "_" and "-" only`)
    }
    out[m[1]] = m[2]
  }
  return out
}

/** Platforms of the layers this step builds (selected and building), each once, in config order. */
export function buildPlatforms(config: StrataConfig, plan: Plan, override?: string[]): string[] {
  const out = new Set<string>()
  for (const l of config.layers) {
    const d = plan.layers[l.name]
    if (d?.build && d.selected) platformsOf(l, override).forEach(p => out.add(p))
  }
  return [...out]
}

export interface MatrixEntry {
  platform: string
  runner: string
  /** The platform with `/` as `-`: for artifact and job names. */
  slug: string
}

export type PlatformSplit =
  { split: true; matrix: { include: MatrixEntry[] } } | { split: false; why: string }

/**
 * Whether the platforms go to one runner each (issue 14): only with several platforms, a runner for
 * every one of them, and push (the platform images reach the merge through the registry).
 */
export function platformSplit(
  platforms: string[],
  runners: Record<string, string>,
  push: boolean
): PlatformSplit {
  if (Object.keys(runners).length === 0) return { split: false, why: 'no runners given' }
  if (platforms.length < 2) return { split: false, why: `one platform (${platforms[0] ?? 'none'})` }
  if (!push)
    return { split: false, why: 'this run does not push, so platform images cannot reach a merge job' }
  const missing = platforms.filter(p => !(p in runners))
  if (missing.length) {
    return { split: false, why: `no runner for ${missing.join(', ')} in the runners input` }
  }
  const include = platforms.map(platform => ({
    platform,
    runner: runners[platform],
    slug: platform.replace(/\//g, '-')
  }))
  return { split: true, matrix: { include } }
}

/** What the merge does for one layer: one index under the versioned tags, then the moving tags. */
export interface MergeStep {
  layer: string
  manifests: PlatformManifest[]
  /** Full refs `image:tag`; the index is put under these. */
  versioned: string[]
  /** Full refs moved to the index once every layer's index is in place. */
  moving: string[]
}

export interface MergeInput {
  config: StrataConfig
  plan: Plan
  ctx: EventContext
  digests: PlatformDigest[]
  /** The `platforms` input, overriding every layer's platforms. */
  platforms?: string[]
}

/**
 * The merge of every layer this step selects and the plan builds, or every reason it cannot run: a
 * platform without a digest (its job failed or did not run), a digest of a platform the layer does
 * not build, two digests for one platform, a digest of a layer not merged here.
 */
export function planMerge(input: MergeInput): { steps: MergeStep[] } | { errors: string[] } {
  // A plan an earlier Strata wrote carries only `tags`: completed by the one function that does so.
  const plan = completePlan(input.plan, input.config, input.ctx)
  const { config } = input
  const layers = config.layers.filter(l => plan.layers[l.name]?.build && plan.layers[l.name].selected)
  const errors: string[] = []
  if (layers.length === 0) {
    return {
      errors: ['the plan builds none of the layers this step selects (`layers`): there is nothing to merge']
    }
  }
  const names = new Set(layers.map(l => l.name))
  const unnamed = input.digests.filter(d => d.layer === undefined)
  if (unnamed.length && layers.length > 1) {
    errors.push(
      `digests without a layer name, but this step merges ${layers.map(l => l.name).join(', ')}: ` +
        'write each line as <layer>:<platform>=<digest>, or merge one layer per step'
    )
  }
  for (const d of input.digests) {
    if (d.layer !== undefined && !names.has(d.layer)) {
      errors.push(
        `a digest for layer "${d.layer}", which this step does not merge (it merges ${[...names].join(', ')})`
      )
    }
  }
  const steps: MergeStep[] = []
  for (const l of layers) {
    const mine = input.digests.filter(
      d => d.layer === l.name || (d.layer === undefined && layers.length === 1)
    )
    const platforms = platformsOf(l, input.platforms)
    const byPlatform = new Map<string, string>()
    for (const d of mine) {
      const had = byPlatform.get(d.platform)
      if (had && had !== d.digest)
        errors.push(`${l.name}: two digests for ${d.platform}: ${had} and ${d.digest}`)
      byPlatform.set(d.platform, d.digest)
    }
    const extra = [...byPlatform.keys()].filter(p => !platforms.includes(p))
    if (extra.length) {
      errors.push(
        `${l.name}: a digest for ${extra.join(', ')}, which the layer is not built for (${platforms.join(', ')})`
      )
    }
    const missing = platforms.filter(p => !byPlatform.has(p))
    if (missing.length) {
      errors.push(`${l.name}: no digest for ${missing.join(', ')}: its platform job failed or did not run`)
    }
    // The plan's own split (SPEC 7).
    const { versioned = [], moving = [] } = plan.layers[l.name]
    const manifests = platforms
      .filter(p => byPlatform.has(p))
      .map(p => ({ platform: p, digest: byPlatform.get(p)! }))
    steps.push({ layer: l.name, manifests, versioned, moving })
  }
  return errors.length ? { errors } : { steps }
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v)
}

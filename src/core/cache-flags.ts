// --cache-from / --cache-to for one layer (SPEC 6). Pure: the builder's features and the
// runner's cache service come in as data (see ghaAvailability and adapters/buildx.ts).
import type { LayerConfig } from './types.js'

export interface CacheFeatures {
  /** The runner's cache service can serve `type=gha` (see ghaAvailability). */
  ghaAvailable: boolean
  /** Why gha is not available, for the one notice. */
  ghaWhy?: string
  /** The builder can export cache (false: the docker driver without the containerd image store). */
  canExportCache: boolean
  /** Builder name and driver, for the warning when it cannot export cache. */
  builder?: string
}

export interface CacheContext {
  /** Sanitized branch (the PR head branch on pull requests); undefined: the default branch. */
  branch?: string
  /** Sanitized default branch. */
  defaultBranch: string
  /** A push to the default branch: the only case that writes the registry cache. */
  pushToDefault: boolean
  /** Images are pushed in this run. */
  push: boolean
  /** Directory of the `local` cache of this layer (required when the layer lists `local`). */
  localDir?: string
  /** `image:tag` that carries inline cache (the stable tag), read back with `inline`. */
  inlineRef?: string
  /** `image:stable-tag`: the first cache source of every layer (pushed images carry inline cache). */
  stableRef?: string
  /** `FROM` lines of the layer's Dockerfile (more than one: intermediate stages worth a mode=max export). */
  stages?: number
}

export interface CacheFlags {
  from: string[]
  to: string[]
  /** Log once per run (the caller de-duplicates across layers). */
  notices: string[]
  warnings: string[]
  /** The exports that run and why, for the plan log (`inline; no mode=max: …`). */
  why: string
}

export function cacheFlags(layer: LayerConfig, ctx: CacheContext, features: CacheFeatures): CacheFlags {
  const kinds = new Set(layer.cache)
  const out: CacheFlags = { from: [], to: [], notices: [], warnings: [], why: '' }
  const L = layer.name
  const B = ctx.branch || ctx.defaultBranch
  const D = ctx.defaultBranch
  const exportable = features.canExportCache
  // SPEC 6: a mode=max export must hold what the pushed image does not.
  const max = maxExport(layer, ctx)
  const to = (spec: string): void => {
    if (exportable && (max.wanted || !spec.includes('mode=max'))) out.to.push(`${spec},ignore-error=true`)
  }
  // `cache: []` turns every cache off, the stable image's inline cache too.
  const any = layer.cache.length > 0
  if (ctx.stableRef && any) out.from.push(`type=registry,ref=${ctx.stableRef}`)

  if (kinds.has('gha')) {
    if (features.ghaAvailable) {
      for (const scope of B === D ? [B] : [B, D]) out.from.push(`type=gha,scope=${L}-${scope}`)
      to(`type=gha,scope=${L}-${B},mode=max`)
    } else {
      out.notices.push(
        `gha cache left out: ${features.ghaWhy ?? 'the runner cache service is not available'}` +
          (kinds.has('registry') ? '; the registry cache still serves' : '')
      )
    }
  }
  if (kinds.has('registry')) {
    const ref = `${layer.image}:cache-${L}`
    out.from.push(`type=registry,ref=${ref}`)
    if (ctx.push && ctx.pushToDefault) to(`type=registry,ref=${ref},mode=max`)
  }
  if (kinds.has('local')) {
    if (!ctx.localDir) throw new Error(`layer "${L}" lists the local cache but no cache directory was given`)
    out.from.push(`type=local,src=${ctx.localDir}`)
    // buildx appends to a local cache forever; write a fresh copy that replaces the old one.
    to(`type=local,dest=${ctx.localDir}-new,mode=max`)
  }
  // Pushed images carry inline cache: the next run's first cache source is this image.
  const inline = kinds.has('inline') || (any && (!exportable || ctx.push))
  if (inline) {
    const ref = ctx.inlineRef && `type=registry,ref=${ctx.inlineRef}`
    if (ref && !out.from.includes(ref)) out.from.push(ref)
    out.to.unshift('type=inline,ignore-error=true')
  }
  if (!exportable && layer.cache.some(k => k !== 'inline')) {
    out.warnings.push(
      `builder ${features.builder ?? 'default'} uses the docker driver without the containerd image store, ` +
        'which cannot export cache: no --cache-to, inline cache instead. ' +
        'Turn on the containerd image store or use a docker-container builder (docker/setup-buildx-action).'
    )
  }
  const kindsOut = out.to.map(t => /type=(\w+)/.exec(t)?.[1] + (t.includes('mode=max') ? ' mode=max' : ''))
  out.why = `${kindsOut.length ? kindsOut.join(', ') : 'no cache export'} (${max.why})`
  return out
}

/** Whether mode=max exports run, and why, in words for the plan log. */
export function maxExport(layer: LayerConfig, ctx: CacheContext): { wanted: boolean; why: string } {
  if (layer.cacheListed) return { wanted: true, why: 'cache kinds listed in the config' }
  if (!ctx.push) return { wanted: true, why: 'not pushed: no image carries the cache' }
  if ((ctx.stages ?? 1) > 1) {
    return {
      wanted: true,
      why: `multi-stage Dockerfile (${ctx.stages} FROM): mode=max keeps the intermediate stages`
    }
  }
  return {
    wanted: false,
    why: 'single-stage Dockerfile: the pushed image holds its cache inline, no mode=max export'
  }
}

export interface GhaAvailability {
  available: boolean
  why?: string
}

const TRUE = /^(1|true|yes)$/i

/** Whether `type=gha` can work here: the runner's cache service env and, for service v2, BuildKit ≥ 0.20. */
export function ghaAvailability(
  env: Record<string, string | undefined>,
  buildkitVersion?: string
): GhaAvailability {
  if (!env.ACTIONS_RUNTIME_TOKEN) {
    return {
      available: false,
      why: 'ACTIONS_RUNTIME_TOKEN is not set (not running in a GitHub Actions job step)'
    }
  }
  if (TRUE.test(env.ACTIONS_CACHE_SERVICE_V2 ?? '')) {
    if (!env.ACTIONS_RESULTS_URL) {
      return {
        available: false,
        why: 'the runner announces cache service v2 but ACTIONS_RESULTS_URL is not set'
      }
    }
    const v = parseVersion(buildkitVersion)
    if (!v || (v[0] === 0 && v[1] < 20)) {
      const seen = buildkitVersion
        ? `the builder runs BuildKit ${buildkitVersion}`
        : 'the BuildKit version is unknown'
      return {
        available: false,
        why:
          `the runner uses cache service v2 (ACTIONS_CACHE_SERVICE_V2), which needs BuildKit 0.20 or newer; ${seen}. ` +
          'Use docker/setup-buildx-action for a newer BuildKit'
      }
    }
    return { available: true }
  }
  if (!env.ACTIONS_CACHE_URL) {
    return { available: false, why: 'ACTIONS_CACHE_URL is not set (cache service v1)' }
  }
  return { available: true }
}

/** `v0.13.1`, `0.20.0-rc1` → [0, 13, 1]; undefined for a missing or unknown (`v0.0.0+unknown`) version. */
export function parseVersion(v?: string): [number, number, number] | undefined {
  const m = /(\d+)\.(\d+)\.(\d+)/.exec(v ?? '')
  if (!m) return undefined
  const parsed: [number, number, number] = [Number(m[1]), Number(m[2]), Number(m[3])]
  return parsed.every(n => n === 0) ? undefined : parsed
}

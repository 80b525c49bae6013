// Retention (issue 6): which tags and digests of a repository to delete. Pure: the adapters list
// the repository and delete; this file only decides.
//
// A distribution registry deletes by digest (every tag on it goes), and a GHCR package version is
// a digest too, so the last word is per digest: a digest goes only when every tag on it goes.
import type { RetentionConfig, RetentionRule, StrataConfig, TagKind } from './types.js'
import { parentLayers, sanitizeTag } from './tags.js'

/** `other`: a tag outside Strata's tag scheme (a release, a hand-pushed tag): always kept. */
export type RowKind = TagKind | 'other'

/** One image in the repository: a digest, every tag on it, and when it was made. */
export interface RetentionVersion {
  digest: string
  tags: string[]
  /** Image creation (config `created`, or the package version's `created_at`); unknown: never "old". */
  created?: Date
  /** Manifests an index refers to: they live as long as the index does. */
  children?: string[]
}

export type PrState = 'open' | 'closed' | 'merged'

export interface RetentionInput {
  config: StrataConfig
  /** The repository being cleaned (`ghcr.io/acme/sindri`); only layers pushed there own its tags. */
  image: string
  versions: RetentionVersion[]
  /** State of the pull requests met in pr tags; a PR missing here counts as open. */
  prs: Record<number, PrState>
  now: Date
  /** At most this many digests are deleted; the rest wait for a later run. */
  maxDeletions: number
  /**
   * The repository's default branch: a leaf's `{branch}-{sha7}` of another branch is then a `branch`
   * image, the default branch's a `versioned` one. Unknown: every `{branch}-{sha7}` is `versioned`.
   */
  defaultBranch?: string
}

export interface RetentionRow {
  /** undefined: an untagged digest. */
  tag?: string
  digest: string
  kind: RowKind
  /** The layer that owns the tag; '' when none does (untagged, foreign tags). */
  layer: string
  pr?: number
  created?: Date
  action: 'keep' | 'delete'
  /** Why, in words: `pr: PR #12 merged`, `stable tag`, `shares its digest with kept tag base-stable`. */
  rule: string
}

export interface RetentionDecision {
  rows: RetentionRow[]
  /** Digests to delete, oldest first, at most maxDeletions. */
  deletions: string[]
  /** How many digests the cap kept back. */
  capped: number
  warnings: string[]
}

export interface TagClass {
  kind: RowKind
  layer: string
  pr?: number
}

/** The layers pushed to one repository, as the tag scheme needs them. */
export interface TagScheme {
  /** Layers with children, longest name first (prefixed tags). */
  prefixed: string[]
  /** The leaf layer that owns the un-prefixed tags (the last leaf in config order), if any. */
  leaf?: string
  /** Every layer on the repository, in config order. */
  layers: string[]
  /** Each layer's stable tag (`{layer}-stable`, `latest`, or its `stable-tag`, a variable matching anything). */
  stable: { pattern: RegExp; layer: string }[]
  /** The default branch as it appears in tags (sanitized), when known. */
  defaultBranch?: string
}

const KIND_ORDER: RowKind[] = ['stable', 'versioned', 'inputs', 'pr', 'branch', 'cache', 'untagged', 'other']
const DAY_MS = 86_400_000
const SHA7 = '[0-9a-f]{7}'
const RELEASE = /^v?\d+(\.\d+){0,2}([-+][0-9a-z.-]+)?$/
/** SPEC 4a: input tags are kept this many per layer when no rule says otherwise. */
export const DEFAULT_INPUTS_RULE: RetentionRule = { keep: 10 }

const esc = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')
const short = (digest: string): string => digest.replace(/^sha256:/, '').slice(0, 12)

export function tagScheme(config: StrataConfig, image: string, defaultBranch?: string): TagScheme {
  const parents = parentLayers(config.layers)
  const here = config.layers.filter(l => l.image === image)
  const leaves = here.filter(l => !parents.has(l.name))
  const leaf = leaves.length > 0 ? leaves[leaves.length - 1].name : undefined
  // Every layer's, later layers first (the leaf owns `latest`). A variable can render to anything,
  // so it matches anything: a tag that may be a stable tag is never deleted.
  const stable = here
    .map(l => {
      const template = l.stableTag ?? (parents.has(l.name) ? '{layer}-stable' : 'latest')
      const parts = template
        .split(/(\{[a-z0-9]+\})/)
        .map(p => (p === '{layer}' ? esc(l.name) : /^\{[a-z0-9]+\}$/.test(p) ? '.+' : esc(p.toLowerCase())))
      return { pattern: new RegExp(`^${parts.join('')}$`), layer: l.name }
    })
    .reverse()
  const prefixed = here
    .filter(l => parents.has(l.name))
    .map(l => l.name)
    .sort((a, b) => b.length - a.length || a.localeCompare(b))
  const scheme: TagScheme = { prefixed, leaf, layers: here.map(l => l.name), stable }
  if (defaultBranch) scheme.defaultBranch = sanitizeTag(defaultBranch)
  return scheme
}

/** Which kind of tag this is and which layer owns it, by Strata's default tag scheme (SPEC 5). */
export function classifyTag(tag: string, scheme: TagScheme): TagClass {
  const stable = scheme.stable.find(s => s.pattern.test(tag))
  if (stable) return { kind: 'stable', layer: stable.layer }
  if (tag === 'latest') return { kind: 'stable', layer: scheme.leaf ?? '' }
  for (const layer of scheme.layers) if (tag === `cache-${layer}`) return { kind: 'cache', layer }
  for (const layer of scheme.layers)
    if (new RegExp(`^${esc(layer.toLowerCase())}-inputs-[0-9a-f]{16}$`).test(tag))
      return { kind: 'inputs', layer }
  for (const layer of scheme.prefixed) {
    const p = esc(layer)
    const pr = new RegExp(`^${p}-pr-(\\d+)-${SHA7}$`).exec(tag)
    if (pr) return { kind: 'pr', layer, pr: Number(pr[1]) }
    if (new RegExp(`^${p}-${SHA7}$`).test(tag)) return { kind: 'versioned', layer }
  }
  const leaf = scheme.leaf
  if (leaf === undefined) return { kind: 'other', layer: '' }
  const pr = new RegExp(`^pr-(\\d+)(-${SHA7})?$`).exec(tag)
  if (pr) return { kind: 'pr', layer: leaf, pr: Number(pr[1]) }
  if (RELEASE.test(tag)) return { kind: 'other', layer: leaf }
  if (/^nightly-\d{8}$/.test(tag)) return { kind: 'versioned', layer: leaf }
  // `{branch}-{sha7}`: the default branch's images are versions; another branch's are branch images,
  // under the same rule as its moving `{branch}` tag (so `branch: {keep: 10}` reaches them).
  const sha = new RegExp(`^(.+)-${SHA7}$`).exec(tag)
  if (sha) {
    const other = scheme.defaultBranch !== undefined && sha[1] !== scheme.defaultBranch && sha[1] !== 'sha'
    return { kind: other ? 'branch' : 'versioned', layer: leaf }
  }
  // Another layer's tag of a shape Strata does not push: not ours to judge.
  if (scheme.prefixed.some(l => tag.startsWith(`${l}-`))) return { kind: 'other', layer: '' }
  return { kind: 'branch', layer: leaf }
}

/** `keep 3, max-age-days 7, delete-when-closed` */
export function describeRule(rule: RetentionRule): string {
  const parts: string[] = []
  if (rule.keepForever) parts.push('keep-forever')
  if (rule.keep !== undefined) parts.push(`keep ${rule.keep}`)
  if (rule.maxAgeDays !== undefined) parts.push(`max-age-days ${rule.maxAgeDays}`)
  if (rule.deleteWhenClosed) parts.push('delete-when-closed')
  return parts.join(', ') || 'no limit'
}

const EMPTY: RetentionConfig = { minKeep: 0, rules: {}, layers: {} }

/** What every step of one decision reads: the input, its rules and tag scheme, and the rows so far. */
interface Decision {
  input: RetentionInput
  ret: RetentionConfig
  scheme: TagScheme
  byDigest: Map<string, RetentionVersion>
  rows: RetentionRow[]
  /** A digest's creation time; unknown sorts as newest (never "old"). */
  time: (digest: string) => number
  /** Whether a row's digest carries a tag other than an input tag. */
  sharesImage: (r: RetentionRow) => boolean
}

export function decideRetention(input: RetentionInput): RetentionDecision {
  const scheme = tagScheme(input.config, input.image, input.defaultBranch)
  const byDigest = new Map<string, RetentionVersion>()
  for (const v of input.versions) byDigest.set(v.digest, v)
  const rows = rowsOf(input.versions, scheme)
  const withOthers = new Set(rows.filter(r => r.kind !== 'inputs').map(r => r.digest))
  const d: Decision = {
    input,
    ret: input.config.retention ?? EMPTY,
    scheme,
    byDigest,
    rows,
    time: digest => byDigest.get(digest)?.created?.getTime() ?? Number.POSITIVE_INFINITY,
    sharesImage: r => withOthers.has(r.digest)
  }
  applyRules(d)
  holdMinKeep(d)
  inputsFollowTheirImage(d)
  keepWholeDigests(d)
  const cap = applyCap(d)
  sortRows(d)
  return { rows, ...cap }
}

/** 1. Every tag (and every untagged digest) becomes a row with its kind and layer. */
function rowsOf(versions: RetentionVersion[], scheme: TagScheme): RetentionRow[] {
  const rows: RetentionRow[] = []
  for (const v of versions) {
    if (v.tags.length === 0) rows.push(row(v, undefined, { kind: 'untagged', layer: '' }))
    for (const tag of v.tags) rows.push(row(v, tag, classifyTag(tag, scheme)))
  }
  return rows
}

/** 2. Each (layer, kind) group under its rule: a layer's rule for a kind replaces the default one. */
function applyRules(d: Decision): void {
  const groups = new Map<string, RetentionRow[]>()
  for (const r of d.rows) {
    const key = `${r.layer}\0${r.kind}`
    groups.set(key, [...(groups.get(key) ?? []), r])
  }
  for (const group of groups.values()) applyGroupRule(d, group)
}

function applyGroupRule(d: Decision, group: RetentionRow[]): void {
  const { kind, layer } = group[0]
  if (kind === 'stable') {
    for (const r of group) keep(r, 'stable tag: always kept')
    return
  }
  if (kind === 'other') {
    for (const r of group)
      keep(r, r.tag && RELEASE.test(r.tag) ? 'release tag: always kept' : 'not a Strata tag: kept')
    return
  }
  const rule =
    (kind === 'untagged' ? undefined : d.ret.layers[layer]?.[kind]) ??
    d.ret.rules[kind] ??
    (kind === 'inputs' ? DEFAULT_INPUTS_RULE : undefined)
  if (!rule) {
    for (const r of group) keep(r, `${kind}: no rule`)
    return
  }
  if (rule.keepForever) {
    for (const r of group) keep(r, `${kind}: keep-forever`)
    return
  }
  // Newest first by digest: `keep N` counts versions, not the tags on them.
  const digests = [...new Set(group.map(r => r.digest))].sort(
    (a, b) => d.time(b) - d.time(a) || a.localeCompare(b)
  )
  const rank = new Map(digests.map((digest, i) => [digest, i]))
  for (const r of group) {
    if (kind === 'inputs' && d.sharesImage(r)) continue // decided with its image, after min-keep
    const why = deleteReasons(d.input, r, rule, rank.get(r.digest) ?? 0)
    if (why.length > 0) {
      r.action = 'delete'
      r.rule = `${kind}: ${why.join(', ')}`
    } else keep(r, `${kind}: within ${describeRule(rule)}`)
  }
}

/** Why a row's rule deletes it (its age, its pull request, its rank among newer versions); none: kept. */
function deleteReasons(input: RetentionInput, r: RetentionRow, rule: RetentionRule, rank: number): string[] {
  const why: string[] = []
  const created = r.created?.getTime()
  if (
    rule.maxAgeDays !== undefined &&
    created !== undefined &&
    input.now.getTime() - created > rule.maxAgeDays * DAY_MS
  )
    why.push(`older than ${rule.maxAgeDays} days`)
  const state = r.pr === undefined ? undefined : input.prs[r.pr]
  if (rule.deleteWhenClosed && (state === 'closed' || state === 'merged')) why.push(`PR #${r.pr} ${state}`)
  if (rule.keep !== undefined && rank >= rule.keep) why.push(`beyond the newest ${rule.keep}`)
  return why
}

/**
 * 3. min-keep: each layer keeps at least this many versions (digests with a stable or versioned tag);
 * PR, branch and cache images are not versions and never held back by it.
 */
function holdMinKeep(d: Decision): void {
  const { minKeep } = d.ret
  for (const layer of d.scheme.layers) {
    const mine = d.rows.filter(r => r.layer === layer && (r.kind === 'versioned' || r.kind === 'stable'))
    const kept = new Set(mine.filter(r => r.action === 'keep').map(r => r.digest))
    const back = [...new Set(mine.filter(r => !kept.has(r.digest)).map(r => r.digest))]
      .sort((a, b) => d.time(b) - d.time(a) || a.localeCompare(b))
      .slice(0, Math.max(0, minKeep - kept.size))
    for (const r of mine) if (back.includes(r.digest)) keep(r, `min-keep ${minKeep}`)
  }
}

/**
 * 3b. An input tag lives as long as its image (SPEC 4a): on a digest with other tags it is kept exactly
 * when one of them is, so it never keeps an image that the other rules delete, and never goes while a
 * kept tag points to its digest. Only input tags alone on a digest follow their rule.
 */
function inputsFollowTheirImage(d: Decision): void {
  for (const r of d.rows) {
    if (r.kind !== 'inputs' || !d.sharesImage(r)) continue
    const by = d.rows.find(o => o.digest === r.digest && o.kind !== 'inputs' && o.action === 'keep')
    if (by) keep(r, `inputs: its image is kept (${by.tag ?? short(r.digest)})`)
    else {
      r.action = 'delete'
      r.rule = 'inputs: its image goes with its other tags'
    }
  }
}

/** 4. Digest safety: a digest goes only when every tag on it goes; an index keeps its manifests. */
function keepWholeDigests(d: Decision): void {
  const { rows, byDigest } = d
  const keptDigests = new Set(rows.filter(r => r.action === 'keep').map(r => r.digest))
  for (let changed = true; changed;) {
    changed = false
    for (const digest of [...keptDigests]) {
      for (const child of byDigest.get(digest)?.children ?? []) {
        if (keptDigests.has(child) || !byDigest.has(child)) continue
        keptDigests.add(child)
        changed = true
        for (const r of rows) if (r.digest === child) keep(r, `referenced by kept index ${short(digest)}`)
      }
    }
  }
  for (const r of rows) {
    if (r.action === 'delete' && keptDigests.has(r.digest)) {
      const by = rows.find(o => o.digest === r.digest && o.action === 'keep' && o.tag !== undefined)
      keep(r, `shares its digest with kept tag ${by?.tag ?? short(r.digest)} (else ${r.rule})`)
    }
  }
}

/** 5. The cap: oldest first, at most maxDeletions digests a run; the rest are kept, and said so. */
function applyCap(d: Decision): Omit<RetentionDecision, 'rows'> {
  const all = [...new Set(d.rows.filter(r => r.action === 'delete').map(r => r.digest))].sort(
    (a, b) => d.time(a) - d.time(b) || a.localeCompare(b)
  )
  const limit = Math.max(0, d.input.maxDeletions)
  const deletions = all.slice(0, limit)
  const capped = all.length - deletions.length
  const warnings: string[] = []
  if (capped > 0) {
    const over = new Set(all.slice(limit))
    for (const r of d.rows)
      if (over.has(r.digest)) keep(r, `cap: max-deletions ${limit} reached (else ${r.rule})`)
    warnings.push(
      `${d.input.image}: ${all.length} digests are due for deletion but max-deletions is ${limit}: ` +
        `deleting the ${deletions.length} oldest; the other ${capped} wait for a later run (raise max-deletions to delete more at once)`
    )
  }
  return { deletions, capped, warnings }
}

/** The table's order: by layer (config order, unowned last), kind, newest first, tag, digest. */
function sortRows(d: Decision): void {
  const { layers } = d.scheme
  const layerRank = (l: string): number => (l === '' ? layers.length : layers.indexOf(l))
  d.rows.sort(
    (a, b) =>
      layerRank(a.layer) - layerRank(b.layer) ||
      KIND_ORDER.indexOf(a.kind) - KIND_ORDER.indexOf(b.kind) ||
      d.time(b.digest) - d.time(a.digest) ||
      (a.tag ?? '').localeCompare(b.tag ?? '') ||
      a.digest.localeCompare(b.digest)
  )
}

function row(v: RetentionVersion, tag: string | undefined, c: TagClass): RetentionRow {
  const r: RetentionRow = { digest: v.digest, kind: c.kind, layer: c.layer, action: 'keep', rule: '' }
  if (tag !== undefined) r.tag = tag
  if (c.pr !== undefined) r.pr = c.pr
  if (v.created) r.created = v.created
  return r
}

function keep(r: RetentionRow, rule: string): void {
  r.action = 'keep'
  r.rule = rule
}

// The `retention:` section (docs/ARCHITECTURE.md): min-keep, default rules, rules per layer.
import type { Node } from 'yaml'
import { isMap } from 'yaml'
import type { RetentionConfig, RetentionRule, TagKind } from '../types.js'
import { suggest } from './suggest.js'
import { describe, isNull, type Entry, type YamlReader } from './yaml-reader.js'

export const TAG_KINDS: TagKind[] = ['stable', 'versioned', 'inputs', 'pr', 'branch', 'cache', 'untagged']
const RETENTION_KEYS = ['min-keep', 'default', 'layers']
const RULE_KEYS = ['keep', 'max-age-days', 'delete-when-closed', 'keep-forever']
// Used when `retention:` leaves `min-keep` out: never delete the last version of a layer.
const DEFAULT_MIN_KEEP = 1

export function readRetention(r: YamlReader, entry: Entry, names: string[]): RetentionConfig {
  const ctx = 'retention'
  const map = r.deref(entry.value)
  if (!isMap(map))
    r.fail(
      map,
      `"retention" must be a map, got ${describe(map)}`,
      'e.g. retention: { min-keep: 3, default: { pr: { max-age-days: 7 } } }'
    )
  const out: RetentionConfig = { minKeep: DEFAULT_MIN_KEEP, rules: {}, layers: {} }
  for (const e of r.entries(map, ctx)) {
    if (e.key === 'min-keep') out.minKeep = r.count(e, ctx, '3')
    else if (e.key === 'default') out.rules = kindRules(r, e, 'retention.default')
    else if (e.key === 'layers') layerRules(r, e, names, out)
    else r.unknownKey(e, ctx, RETENTION_KEYS)
  }
  return out
}

/** `retention.layers`: rules per layer, each layer defined under `layers:`. */
function layerRules(r: YamlReader, e: Entry, names: string[], out: RetentionConfig): void {
  const m = r.deref(e.value)
  if (isNull(m)) return
  if (!isMap(m))
    r.fail(
      m,
      `retention key "layers" must be a map of layer names to rules, got ${describe(m)}`,
      'e.g. layers: { base: { versioned: { keep-forever: true } } }'
    )
  for (const l of r.entries(m, 'retention.layers')) {
    if (!names.includes(l.key))
      r.fail(
        l.keyNode,
        `retention.layers names unknown layer "${l.key}"`,
        suggest(l.key, names, `use a layer defined under \`layers:\`: ${names.join(', ')}`)
      )
    out.layers[l.key] = kindRules(r, l, `retention.layers.${l.key}`)
  }
}

/** `{ pr: rule, branch: rule }` */
function kindRules(r: YamlReader, entry: Entry, ctx: string): Partial<Record<TagKind, RetentionRule>> {
  const m = r.deref(entry.value)
  const out: Partial<Record<TagKind, RetentionRule>> = {}
  if (isNull(m)) return out
  if (!isMap(m))
    r.fail(
      m,
      `${ctx} must be a map of tag kinds to rules, got ${describe(m)}`,
      `e.g. { pr: { max-age-days: 7 } }; tag kinds: ${TAG_KINDS.join(', ')}`
    )
  for (const e of r.entries(m, ctx)) {
    if (!(TAG_KINDS as string[]).includes(e.key))
      r.fail(
        e.keyNode,
        `${ctx} has unknown tag kind "${e.key}"`,
        suggest(e.key, TAG_KINDS, `tag kinds: ${TAG_KINDS.join(', ')}`)
      )
    out[e.key as TagKind] = rule(r, e, `${ctx}.${e.key}`)
  }
  return out
}

function rule(r: YamlReader, entry: Entry, ctx: string): RetentionRule {
  const m = r.deref(entry.value)
  const out: RetentionRule = {}
  if (isNull(m)) return out
  if (!isMap(m))
    r.fail(m, `${ctx} must be a map, got ${describe(m)}`, 'e.g. { keep: 10 } or { max-age-days: 7 }')
  for (const e of r.entries(m, ctx)) {
    if (e.key === 'keep') out.keep = r.count(e, ctx, '10')
    else if (e.key === 'max-age-days') out.maxAgeDays = r.count(e, ctx, '7')
    else if (e.key === 'delete-when-closed') {
      out.deleteWhenClosed = r.bool(e, ctx)
      if (out.deleteWhenClosed && !ctx.endsWith('.pr'))
        r.fail(
          e.keyNode,
          `${ctx} sets delete-when-closed`,
          'only pr tags belong to a pull request: move it under pr'
        )
    } else if (e.key === 'keep-forever') out.keepForever = r.bool(e, ctx)
    else r.unknownKey(e, ctx, RULE_KEYS)
  }
  ruleConflicts(r, m, ctx, out)
  return out
}

function ruleConflicts(r: YamlReader, m: Node, ctx: string, rule: RetentionRule): void {
  // Stable tags (and `latest`) are always kept: a limit on them could never apply.
  if (ctx.endsWith('.stable') && (rule.keep !== undefined || rule.maxAgeDays !== undefined))
    r.fail(
      m,
      `${ctx} sets ${rule.keep !== undefined ? 'keep' : 'max-age-days'}, which can never apply: stable tags are always kept`,
      'remove the rule; to limit old versions, set a rule for versioned'
    )
  if (rule.keepForever && (rule.keep !== undefined || rule.maxAgeDays !== undefined))
    r.fail(
      m,
      `${ctx} sets keep-forever together with keep or max-age-days`,
      'keep-forever keeps everything: remove the other limits or keep-forever'
    )
}

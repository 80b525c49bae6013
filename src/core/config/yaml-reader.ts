// The YAML tree walked node by node (not toJS), so every error can say file:line:column and one
// fix: map entries with merge keys expanded, scalars, and typed getters that fail at the node.
import { isAlias, isMap, isScalar, isSeq, LineCounter, parseDocument } from 'yaml'
import type { Document, Node, YAMLMap } from 'yaml'
import { refuseImage, refusePath } from '../config-names.js'
import { ConfigError, type Position } from './errors.js'
import { suggest } from './suggest.js'

/** One `key: value` of a map; merge keys (`<<: *anchor`) are expanded, explicit keys win. */
export interface Entry {
  key: string
  keyNode: Node
  /** null: the key has no value (`always:`). */
  value: Node | null
}

export class YamlReader {
  private readonly lc = new LineCounter()
  readonly doc: Document
  /** Image names written with upper case, as `line:column "Name"`. */
  readonly lowered: string[] = []

  constructor(
    text: string,
    readonly file: string
  ) {
    this.doc = parseDocument(text, {
      lineCounter: this.lc,
      prettyErrors: false,
      // Duplicates are found while walking, so the message can say "layer defined twice".
      uniqueKeys: false,
      merge: true
    })
  }

  /** The document's root node; a YAML syntax error is a ConfigError at its place. */
  root(): Node | null {
    const err = this.doc.errors[0]
    if (err) {
      const { line, col } = this.lc.linePos(err.pos[0])
      throw new ConfigError(
        this.file,
        line,
        col,
        `YAML syntax error: ${err.message.split('\n')[0]}`,
        'fix the YAML here: check indentation, quotes and brackets'
      )
    }
    return this.deref(this.doc.contents as Node | null)
  }

  // ---------- values ----------

  scalar(e: Entry, ctx: string, expected: string, example: string, ok: (v: unknown) => boolean): unknown {
    const v = this.deref(e.value)
    if (!isScalar(v) || !ok(v.value))
      this.fail(
        v ?? e.keyNode,
        `${ctx} key "${e.key}" must be ${expected}, got ${describe(v)}`,
        `e.g. ${e.key}: ${example}`
      )
    return v.value
  }

  string(e: Entry, ctx: string, example: string): string {
    return this.scalar(e, ctx, 'a string', example, v => typeof v === 'string' && v !== '') as string
  }

  path(e: Entry, ctx: string, example: string): string {
    const p = this.string(e, ctx, example)
    const why = refusePath(p)
    if (why)
      this.fail(
        e.value,
        `${ctx} key "${e.key}" ${why}`,
        why.startsWith('is an absolute')
          ? 'write it relative to the repository root'
          : 'write a path inside the repository, relative to its root (./-name for a name that starts with -)'
      )
    return p
  }

  /** A refusal from config-names.ts as a ConfigError at `node`. */
  refuse(node: Node | null, why: string | undefined, what: string, fix: string): void {
    if (why) this.fail(node, `${what}: ${why}`, fix)
  }

  bool(e: Entry, ctx: string): boolean {
    return this.scalar(e, ctx, 'true or false', 'true', v => typeof v === 'boolean') as boolean
  }

  boolOrString(e: Entry, ctx: string): boolean | string {
    const ok = (v: unknown): boolean => typeof v === 'boolean' || (typeof v === 'string' && v !== '')
    return this.scalar(e, ctx, 'true, false or a buildx value', 'mode=max', ok) as boolean | string
  }

  count(e: Entry, ctx: string, example: string): number {
    const ok = (v: unknown): boolean => typeof v === 'number' && Number.isInteger(v) && v >= 0
    return this.scalar(e, ctx, 'a whole number, 0 or more', example, ok) as number
  }

  image(e: Entry, ctx: string): string {
    const written = this.string(e, ctx, 'ghcr.io/acme/app')
    const image = written.toLowerCase()
    const why = refuseImage(image)
    if (why)
      this.fail(
        e.value,
        `${ctx} key "image" is not a repository: ${JSON.stringify(written.length > 80 ? `${written.slice(0, 80)}…` : written)}${why === 'it has a tag or digest' ? '' : ` (${why})`}`,
        'write the repository without tag or digest, e.g. ghcr.io/acme/app; tags come from `tags`'
      )
    if (image !== written) {
      const { line, column } = this.pos(e.value)
      this.lowered.push(`"${written}" (${line}:${column})`)
    }
    return image
  }

  seqItems(e: Entry): Node[] {
    const v = this.deref(e.value)
    return isSeq(v) ? v.items.map(i => this.deref(i as Node)!) : []
  }

  strings(e: Entry, ctx: string, example: string): string[] {
    const v = this.deref(e.value)
    if (!isSeq(v))
      this.fail(
        v ?? e.keyNode,
        `${ctx} key "${e.key}" must be a list of strings, got ${describe(v)}`,
        `e.g. ${e.key}: ${example}`
      )
    return this.seqItems(e).map(n => {
      if (!isScalar(n) || typeof n.value !== 'string' || n.value === '')
        this.fail(
          n,
          `${ctx} key "${e.key}" must be a list of strings, got ${describe(n)} in it`,
          `e.g. ${e.key}: ${example}`
        )
      return n.value
    })
  }

  /** A map of names to scalars; numbers and booleans become strings (`NODE_VERSION: 20`). */
  stringMap(e: Entry, ctx: string, example: string, keyPattern?: RegExp): Record<string, string> {
    const v = this.deref(e.value)
    if (isNull(v)) return {}
    if (!isMap(v))
      this.fail(v, `${ctx} key "${e.key}" must be a map, got ${describe(v)}`, `e.g. ${e.key}: ${example}`)
    const out: Record<string, string> = {}
    for (const p of this.entries(v, `${ctx} ${e.key}`)) {
      if (keyPattern && !keyPattern.test(p.key))
        this.fail(
          p.keyNode,
          `${ctx} has bad ${e.key} name "${p.key}"`,
          'use letters, digits and _, not starting with a digit'
        )
      const s = this.deref(p.value)
      if (!isScalar(s) || s.value === null || typeof s.value === 'object')
        this.fail(
          s ?? p.keyNode,
          `${ctx} ${e.key} "${p.key}" must be a string, got ${describe(s)}`,
          `e.g. ${e.key}: ${example}`
        )
      out[p.key] = String(s.value)
    }
    return out
  }

  // ---------- tree ----------

  /** The pairs of a map, with merge keys expanded; a duplicate key is an error. */
  entries(map: YAMLMap, ctx: string): Entry[] {
    const out: Entry[] = []
    const merged: Entry[] = []
    // Looked up, not searched: `layers` may have thousands of keys.
    const byKey = new Map<string, Entry>()
    for (const pair of map.items) {
      const k = pair.key as Node | null
      const value = (pair.value as Node | null) ?? null
      if (isScalar(k) && typeof k.value === 'symbol') {
        const sources = isSeq(this.deref(value)) ? (this.deref(value) as { items: Node[] }).items : [value]
        for (const s of sources) {
          const m = this.deref(s)
          if (isMap(m)) merged.push(...this.entries(m, ctx))
        }
        continue
      }
      if (!isScalar(k) || (typeof k.value !== 'string' && typeof k.value !== 'number'))
        this.fail(k, `${ctx} has a key that is not a name: ${describe(k)}`, 'use plain names as keys')
      const key = String(k.value)
      const first = byKey.get(key)
      if (first) {
        const at = this.pos(first.keyNode).line
        if (ctx === 'layers')
          this.fail(
            k,
            `layer "${key}" is defined twice (first at line ${at})`,
            'rename one of them or merge their keys'
          )
        this.fail(k, `${ctx} has key "${key}" twice (first at line ${at})`, 'keep one of them')
      }
      out.push({ key, keyNode: k, value })
      byKey.set(key, out[out.length - 1])
    }
    for (const m of merged) if (!byKey.has(m.key)) out.push(m)
    return out
  }

  /** The entries of a value that may be a map or nothing. */
  mapEntries(value: Node | null, ctx: string): Entry[] {
    const m = this.deref(value)
    return isMap(m) ? this.entries(m, ctx) : []
  }

  deref(node: Node | null | undefined): Node | null {
    if (node && isAlias(node)) return (node.resolve(this.doc) as Node | undefined) ?? null
    return node ?? null
  }

  pos(node: Node | null | undefined): Position {
    const offset = node?.range?.[0]
    if (offset === undefined) return { line: 1, column: 1 }
    const { line, col } = this.lc.linePos(offset)
    return { line, column: col }
  }

  fail(node: Node | null | undefined, what: string, fix: string): never {
    const { line, column } = this.pos(node)
    throw new ConfigError(this.file, line, column, what, fix)
  }

  unknownKey(e: Entry, ctx: string, valid: string[]): never {
    this.fail(
      e.keyNode,
      `${ctx} has unknown key "${e.key}"`,
      suggest(e.key, valid, `valid keys: ${valid.join(', ')}`)
    )
  }
}

export function isNull(node: Node | null): boolean {
  return node === null || (isScalar(node) && node.value === null)
}

export function describe(node: Node | null): string {
  if (isNull(node)) return 'nothing'
  if (isSeq(node)) return 'a list'
  if (isMap(node)) return 'a map'
  if (isScalar(node)) {
    const v = node.value
    if (typeof v === 'string') return JSON.stringify(v.length > 40 ? `${v.slice(0, 40)}…` : v)
    return String(v)
  }
  return 'a value'
}

// A small evaluator of GitHub Actions expressions (the subset workflows use in `if:` and `with:`), and a
// simulator of how a run decides which jobs run, so tests can check gating `if:`s without GitHub.
// Semantics follow GitHub's documentation: loose `==` (case-insensitive strings, numeric coercion when the
// types differ), `&&`/`||` return an operand, and a job `if:` without a status function is
// `success() && (...)`, where success() needs every ancestor job to have succeeded and failure() is true
// when any ancestor failed.

export type Value = null | boolean | number | string | Value[] | { [k: string]: Value }

export interface Context {
  vars: Record<string, Value>
  functions?: Record<string, (...args: Value[]) => Value>
}

type Token = { kind: 'num' | 'str' | 'id' | 'op'; text: string; value?: Value }

function tokenize(src: string): Token[] {
  const out: Token[] = []
  let i = 0
  while (i < src.length) {
    const c = src[i]
    if (/\s/.test(c)) {
      i++
    } else if (c === "'") {
      let s = ''
      i++
      for (;;) {
        if (i >= src.length) throw new Error(`unterminated string in: ${src}`)
        if (src[i] === "'") {
          if (src[i + 1] === "'") {
            s += "'"
            i += 2
            continue
          }
          i++
          break
        }
        s += src[i++]
      }
      out.push({ kind: 'str', text: s, value: s })
    } else if (/[0-9]/.test(c)) {
      const m = /^(0x[0-9a-f]+|[0-9]+(\.[0-9]+)?(e[+-]?[0-9]+)?)/i.exec(src.slice(i))!
      out.push({ kind: 'num', text: m[0], value: Number(m[0]) })
      i += m[0].length
    } else if (/[A-Za-z_]/.test(c)) {
      const m = /^[A-Za-z_][A-Za-z0-9_-]*/.exec(src.slice(i))!
      out.push({ kind: 'id', text: m[0] })
      i += m[0].length
    } else {
      const op = ['==', '!=', '<=', '>=', '&&', '||'].find(o => src.startsWith(o, i)) ?? c
      if (!['==', '!=', '<=', '>=', '&&', '||', '!', '<', '>', '(', ')', '[', ']', '.', ','].includes(op)) {
        throw new Error(`unexpected "${c}" in: ${src}`)
      }
      out.push({ kind: 'op', text: op })
      i += op.length
    }
  }
  return out
}

function toNumber(v: Value): number {
  if (v === null) return 0
  if (typeof v === 'boolean') return v ? 1 : 0
  if (typeof v === 'number') return v
  if (typeof v === 'string') return v.trim() === '' ? 0 : Number(v)
  return NaN
}

export function truthy(v: Value): boolean {
  return !(v === null || v === false || v === 0 || v === '' || (typeof v === 'number' && isNaN(v)))
}

function looseEquals(a: Value, b: Value): boolean {
  if (typeof a === 'string' && typeof b === 'string') return a.toLowerCase() === b.toLowerCase()
  if (typeof a === typeof b && (a === null || typeof a !== 'object')) return a === b
  if (typeof a === 'object' && a !== null) return a === b
  if (typeof b === 'object' && b !== null) return false
  return toNumber(a) === toNumber(b)
}

function compare(a: Value, b: Value): number {
  if (typeof a === 'string' && typeof b === 'string') {
    const x = a.toLowerCase()
    const y = b.toLowerCase()
    return x < y ? -1 : x > y ? 1 : 0
  }
  const x = toNumber(a)
  const y = toNumber(b)
  return isNaN(x) || isNaN(y) ? NaN : x - y
}

export function toText(v: Value): string {
  if (v === null) return ''
  if (typeof v === 'object') return JSON.stringify(v, null, 2)
  return String(v)
}

function property(obj: Value, key: Value): Value {
  if (obj === null || typeof obj !== 'object') return null
  if (Array.isArray(obj)) return typeof key === 'number' ? (obj[key] ?? null) : null
  const k = toText(key).toLowerCase()
  const found = Object.keys(obj).find(name => name.toLowerCase() === k)
  return found === undefined ? null : obj[found]
}

const builtins: Record<string, (...args: Value[]) => Value> = {
  contains: (hay, needle) =>
    Array.isArray(hay)
      ? hay.some(v => looseEquals(v, needle))
      : toText(hay).toLowerCase().includes(toText(needle).toLowerCase()),
  startswith: (s, p) => toText(s).toLowerCase().startsWith(toText(p).toLowerCase()),
  endswith: (s, p) => toText(s).toLowerCase().endsWith(toText(p).toLowerCase()),
  format: (f, ...args) => toText(f).replace(/\{(\d+)\}/g, (_, n: string) => toText(args[Number(n)] ?? null)),
  join: (a, sep) =>
    Array.isArray(a) ? a.map(toText).join(sep === undefined ? ',' : toText(sep)) : toText(a),
  tojson: v => JSON.stringify(v, null, 2),
  fromjson: v => JSON.parse(toText(v)) as Value
}

/** Evaluates one expression (the text inside `${{ }}`, or a bare `if:`). */
export function evaluate(expr: string, ctx: Context): Value {
  const tokens = tokenize(expr)
  let pos = 0
  const peek = (): Token | undefined => tokens[pos]
  const isOp = (text: string): boolean => peek()?.kind === 'op' && peek()?.text === text
  const expect = (text: string): void => {
    if (!isOp(text)) throw new Error(`expected "${text}" at token ${pos} in: ${expr}`)
    pos++
  }
  const functions: Record<string, (...args: Value[]) => Value> = { ...builtins }
  for (const [name, fn] of Object.entries(ctx.functions ?? {})) functions[name.toLowerCase()] = fn

  // Precedence, lowest first: ||, &&, == !=, < <= > >=, !, then . [] ().
  function or(): Value {
    let left = and()
    while (isOp('||')) {
      pos++
      const right = and()
      left = truthy(left) ? left : right
    }
    return left
  }
  function and(): Value {
    let left = equality()
    while (isOp('&&')) {
      pos++
      const right = equality()
      left = truthy(left) ? right : left
    }
    return left
  }
  function equality(): Value {
    let left = relational()
    while (isOp('==') || isOp('!=')) {
      const op = tokens[pos++].text
      const eq = looseEquals(left, relational())
      left = op === '==' ? eq : !eq
    }
    return left
  }
  function relational(): Value {
    let left = unary()
    while (isOp('<') || isOp('>') || isOp('<=') || isOp('>=')) {
      const op = tokens[pos++].text
      const c = compare(left, unary())
      left = op === '<' ? c < 0 : op === '>' ? c > 0 : op === '<=' ? c <= 0 : c >= 0
    }
    return left
  }
  function unary(): Value {
    if (isOp('!')) {
      pos++
      return !truthy(unary())
    }
    return postfix()
  }
  function postfix(): Value {
    let v = primary()
    for (;;) {
      if (isOp('.')) {
        pos++
        const t = tokens[pos++]
        if (t?.kind !== 'id') throw new Error(`expected a property name after "." in: ${expr}`)
        v = property(v, t.text)
      } else if (isOp('[')) {
        pos++
        const key = or()
        expect(']')
        v = property(v, key)
      } else {
        return v
      }
    }
  }
  function primary(): Value {
    const t = tokens[pos++]
    if (!t) throw new Error(`unexpected end of: ${expr}`)
    if (t.kind === 'num' || t.kind === 'str') return t.value as Value
    if (t.kind === 'op' && t.text === '(') {
      const v = or()
      expect(')')
      return v
    }
    if (t.kind === 'id') {
      const lower = t.text.toLowerCase()
      if (lower === 'true') return true
      if (lower === 'false') return false
      if (lower === 'null') return null
      if (isOp('(')) {
        pos++
        const args: Value[] = []
        while (!isOp(')')) {
          args.push(or())
          if (!isOp(')')) expect(',')
        }
        pos++
        const fn = functions[lower]
        if (!fn) throw new Error(`unknown function ${t.text}() in: ${expr}`)
        return fn(...args)
      }
      if (!(t.text in ctx.vars)) throw new Error(`unknown context "${t.text}" in: ${expr}`)
      return ctx.vars[t.text]
    }
    throw new Error(`unexpected "${t.text}" in: ${expr}`)
  }

  const v = or()
  if (pos !== tokens.length) throw new Error(`unexpected "${tokens[pos].text}" in: ${expr}`)
  return v
}

/** The expression of an `if:` value: `${{ x }}` or bare `x`. */
export function ifExpression(cond: string): string {
  const m = /^\s*\$\{\{([\s\S]*)\}\}\s*$/.exec(cond)
  return (m ? m[1] : cond).trim()
}

/** Evaluates a string that may hold `${{ }}` templates, as the runner does for `with:` values. */
export function evaluateTemplate(text: string, ctx: Context): string {
  return text.replace(/\$\{\{([\s\S]*?)\}\}/g, (_, e: string) => toText(evaluate(e, ctx)))
}

// ---------- jobs of one run ----------

export type JobResult = 'success' | 'failure' | 'skipped'

export interface SimJob {
  needs: string[]
  if?: string
}

export interface SimInput {
  jobs: Record<string, SimJob>
  /** Outputs of each job that succeeds. */
  outputs: Record<string, Record<string, string>>
  /** Jobs that fail when they run. */
  failing?: string[]
  vars?: Record<string, Value>
}

const STATUS_FUNCTION = /\b(success|failure|cancelled|always)\s*\(/i

/** Runs the jobs in dependency order and returns each job's result, as GitHub decides it. */
export function simulateRun(input: SimInput): Record<string, JobResult> {
  const results: Record<string, JobResult> = {}
  const ancestors = (name: string, seen = new Set<string>()): Set<string> => {
    for (const n of input.jobs[name].needs) {
      if (!seen.has(n)) {
        seen.add(n)
        ancestors(n, seen)
      }
    }
    return seen
  }
  const pending = new Set(Object.keys(input.jobs))
  while (pending.size) {
    const ready = [...pending].find(j => input.jobs[j].needs.every(n => n in results))
    if (!ready) throw new Error(`needs cycle or unknown job among: ${[...pending].join(', ')}`)
    pending.delete(ready)
    const job = input.jobs[ready]
    const up = [...ancestors(ready)]
    const needs: Record<string, Value> = {}
    for (const n of job.needs) {
      needs[n] = { result: results[n], outputs: results[n] === 'success' ? (input.outputs[n] ?? {}) : {} }
    }
    const ctx: Context = {
      vars: { needs, ...input.vars },
      functions: {
        success: () => up.every(n => results[n] === 'success'),
        failure: () => up.some(n => results[n] === 'failure'),
        cancelled: () => false,
        always: () => true
      }
    }
    const expr = ifExpression(job.if ?? 'success()')
    const gated = STATUS_FUNCTION.test(expr) ? expr : `success() && (${expr})`
    const runs = truthy(evaluate(gated, ctx))
    results[ready] = !runs ? 'skipped' : input.failing?.includes(ready) ? 'failure' : 'success'
  }
  return results
}

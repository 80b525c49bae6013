// Word expansion as BuildKit's Dockerfile shell lexer does it for COPY/ADD sources and FROM images:
// quotes removed, `$NAME`, `${NAME}`, `${NAME:-word}`, `${NAME-word}`, `${NAME:+word}`, `${NAME+word}`;
// an unset variable expands to nothing. Pure.

/** Expands one word with `vars`; throws an Error naming what is malformed. */
export function expandWord(word: string, vars: Record<string, string>, escape = '\\'): string {
  let out = ''
  let i = 0
  let quote: '"' | "'" | undefined
  while (i < word.length) {
    const ch = word[i]
    if (quote === "'") {
      if (ch === "'") quote = undefined
      else out += ch
      i++
    } else if (ch === escape && i + 1 < word.length) {
      // In double quotes only `$`, `"`, the escape and a newline are escaped, as in a POSIX shell.
      const next = word[i + 1]
      if (quote === '"' && next !== '$' && next !== '"' && next !== escape) out += ch
      out += next
      i += 2
    } else if (ch === '"' || (ch === "'" && quote === undefined)) {
      quote = quote === ch ? undefined : (ch as '"' | "'")
      i++
    } else if (ch === '$') {
      const [value, end] = variable(word, i, vars, escape)
      out += value
      i = end
    } else {
      out += ch
      i++
    }
  }
  if (quote) throw new Error(`${word}: the ${quote} quote is not closed`)
  return out
}

function variable(word: string, at: number, vars: Record<string, string>, escape: string): [string, number] {
  const plain = /^[A-Za-z_][A-Za-z0-9_]*/.exec(word.slice(at + 1))
  if (plain) return [vars[plain[0]] ?? '', at + 1 + plain[0].length]
  if (word[at + 1] !== '{') return ['$', at + 1]
  const close = closingBrace(word, at + 2)
  if (close < 0) throw new Error(`${word}: \${ is not closed`)
  const body = word.slice(at + 2, close)
  const m = /^([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-+])([\s\S]*))?$/.exec(body)
  if (!m) throw new Error(`${word}: \${${body}} is not a variable BuildKit expands`)
  const [, name, op, rest] = m
  const value = vars[name]
  const set = op?.startsWith(':') ? value !== undefined && value !== '' : value !== undefined
  if (op === undefined) return [value ?? '', close + 1]
  const alt = expandWord(rest, vars, escape)
  if (op.endsWith('-')) return [set ? (value as string) : alt, close + 1]
  return [set ? alt : '', close + 1]
}

function closingBrace(word: string, from: number): number {
  let depth = 1
  for (let i = from; i < word.length; i++) {
    if (word[i] === '{') depth++
    else if (word[i] === '}' && --depth === 0) return i
  }
  return -1
}

// docs/ARCHITECTURE.md stays true: its module tree lists exactly the files under src/, and every
// `export function`/`export class`/`export async function` its signatures block names is exported by
// the module the block's `// path` comment names.
import { readdirSync, readFileSync, statSync } from 'node:fs'
import { dirname, join, relative } from 'node:path'
import { fileURLToPath } from 'node:url'

const root = join(dirname(fileURLToPath(import.meta.url)), '..')
const doc = readFileSync(join(root, 'docs/ARCHITECTURE.md'), 'utf8')

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap(name => {
    const path = join(dir, name)
    if (statSync(path).isDirectory()) return sourceFiles(path)
    return name.endsWith('.ts') ? [relative(join(root, 'src'), path)] : []
  })
}

/**
 * The first fenced block: `src/` then indented names, two spaces a level; a name ending in `/`
 * opens a folder. A description's second line is indented far deeper than any name.
 */
function documentedModules(): string[] {
  const block = doc.split('```')[1]
  const lines = block.split('\n')
  const start = lines.findIndex(l => l.trim() === 'src/')
  const out: string[] = []
  const folders: string[] = []
  for (const line of lines.slice(start + 1)) {
    const m = /^( +)(\S+)/.exec(line)
    if (!m) break
    if (m[1].length > 12 || m[1].length % 2 === 1) continue
    const depth = m[1].length / 2 - 1
    folders.length = depth
    if (m[2].endsWith('/')) folders.push(m[2])
    else out.push(folders.join('') + m[2])
  }
  return out
}

/** `// path` comments in the ```ts blocks, each with the declarations below it (comments cut). */
function documentedExports(): [string, string, string][] {
  const blocks = doc
    .split(/^```ts$/m)
    .slice(1)
    .map(b => b.split(/^```$/m)[0])
  const out: [string, string, string][] = []
  let file = ''
  for (const line of blocks.join('\n').split('\n')) {
    const f = /^\/\/ ([\w/.-]+\.ts)\b/.exec(line.trim())
    if (f) file = f[1]
    const e = /^export (?:async )?(?:function|class|interface|type|const) (\w+)/.exec(line.trim())
    if (e && file) out.push([file, e[1], line.replace(/\s\/\/ .*$/, '').trim()])
  }
  return out
}

const squash = (s: string): string =>
  s
    .replace(/\s+/g, ' ')
    .replace(/,?\s*\)/g, ')')
    .replace(/\(\s/g, '(')
    .trim()

/** A function's declaration in the source, from `export` to the `{` that opens its body, on one line. */
function declaration(text: string, name: string): string | undefined {
  const start = new RegExp(`^export (?:async )?function ${name}\\b`, 'm').exec(text)?.index
  if (start === undefined) return undefined
  let depth = 0
  for (let i = start; i < text.length; i++) {
    const c = text[i]
    if (c === '(' || c === '<') depth++
    else if (c === ')' || (c === '>' && text[i - 1] !== '=')) depth--
    // The body's `{` ends its line; an object type's `{` does not.
    else if (c === '{' && depth === 0 && text[i + 1] === '\n') return squash(text.slice(start, i))
  }
  return undefined
}

test('the module tree lists every file under src/ and no other', () => {
  expect(documentedModules().sort()).toEqual(sourceFiles(join(root, 'src')).sort())
})

const exported = documentedExports()
const functions = exported.filter(([, , documented]) => /^export (?:async )?function /.test(documented))

test.each(exported)('%s exports %s', (file, name) => {
  const text = readFileSync(join(root, 'src', file), 'utf8')
  expect(text).toMatch(
    new RegExp(`^export (?:async )?(?:function|class|interface|type|const) ${name}\\b`, 'm')
  )
})

// A function's documented signature is its declaration, parameter for parameter.
test.each(functions)('%s declares %s as documented', (file, name, documented) => {
  expect(declaration(readFileSync(join(root, 'src', file), 'utf8'), name)).toBe(squash(documented))
})

/** `a: T; b?: U` at the top level of `{ … }` (nested braces and comments skipped) → [a, b]. */
function fieldNames(body: string): string[] {
  const out: string[] = []
  let depth = 0
  let part = ''
  for (const c of `${body.replace(/\/\*.*?\*\//g, '')};`) {
    if (c === '{' || c === '(' || c === '<' || c === '[') depth++
    if (c === '}' || c === ')' || (c === '>' && !part.endsWith('=')) || c === ']') depth--
    if (c === ';' && depth === 0) {
      const m = /^\s*(?:readonly\s+)?(\w+)\??\s*:/.exec(part)
      if (m) out.push(m[1])
      part = ''
    } else part += c
  }
  return out
}

/** The documented interfaces that list fields inline: [file, name, fields]. */
const interfaces = exported.flatMap(([file, name, documented]) => {
  const m = /^export interface \w+(?: extends [\w, ]+)? \{(.*)\}$/.exec(documented)
  return m ? [[file, name, fieldNames(m[1])] as [string, string, string[]]] : []
})

// A documented interface has every field the doc gives it (a renamed or removed field fails here).
test.each(interfaces)('%s: interface %s has the documented fields %j', (file, name, fields) => {
  const text = readFileSync(join(root, 'src', file), 'utf8')
  const start = new RegExp(`^export interface ${name}\\b[^{]*\\{`, 'm').exec(text)
  expect(start).not.toBeNull()
  let depth = 0
  let end = start!.index + start![0].length - 1
  for (; end < text.length; end++) {
    if (text[end] === '{') depth++
    else if (text[end] === '}' && --depth === 0) break
  }
  const body = text.slice(start!.index + start![0].length, end)
  for (const f of fields) expect(body).toMatch(new RegExp(`^\\s*(?:readonly\\s+)?${f}\\??:`, 'm'))
})

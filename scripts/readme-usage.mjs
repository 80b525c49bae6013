// Regenerates the README's generated blocks, so they cannot drift from the files they show:
//   <!-- usage:start --> … <!-- usage:end -->      the `uses:` step with every input of action.yml, and its outputs
//   <!-- example:start --> … <!-- example:end -->  a workflow the tests validate, verbatim (when the markers exist):
//     examples/seed-pipeline/.github/workflows/images.yml by default, or the file a marker names:
//     `<!-- example:start file=examples/ghcr/.github/workflows/images.yml -->`;
//     indented like the start marker, so a block inside a list item stays in it
//
//   node scripts/readme-usage.mjs            rewrite the blocks in docs/reference.md (the full reference)
//   node scripts/readme-usage.mjs --check    exit 1 when README.md differs from what would be written
//   node scripts/readme-usage.mjs --print    print the usage block
// Options: --readme <file> --action <file> --example <file> (default: the repository's own).
import { readFileSync, writeFileSync } from 'node:fs'
import { dirname, join, relative, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parse } from 'yaml'

/** How users reference the action; the README's usage block shows this line. */
export const USES = 'strata-build/strata@v1'
const WIDTH = 100
/** The workflow an `<!-- example:start -->` marker without `file=` shows: the seed pipeline, one job per layer. */
export const DEFAULT_EXAMPLE = 'examples/seed-pipeline/.github/workflows/images.yml'

const root = join(dirname(fileURLToPath(import.meta.url)), '..')

function wrap(text, width) {
  const lines = []
  for (const para of String(text)
    .trim()
    .split(/\n\s*\n/)) {
    let line = ''
    for (const word of para.split(/\s+/)) {
      if (line && line.length + 1 + word.length > width) {
        lines.push(line)
        line = word
      } else {
        line = line ? `${line} ${word}` : word
      }
    }
    lines.push(line)
  }
  return lines
}

/** The usage block's Markdown for an action.yml text. */
export function renderUsage(actionYml) {
  const action = parse(actionYml)
  const out = [
    '## Inputs',
    '',
    'All inputs are optional; each is shown with its description and default (generated from `action.yml`).',
    '',
    '```yaml',
    `- uses: ${USES}`,
    '  with:'
  ]
  for (const [name, input] of Object.entries(action.inputs ?? {})) {
    for (const line of wrap(input.description ?? '', WIDTH - 6)) out.push(`    # ${line}`.trimEnd())
    const def = input.default === undefined ? '' : String(input.default)
    if (def !== '') out.push(`    # Default: ${def}`)
    if (input.required) out.push('    # Required.')
    out.push(`    ${name}: ''`, '')
  }
  if (out[out.length - 1] === '') out.pop()
  out.push('```', '', '## Outputs', '', '| output | meaning |', '| --- | --- |')
  for (const [name, output] of Object.entries(action.outputs ?? {})) {
    const desc = String(output.description ?? '')
      .trim()
      .replace(/\s+/g, ' ')
      .replace(/\|/g, '\\|')
    out.push(`| \`${name}\` | ${desc} |`)
  }
  return out.join('\n')
}

/** The example block: the workflow file verbatim in a fenced block. */
export function renderExample(workflowYml) {
  return ['```yaml', workflowYml.trimEnd(), '```'].join('\n')
}

/** Fills every `<!-- example:start [file=…] -->` block with its file, indented like its marker. */
export function replaceExamples(readme, readFile, defaultFile) {
  return readme.replace(
    /^([ \t]*)<!-- example:start(?: file=(\S+))? -->\n[\s\S]*?^[ \t]*<!-- example:end -->/gm,
    (_, indent, file) => {
      const start = `${indent}<!-- example:start${file ? ` file=${file}` : ''} -->`
      const body = renderExample(readFile(file ?? defaultFile))
        .split('\n')
        .map(l => (l ? indent + l : l))
        .join('\n')
      return `${start}\n${body}\n${indent}<!-- example:end -->`
    }
  )
}

/** Replaces the body between `<!-- name:start -->` and `<!-- name:end -->`; undefined when absent. */
export function replaceBlock(readme, name, body) {
  const start = `<!-- ${name}:start -->`
  const end = `<!-- ${name}:end -->`
  const i = readme.indexOf(start)
  const j = readme.indexOf(end)
  if (i < 0 || j < i) return undefined
  return `${readme.slice(0, i + start.length)}\n${body}\n${readme.slice(j)}`
}

function main(argv) {
  const opt = name => {
    const k = argv.indexOf(name)
    return k >= 0 ? resolve(argv[k + 1]) : undefined
  }
  // The generated blocks live in the full reference; the README links to it.
  const readmePath = opt('--readme') ?? join(root, 'docs/reference.md')
  const actionPath = opt('--action') ?? join(root, 'action.yml')
  const examplePath = opt('--example') ?? join(root, DEFAULT_EXAMPLE)
  const usage = renderUsage(readFileSync(actionPath, 'utf8'))
  if (argv.includes('--print')) {
    process.stdout.write(`${usage}\n`)
    return 0
  }
  const name = relative(process.cwd(), readmePath) || readmePath
  let readme
  try {
    readme = readFileSync(readmePath, 'utf8')
  } catch {
    console.error(
      `${name} not found: create it with <!-- usage:start --> and <!-- usage:end --> where the usage goes`
    )
    return 1
  }
  let next = replaceBlock(readme, 'usage', usage)
  if (next === undefined) {
    console.error(
      `${name} has no <!-- usage:start --> … <!-- usage:end --> block: add the two markers where the usage goes`
    )
    return 1
  }
  // `file=` paths are relative to the repository root, wherever the README is.
  next = replaceExamples(next, file => readFileSync(resolve(root, file), 'utf8'), relative(root, examplePath))
  if (argv.includes('--check')) {
    if (next !== readme) {
      console.error(
        `${name} is out of date with ${relative(process.cwd(), actionPath) || actionPath} or an example workflow: ` +
          'run `node scripts/readme-usage.mjs` and commit README.md or docs/reference.md, whichever it named'
      )
      return 1
    }
    console.log(`${name} matches action.yml`)
    return 0
  }
  if (next !== readme) writeFileSync(readmePath, next)
  console.log(next !== readme ? `${name} updated` : `${name} already up to date`)
  return 0
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  process.exitCode = main(process.argv.slice(2))
}

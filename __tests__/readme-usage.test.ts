// The README's usage block is generated from action.yml, and its example workflow is the file the
// workflow tests validate (examples/seed-pipeline/.github/workflows/images.yml by default, or the file
// a marker names): `--check` fails on any drift.
import { spawnSync } from 'node:child_process'
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parse } from 'yaml'

const root = join(dirname(fileURLToPath(import.meta.url)), '..')
const script = join(root, 'scripts/readme-usage.mjs')
const example = readFileSync(join(root, 'examples/seed-pipeline/.github/workflows/images.yml'), 'utf8')

function usage(...args: string[]): { code: number | null; out: string; err: string } {
  const r = spawnSync(process.execPath, [script, ...args], { cwd: root, encoding: 'utf8' })
  return { code: r.status, out: r.stdout, err: r.stderr }
}

function tempReadme(text: string): string {
  const file = join(mkdtempSync(join(tmpdir(), 'strata-readme-')), 'README.md')
  writeFileSync(file, text)
  return file
}

const STALE = [
  '# Strata',
  '',
  '<!-- usage:start -->',
  'stale',
  '<!-- usage:end -->',
  '',
  '<!-- example:start -->',
  '<!-- example:end -->',
  '',
  '1. In a list:',
  '',
  '   <!-- example:start file=examples/ghcr/.github/workflows/images.yml -->',
  '   stale',
  '   <!-- example:end -->',
  '',
  'More text.',
  ''
].join('\n')

describe('scripts/readme-usage.mjs', () => {
  test('the usage block shows every input of action.yml with its default, and every output', () => {
    const action = parse(readFileSync(join(root, 'action.yml'), 'utf8'))
    const { code, out } = usage('--print')
    expect(code).toBe(0)
    const inputs = Object.entries(action.inputs as Record<string, { default?: string }>)
    expect(inputs.filter(([name]) => !out.includes(`\n    ${name}: ''\n`))).toEqual([])
    expect(inputs.filter(([, i]) => i.default && !out.includes(`# Default: ${i.default}`))).toEqual([])
    for (const name of Object.keys(action.outputs)) expect(out).toContain(`| \`${name}\` |`)
    expect(out).toMatch(/```yaml\n- uses: [\w-]+\/strata@v\d+\n {2}with:\n/)
  })

  test('--check fails on drift and says how to fix it; a rewrite fixes it', () => {
    const readme = tempReadme(STALE)
    const stale = usage('--check', '--readme', readme)
    expect(stale.code).toBe(1)
    expect(stale.err).toContain('run `node scripts/readme-usage.mjs` and commit README.md')

    expect(usage('--readme', readme).code).toBe(0)
    const written = readFileSync(readme, 'utf8')
    expect(written).toContain(usage('--print').out)
    expect(written).toContain(`\`\`\`yaml\n${example.trimEnd()}\n\`\`\``)
    const ghcr = readFileSync(join(root, 'examples/ghcr/.github/workflows/images.yml'), 'utf8')
    const indented = ghcr
      .trimEnd()
      .split('\n')
      .map(l => (l ? `   ${l}` : l))
      .join('\n')
    expect(written).toContain(`   \`\`\`yaml\n${indented}\n   \`\`\`\n   <!-- example:end -->`)
    expect(written.endsWith('More text.\n')).toBe(true)
    expect(usage('--check', '--readme', readme)).toMatchObject({ code: 0 })

    // An edit to the example block (a copy drifting from the tested workflow) is drift too.
    writeFileSync(readme, written.replace('layer: tooling', 'layer: toolin'))
    expect(usage('--check', '--readme', readme).code).toBe(1)
  })

  test('a README without the markers fails with the markers to add', () => {
    const r = usage('--check', '--readme', tempReadme('# Strata\n'))
    expect(r.code).toBe(1)
    expect(r.err).toContain('<!-- usage:start -->')
  })

  test("the repository's README.md is up to date", () => {
    const r = usage('--check')
    expect(r.err).toBe('')
    expect(r.code).toBe(0)
  })
})

// README, docs/ and action.yml say the same thing (issue 20): keys, modes, defaults, the build command,
// pinning, how the CLI is obtained, and that `paths` is optional. Each check reads the real files.
import { existsSync, readdirSync, readFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { describe, expect, test } from '@jest/globals'
import { parse } from 'yaml'

const root = join(dirname(fileURLToPath(import.meta.url)), '..')
const read = (file: string): string => readFileSync(join(root, file), 'utf8')
const README = read('README.md')
const REFERENCE = read('docs/reference.md')
const DOCS = readdirSync(join(root, 'docs'))
  .filter(f => f.endsWith('.md'))
  .map(f => [`docs/${f}`, read(`docs/${f}`)] as const)
const ALL = [['README.md', README] as const, ...DOCS]
const action = parse(read('action.yml')) as {
  inputs: Record<string, { default?: unknown; description: string }>
  outputs: Record<string, unknown>
}
const pkg = JSON.parse(read('package.json')) as { name: string; bin: Record<string, string> }

/** The ```yaml blocks of a Markdown text, parsed. */
function yamlBlocks(md: string): string[] {
  return [...md.matchAll(/```yaml\n([\s\S]*?)```/g)].map(m => m[1])
}

describe('the README a newcomer reads', () => {
  test('is short, and links to the full reference', () => {
    expect(README.split('\n').length).toBeLessThan(200)
    expect(README).toContain('](docs/reference.md)')
  })

  test('has the adoption checklist: strata inputs, strata plan, the map form of from, several final images', () => {
    const adopt = README.slice(README.indexOf('## Adopt an existing repository with several Dockerfiles'))
    for (const item of ['`strata inputs`', '`strata plan`', 'from: {', 'Several final images'])
      expect(adopt).toContain(item)
  })

  test('every relative link of the README and docs names a file that exists', () => {
    for (const [file, text] of ALL) {
      for (const m of text.matchAll(/\]\(([^)#\s]+)(#[^)]*)?\)/g)) {
        const target = m[1]
        if (/^[a-z]+:/.test(target)) continue
        expect({ file, target, exists: existsSync(join(root, dirname(file), target)) }).toEqual({
          file,
          target,
          exists: true
        })
      }
    }
  })

  test('keeps a place for the assembly and attestation sections', () => {
    expect(README).toContain('## Assembling layers in the registry')
    expect(README).toContain('## Trust and attestations')
    expect(REFERENCE).toContain('## Assembling layers in the registry')
    expect(REFERENCE).toContain('## Trust and attestations')
  })
})

describe('the CLI is obtained only as Strata’s own package', () => {
  test('package.json: a scoped name and the strata command', () => {
    expect(pkg.name).toBe('@strata-build/strata')
    expect(pkg.bin).toEqual({ strata: 'bin/strata.js' })
  })

  test('no doc tells anyone to run `npx strata` (the bare name is another project)', () => {
    for (const [file, text] of ALL) {
      const lines = text
        .split('\n')
        .filter(l => /npx strata\b/.test(l) && !/[Nn]ever (run )?`npx strata/.test(l))
      expect({ file, lines }).toEqual({ file, lines: [] })
    }
  })

  test('the README installs the tarball npm pack makes of this package, or runs the bundle from a clone', () => {
    const tarball = `${pkg.name.replace(/^@/, '').replace('/', '-')}-`
    expect(README).toContain(`npm install -g ./${tarball}`)
    expect(README).toContain('node dist/cli/index.js')
    expect(existsSync(join(root, 'dist/cli/index.js'))).toBe(true)
  })
})

describe('README, docs and action.yml agree', () => {
  test('modes: every mode of action.yml is in the reference, and the README says the default', () => {
    const modes = [...action.inputs.mode.description.matchAll(/`(\w+)`:/g)].map(m => m[1])
    expect(modes).toEqual(['plan', 'build', 'merge', 'cleanup'])
    for (const m of modes) expect(REFERENCE).toContain(`mode: ${m}`)
    expect(README).toContain(`\`mode\` defaults to \`${String(action.inputs.mode.default)}\``)
  })

  test('every input and output of action.yml is in the reference', () => {
    for (const name of [...Object.keys(action.inputs), ...Object.keys(action.outputs)])
      expect({
        name,
        documented: REFERENCE.includes(`\`${name}\``) || REFERENCE.includes(`\n    ${name}:`)
      }).toEqual({
        name,
        documented: true
      })
  })

  test('the outputs the README names exist (per-layer ones as action.yml describes them)', () => {
    const perLayer = String((action.outputs.plan as { description: string }).description)
    for (const name of ['build_<layer>', '<layer>_ref', 'image_ref', 'digest']) {
      expect(README).toContain(`\`${name}\``)
      expect(name in action.outputs || perLayer.includes(`\`${name}\``)).toBe(true)
    }
  })

  test('the config keys in the README are keys of the schema', () => {
    const schema = JSON.parse(read('schema/strata.schema.json')) as {
      properties: Record<string, unknown>
      definitions: { layer: { properties: Record<string, unknown> } }
    }
    const config = parse(yamlBlocks(README)[0]) as { layers: Record<string, Record<string, unknown>> }
    for (const key of Object.keys(config)) expect(Object.keys(schema.properties)).toContain(key)
    for (const l of Object.values(config.layers))
      for (const key of Object.keys(l))
        expect(Object.keys(schema.definitions.layer.properties)).toContain(key)
  })

  test('the build command: buildx bake everywhere; no doc says Strata runs `buildx build --push`', () => {
    expect(README).toContain('docker buildx bake')
    expect(REFERENCE).toContain('docker buildx bake')
    // docs/performance.md compares Strata with plain `docker buildx build`, which is not Strata's command.
    for (const [file, text] of ALL.filter(([f]) => f !== 'docs/performance.md'))
      expect({ file, says: /buildx build --push/.test(text) }).toEqual({ file, says: false })
  })

  test('paths is optional everywhere: no doc asks to list every file', () => {
    for (const [file, text] of ALL)
      expect({ file, says: /(must|should|to) (still )?list every file/i.test(text) }).toEqual({
        file,
        says: false
      })
  })

  test('pinning: every action in the README is pinned by full commit SHA, Strata too', () => {
    const uses = [...README.matchAll(/uses: (\S+)@(\S+)/g)]
    expect(uses.length).toBeGreaterThan(0)
    for (const [, name, ref] of uses) {
      const pinned = /^[0-9a-f]{40}$/.test(ref) || (name === 'strata-build/strata' && ref === '<40-hex')
      expect({ name, ref, pinned }).toEqual({ name, ref, pinned: true })
    }
    expect(REFERENCE).toContain('### Pin Strata by commit SHA')
  })
})

import { existsSync, readdirSync, readFileSync } from 'node:fs'
import * as path from 'node:path'
import { Ajv } from 'ajv'
import { parse } from 'yaml'
import { ConfigError, parseConfig } from '../src/core/config/index.js'

const schema = JSON.parse(readFileSync('schema/strata.schema.json', 'utf8'))
const validate = new Ajv({ allErrors: true, allowUnionTypes: true }).compile(schema)

// SPEC section 1's example, comments aligned by prettier (config.test.ts checks it parses the same).
const SPEC_EXAMPLE = readFileSync('__fixtures__/configs/three-layer.yml', 'utf8')

function configFiles(): string[] {
  const fixtures = readdirSync('__fixtures__/configs')
    .filter(f => f.endsWith('.yml'))
    .map(f => path.join('__fixtures__/configs', f))
  const examples = existsSync('examples')
    ? readdirSync('examples', { recursive: true, encoding: 'utf8' })
        .map(f => path.join('examples', f))
        .filter(f => f.endsWith(`${path.sep}strata.yml`) && !f.includes('node_modules'))
    : []
  return [...fixtures, ...examples]
}

const errorsOf = (text: string): string[] =>
  validate(parse(text)) ? [] : (validate.errors ?? []).map(e => `${e.instancePath} ${e.message}`)

test("the schema accepts SPEC section 1's example", () => {
  expect(errorsOf(SPEC_EXAMPLE)).toEqual([])
})

test('the config files in the repository are found', () => {
  expect(configFiles()).toEqual(
    expect.arrayContaining([
      path.join('__fixtures__/configs', 'three-layer.yml'),
      path.join('__fixtures__/configs', 'retention.yml')
    ])
  )
})

test.each(configFiles())('%s: valid by the schema and by the parser', file => {
  const text = readFileSync(file, 'utf8')
  expect(errorsOf(text)).toEqual([])
  expect(parseConfig(text, file).layers.length).toBeGreaterThan(0)
})

const yml = (...lines: string[]): string => lines.join('\n') + '\n'
const L = ['version: 1', 'image: ghcr.io/acme/app', 'layers:']

// Both reject these; the parser says where, the schema only says that.
test.each([
  ['unknown top-level key', yml('version: 1', 'imgae: r/x', 'layers: { a: }')],
  ['unknown layer key', yml(...L, '  app:', '    dockerfle: Dockerfile')],
  [
    'unknown key in defaults',
    yml('version: 1', 'image: r/x', 'defaults: { platform: [linux/amd64] }', 'layers: { a: }')
  ],
  ['unknown retention rule key', yml(...L, '  a:', 'retention: { default: { pr: { max-age: 7 } } }')],
  ['unknown tag kind', yml(...L, '  a:', 'retention: { default: { prs: { keep: 1 } } }')],
  ['wrong type: always', yml(...L, '  app:', '    always: yes')],
  ['wrong type: paths', yml(...L, '  app:', '    paths: docker/**')],
  ['wrong type: dockerfile', yml(...L, '  app:', '    dockerfile: [a]')],
  ['wrong type: keep', yml(...L, '  a:', 'retention: { default: { branch: { keep: -1 } } }')],
  ['wrong type: from', yml(...L, '  app: { from: 3 }')],
  ['version 2', yml('version: 2', 'image: r/x', 'layers: { a: }')],
  ['empty layers', yml('version: 1', 'image: r/x', 'layers: {}')],
  ['bad layer name', yml(...L, '  1app:')],
  ['unknown cache kind', yml(...L, '  app: { cache: [s3] }')],
  ['bad platform', yml(...L, '  app: { platforms: [linux-amd64] }')],
  ['unknown template variable', yml(...L, "  app: { tags: ['{layer}-{sha8}'] }")],
  ['image with a tag', yml('version: 1', 'image: ghcr.io/acme/app:latest', 'layers: { a: }')]
])('schema and parser both reject: %s', (_, text) => {
  expect(errorsOf(text)).not.toEqual([])
  expect(() => parseConfig(text, 'bad.yml')).toThrow(ConfigError)
})

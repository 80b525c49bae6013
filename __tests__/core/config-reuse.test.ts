// The `reuse` key (SPEC 1, 4a): in a layer and in defaults, and its errors.
import { readFileSync } from 'node:fs'
import { Ajv } from 'ajv'
import { parse } from 'yaml'
import { ConfigError, parseConfig } from '../../src/core/config/index.js'

const FILE = '.github/strata.yml'
const yml = (...lines: string[]): string => lines.join('\n') + '\n'
const L = ['version: 1', 'image: ghcr.io/acme/app']
const schema = JSON.parse(readFileSync('schema/strata.schema.json', 'utf8'))
const validate = new Ajv({ allErrors: true, allowUnionTypes: true }).compile(schema)

test.each<[string, string, Record<string, string | undefined>]>([
  ['unset: left out (means any)', yml(...L, 'layers:', '  a:', '  b:'), { a: undefined, b: undefined }],
  [
    'each value in a layer',
    yml(...L, 'layers:', '  a: { reuse: any }', '  b: { reuse: default-branch }', '  c: { reuse: off }'),
    { a: 'any', b: 'default-branch', c: 'off' }
  ],
  [
    'from defaults, a layer wins',
    yml(...L, 'defaults: { reuse: default-branch }', 'layers:', '  a:', '  b: { reuse: off }'),
    { a: 'default-branch', b: 'off' }
  ]
])('%s', (_name, text, want) => {
  const got = Object.fromEntries(parseConfig(text, FILE).layers.map(l => [l.name, l.reuse]))
  expect(got).toEqual(want)
  expect(validate(parse(text))).toBe(true)
})

test.each([
  [
    'a near miss',
    yml(...L, 'layers:', '  a: { reuse: default }'),
    `${FILE}:4:15: layer "a" has unknown reuse "default" (did you mean "default-branch"?)`
  ],
  [
    'nothing close',
    yml(...L, 'layers:', '  a: { reuse: never }'),
    `${FILE}:4:15: layer "a" has unknown reuse "never" (use verified, any, default-branch or off)`
  ],
  [
    'not a string',
    yml(...L, 'layers:', '  a: { reuse: true }'),
    `${FILE}:4:15: layer "a" key "reuse" must be a string, got true (e.g. reuse: default-branch)`
  ]
])('rejects %s: parser and schema', (_name, text, message) => {
  let err: unknown
  try {
    parseConfig(text, FILE)
  } catch (e) {
    err = e
  }
  expect(err).toBeInstanceOf(ConfigError)
  expect((err as Error).message).toBe(message)
  expect(validate(parse(text))).toBe(false)
})

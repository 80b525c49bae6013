// The action's inputs: the pure parsers as tables, then getInputs() reading real INPUT_* variables.
import {
  InputError,
  parseBoolean,
  parseForce,
  parseKeyValueLines,
  parseList,
  parseMode,
  parsePlatform,
  parsePlatforms,
  parsePositiveInt,
  parsePush,
  resolvePush
} from '../src/core/inputs-parse.js'
import { getInputs } from '../src/inputs.js'

describe('parseList', () => {
  test.each([
    ['', []],
    ['base', ['base']],
    ['base,tooling', ['base', 'tooling']],
    [' base , tooling ,', ['base', 'tooling']],
    ['base\ntooling\n\napp\n', ['base', 'tooling', 'app']],
    ['base,\n tooling', ['base', 'tooling']],
    ['app,app', ['app']]
  ])('[%#] %j → %j', (text, expected) => {
    expect(parseList(text)).toEqual(expected)
  })
})

describe('parseKeyValueLines', () => {
  test.each([
    ['', {}],
    ['NODE=20', { NODE: '20' }],
    ['A=1\nB=x=y\n', { A: '1', B: 'x=y' }],
    ['# comment\n\n  A = spaced value  \n', { A: ' spaced value' }],
    ['EMPTY=', { EMPTY: '' }]
  ])('[%#] %j → %j', (text, expected) => {
    expect(parseKeyValueLines('build-args', text)).toEqual(expected)
  })

  test.each([
    ['NOEQUALS', 'input "build-args" is "NOEQUALS": each line must be KEY=VALUE, e.g. NODE_VERSION=20'],
    ['=value', 'input "build-args" is "=value": each line must be KEY=VALUE, e.g. NODE_VERSION=20'],
    ['A B=1', 'input "build-args" is "A B=1": "A B" is not a build-arg name']
  ])('[%#] rejects %j naming the input and the fix', (text, message) => {
    expect(() => parseKeyValueLines('build-args', text)).toThrow(message)
  })
})

describe('parseBoolean, parseMode, parsePush, parseForce, parsePositiveInt, parsePlatforms', () => {
  test.each([
    ['true', true],
    ['True', true],
    ['FALSE', false],
    [' false ', false]
  ])('[%#] boolean %j → %j', (text, expected) => {
    expect(parseBoolean('dry-run', text)).toBe(expected)
  })

  test('a boolean that is not one names the input and the value', () => {
    expect(() => parseBoolean('dry-run', 'yes')).toThrow('input "dry-run" is "yes": must be true or false')
  })

  test.each([
    ['', 'build'],
    ['plan', 'plan'],
    ['build', 'build'],
    ['merge', 'merge'],
    ['cleanup', 'cleanup']
  ])('[%#] mode %j → %s', (text, expected) => {
    expect(parseMode(text)).toBe(expected)
  })

  test('an unknown mode says which modes exist', () => {
    expect(() => parseMode('deploy')).toThrow(
      'input "mode" is "deploy": must be plan, build, merge or cleanup'
    )
  })

  test.each([
    ['', 'auto'],
    ['auto', 'auto'],
    ['true', true],
    ['TRUE', true],
    ['false', false]
  ])('[%#] push %j → %j', (text, expected) => {
    expect(parsePush(text)).toBe(expected)
  })

  test('push must be auto, true or false', () => {
    expect(() => parsePush('maybe')).toThrow('input "push" is "maybe": must be auto, true or false')
    expect(() => parsePush('maybe')).toThrow(InputError)
  })

  test.each([
    ['', []],
    ['all', 'all'],
    ['ALL', 'all'],
    ['base', ['base']],
    ['base,tooling', ['base', 'tooling']]
  ])('[%#] force %j → %j', (text, expected) => {
    expect(parseForce(text)).toEqual(expected)
  })

  test('force cannot mix all with names', () => {
    expect(() => parseForce('all,base')).toThrow(
      'input "force" is "all,base": use either `all` or layer names'
    )
  })

  test.each([
    ['', 20],
    ['0', 0],
    ['5', 5]
  ])('[%#] max-deletions %j → %d', (text, expected) => {
    expect(parsePositiveInt('max-deletions', text, 20)).toBe(expected)
  })

  test.each(['-1', '2.5', 'ten'])('max-deletions %j is refused', text => {
    expect(() => parsePositiveInt('max-deletions', text, 20)).toThrow(
      `input "max-deletions" is "${text}": must be a whole number`
    )
  })

  test.each([
    ['', undefined],
    ['linux/amd64', ['linux/amd64']],
    ['linux/amd64,linux/arm64', ['linux/amd64', 'linux/arm64']],
    ['linux/arm/v7\nlinux/386', ['linux/arm/v7', 'linux/386']]
  ])('[%#] platforms %j → %j', (text, expected) => {
    expect(parsePlatforms(text)).toEqual(expected)
  })

  test('a platform that is not os/arch is refused', () => {
    expect(() => parsePlatforms('amd64')).toThrow('input "platforms" is "amd64": each platform is os/arch')
  })

  test.each([
    ['', undefined],
    [' linux/arm64 ', 'linux/arm64'],
    ['linux/arm/v7', 'linux/arm/v7']
  ])('[%#] platform %j → %j', (text, expected) => {
    expect(parsePlatform(text)).toBe(expected)
  })

  test.each([
    [
      'linux/amd64,linux/arm64',
      'input "platform" is "linux/amd64,linux/arm64": name one platform, e.g. linux/arm64'
    ],
    ['arm64', 'input "platforms" is "arm64": each platform is os/arch']
  ])('[%#] platform %j is refused', (text, message) => {
    expect(() => parsePlatform(text)).toThrow(message)
  })
})

describe('resolvePush', () => {
  test.each([
    ['auto', undefined, true],
    ['auto', { fork: false }, true],
    ['auto', { fork: true }, false],
    [true, { fork: true }, true],
    [false, undefined, false]
  ] as const)('[%#] push %j with pr %j → %j', (push, pr, expected) => {
    expect(resolvePush(push, pr)).toBe(expected)
  })
})

describe('getInputs', () => {
  const saved = { ...process.env }
  afterEach(() => {
    for (const k of Object.keys(process.env)) if (k.startsWith('INPUT_')) delete process.env[k]
    Object.assign(process.env, saved)
  })

  /** Sets inputs the way the runner does: INPUT_<NAME upper-cased>, hyphens kept. */
  function setInputs(inputs: Record<string, string>): void {
    for (const [k, v] of Object.entries(inputs))
      process.env[`INPUT_${k.replace(/ /g, '_').toUpperCase()}`] = v
  }

  test('the action.yml defaults give build mode over every layer, push auto, summary on', () => {
    setInputs({
      config: '.github/strata.yml',
      mode: 'build',
      push: 'auto',
      token: 'ghs_x',
      'dry-run': 'false',
      summary: 'true',
      'max-deletions': '20'
    })
    expect(getInputs()).toEqual({
      config: '.github/strata.yml',
      mode: 'build',
      layers: undefined,
      plan: undefined,
      force: [],
      push: 'auto',
      token: 'ghs_x',
      base: undefined,
      head: undefined,
      platforms: undefined,
      platform: undefined,
      digests: [],
      runners: {},
      buildArgs: {},
      builder: undefined,
      dryRun: false,
      summary: true,
      maxDeletions: 20,
      attest: 'auto'
    })
  })

  test('every input is read into its typed field', () => {
    setInputs({
      config: 'ci/layers.yml',
      mode: 'plan',
      layers: 'base\ntooling',
      plan: '{"layers":{}}',
      force: 'all',
      push: 'false',
      base: 'abc',
      head: 'def',
      platforms: 'linux/amd64,linux/arm64',
      'build-args': 'A=1\nB=2',
      builder: 'remote',
      'dry-run': 'true',
      summary: 'false',
      'max-deletions': '3',
      platform: 'linux/arm64',
      digests: `linux/amd64=sha256:${'a'.repeat(64)}`,
      runners: 'linux/arm64: ubuntu-24.04-arm'
    })
    const inputs = getInputs()
    expect(inputs).toMatchObject({
      config: 'ci/layers.yml',
      mode: 'plan',
      layers: ['base', 'tooling'],
      plan: '{"layers":{}}',
      force: 'all',
      push: false,
      base: 'abc',
      head: 'def',
      platforms: ['linux/amd64', 'linux/arm64'],
      buildArgs: { A: '1', B: '2' },
      builder: 'remote',
      dryRun: true,
      summary: false,
      maxDeletions: 3,
      platform: 'linux/arm64',
      digests: [{ platform: 'linux/amd64', digest: `sha256:${'a'.repeat(64)}` }],
      runners: { 'linux/arm64': 'ubuntu-24.04-arm' }
    })
    expect(Object.isFrozen(inputs)).toBe(true)
  })

  test('a bad value fails with the input, the value and the fix', () => {
    setInputs({ push: 'sometimes' })
    expect(() => getInputs()).toThrow('input "push" is "sometimes": must be auto, true or false')
  })
})

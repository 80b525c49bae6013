// makeSettings(): raw input text → the settings of each mode, every value checked once. Pure tables.
import {
  DEFAULT_MAX_DELETIONS,
  makeSettings,
  parseInputs,
  runnerEnv,
  type RawSettings,
  type SettingsEnv
} from '../../src/core/settings.js'

const NOW = new Date('2026-01-02T03:04:05Z')
const D1 = `sha256:${'1'.repeat(64)}`
const env: SettingsEnv = {
  workspace: '/repo',
  eventName: 'push',
  payload: { ref: 'refs/heads/main' },
  runner: { GITHUB_REPOSITORY: 'acme/sindri', GITHUB_REF: 'refs/heads/main', GITHUB_EVENT_NAME: 'push' },
  runnerTemp: '/tmp/run',
  buildEnv: { ACTIONS_CACHE_URL: 'http://cache' },
  now: NOW,
  apiUrl: 'https://api.example',
  trust: { serverUrl: 'https://github.com', strataWorkflows: [] }
}
const common = {
  workspace: '/repo',
  configPath: '.github/strata.yml',
  eventName: 'push',
  payload: env.payload,
  env: env.runner,
  now: NOW
}
/** Modes plan, build and merge with every input at its default. */
const planDefaults = {
  ...common,
  layers: undefined,
  plan: undefined,
  force: [],
  push: 'auto',
  base: undefined,
  head: undefined,
  platforms: undefined,
  platform: undefined,
  digests: [],
  buildArgs: {},
  builder: undefined,
  dryRun: false,
  runnerTemp: '/tmp/run',
  buildEnv: env.buildEnv,
  attest: 'auto',
  trust: env.trust,
  summary: true,
  runners: {}
}

describe('every mode, its defaults and its own fields', () => {
  test.each<[string, RawSettings, object]>([
    ['no input at all: build', {}, { ...planDefaults, mode: 'build' }],
    [
      'empty texts are defaults',
      { mode: '', config: ' ', push: '', 'dry-run': '' },
      { ...planDefaults, mode: 'build' }
    ],
    ['plan', { mode: 'plan' }, { ...planDefaults, mode: 'plan' }],
    [
      'build with every input',
      {
        mode: 'build',
        config: 'ci/layers.yml',
        layers: 'base, app',
        force: 'all',
        push: 'false',
        base: 'abc123',
        head: 'def456',
        platforms: 'linux/amd64,linux/arm64',
        platform: 'linux/arm64',
        'build-args': 'A=1\n# note\nB=x=y',
        builder: 'remote',
        'dry-run': 'true',
        summary: 'false',
        runners: 'linux/arm64: ubuntu-24.04-arm',
        attest: 'true',
        token: 'ghs_x'
      },
      {
        ...planDefaults,
        mode: 'build',
        configPath: 'ci/layers.yml',
        layers: ['base', 'app'],
        force: 'all',
        push: false,
        base: 'abc123',
        head: 'def456',
        platforms: ['linux/amd64', 'linux/arm64'],
        platform: 'linux/arm64',
        buildArgs: { A: '1', B: 'x=y' },
        builder: 'remote',
        dryRun: true,
        summary: false,
        runners: { 'linux/arm64': 'ubuntu-24.04-arm' },
        attest: true
      }
    ],
    [
      'merge: the plan and the digests',
      { mode: 'merge', plan: '{"layers":{}}', digests: `linux/amd64=${D1}` },
      {
        ...planDefaults,
        mode: 'merge',
        plan: '{"layers":{}}',
        digests: [{ platform: 'linux/amd64', digest: D1 }]
      }
    ],
    [
      'cleanup: its budget, token, API and repository; nothing of building',
      { mode: 'cleanup', 'max-deletions': '7', 'dry-run': 'TRUE', token: 'ghs_x', summary: 'false' },
      {
        ...common,
        mode: 'cleanup',
        dryRun: true,
        maxDeletions: 7,
        token: 'ghs_x',
        apiUrl: 'https://api.example',
        repository: 'acme/sindri',
        summary: false
      }
    ],
    [
      'cleanup defaults: 20 deletions, no token',
      { mode: 'cleanup' },
      {
        ...common,
        mode: 'cleanup',
        dryRun: false,
        maxDeletions: DEFAULT_MAX_DELETIONS,
        token: undefined,
        apiUrl: 'https://api.example',
        repository: 'acme/sindri',
        summary: true
      }
    ]
  ])('%s', (_name, raw, want) => {
    expect(makeSettings(raw, env)).toStrictEqual(want)
  })

  test('the default max-deletions is 20', () => {
    expect(DEFAULT_MAX_DELETIONS).toBe(20)
  })

  test('without trust services the settings name no trust', () => {
    const { trust: _, ...noTrust } = env
    expect(makeSettings({ mode: 'plan' }, noTrust)).not.toHaveProperty('trust')
  })
})

describe('each invalid value fails with its input, the value and the fix', () => {
  test.each<[RawSettings, string]>([
    [{ mode: 'deploy' }, 'input "mode" is "deploy": must be plan, build, merge or cleanup'],
    [{ force: 'all,base' }, 'input "force" is "all,base": use either `all` or layer names, not both'],
    [{ push: 'sometimes' }, 'input "push" is "sometimes": must be auto, true or false'],
    [{ base: '--upload-pack=x' }, 'input "base" is "--upload-pack=x": give a commit sha'],
    [{ head: 'a..b' }, 'input "head" is "a..b": give a commit sha'],
    [
      { platforms: 'amd64' },
      'input "platforms" is "amd64": each platform is os/arch, e.g. linux/amd64,linux/arm64'
    ],
    [
      { platform: 'linux/amd64,linux/arm64' },
      'input "platform" is "linux/amd64,linux/arm64": name one platform'
    ],
    [{ digests: 'linux/amd64' }, 'input "digests" is "linux/amd64": each line must be <platform>=<digest>'],
    [{ runners: 'arm64' }, 'input "runners" is "arm64": each line must be <platform>: <runner label>'],
    [{ 'build-args': 'NOEQUALS' }, 'input "build-args" is "NOEQUALS": each line must be KEY=VALUE'],
    [{ builder: '-x' }, 'input "builder" is "-x": a builder name is letters, digits'],
    [{ 'dry-run': 'yes' }, 'input "dry-run" is "yes": must be true or false'],
    [{ summary: 'off' }, 'input "summary" is "off": must be true or false'],
    [{ 'max-deletions': 'ten' }, 'input "max-deletions" is "ten": must be a whole number, e.g. 20'],
    [{ 'max-deletions': '-1' }, 'input "max-deletions" is "-1": must be a whole number'],
    [{ attest: 'always' }, 'input "attest" is "always": must be auto, true or false'],
    [{ mode: 'merge' }, 'mode: merge needs the `plan` input: the plan that the platform steps followed']
  ])('%j', (raw, message) => {
    expect(() => makeSettings(raw, env)).toThrow(message)
  })

  test('every input is checked whatever the mode: a bad max-deletions fails a build too', () => {
    expect(() => makeSettings({ mode: 'build', 'max-deletions': 'x' }, env)).toThrow('input "max-deletions"')
  })

  test('the first bad input in action.yml order is the one named', () => {
    expect(() => makeSettings({ push: 'x', 'max-deletions': 'y' }, env)).toThrow('input "push"')
  })
})

describe('the CLI names its flags in errors', () => {
  const flags = {
    force: '--force',
    platforms: '--platforms',
    'build-args': '--build-arg',
    builder: '--builder',
    'max-deletions': '--max-deletions'
  }
  test.each<[RawSettings, string]>([
    [{ 'max-deletions': 'ten' }, '--max-deletions is "ten": must be a whole number, e.g. 20'],
    [{ 'build-args': 'A B=1' }, '--build-arg is "A B=1": "A B" is not a build-arg name'],
    [{ builder: 'a b' }, '--builder is "a b": a builder name is letters'],
    [{ force: 'all,app' }, '--force is "all,app": use either `all` or layer names'],
    [{ platforms: 'arm' }, '--platforms is "arm": each platform is os/arch']
  ])('%j', (raw, message) => {
    expect(() => makeSettings(raw, env, flags)).toThrow(message)
  })
})

test('parseInputs: the same values by field, for a reader of the inputs alone', () => {
  expect(parseInputs({ mode: 'cleanup', 'max-deletions': '3', token: 't' })).toMatchObject({
    mode: 'cleanup',
    config: '.github/strata.yml',
    maxDeletions: 3,
    token: 't',
    summary: true
  })
})

test('runnerEnv: the runner variables that describe the event, and nothing else', () => {
  expect(
    runnerEnv({
      GITHUB_REPOSITORY: 'a/b',
      GITHUB_REF: 'refs/pull/1/merge',
      GITHUB_SHA: 'c0ffee',
      GITHUB_HEAD_REF: 'feature',
      GITHUB_BASE_REF: 'main',
      GITHUB_TOKEN: 'secret',
      HOME: '/root'
    })
  ).toStrictEqual({
    GITHUB_REPOSITORY: 'a/b',
    GITHUB_REF: 'refs/pull/1/merge',
    GITHUB_SHA: 'c0ffee',
    GITHUB_EVENT_NAME: '',
    GITHUB_HEAD_REF: 'feature',
    GITHUB_BASE_REF: 'main'
  })
})

// Names that reach docker's command line (issue 13 item 5, SPEC 10), through the real pipeline with
// the real buildx and registry adapters: a hostile name is a config or input error before any docker
// process starts; the same config with ordinary names plans against the real registry.
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals'
import { copyFileSync } from 'node:fs'
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { loadEvent } from '../__fixtures__/events/index.js'
import { createTerminalLogger } from '../src/adapters/terminal-log.js'
import { createBuildx } from '../src/adapters/buildx.js'
import { createRegistry } from '../src/adapters/registry.js'
import { ConfigError } from '../src/core/config/index.js'
import { InputError, parseBuilder } from '../src/core/inputs-parse.js'
import type { PlanSettings } from '../src/core/settings.js'
import { runPipeline } from '../src/run.js'
import { createGit } from '../src/adapters/git.js'
import { createWorkspaceFiles } from '../src/adapters/workspace-files.js'

const REPO = `localhost:5000/strata-test/names-${Date.now().toString(36)}`
let ws: string

beforeAll(async () => {
  ws = await mkdtemp(join(tmpdir(), 'strata-names-'))
  await mkdir(join(ws, '.github'))
  copyFileSync('/bin/busybox', join(ws, 'busybox'))
  await writeFile(join(ws, 'Dockerfile'), 'FROM scratch AS final\nCOPY busybox /bin/busybox\n')
})
afterAll(async () => rm(ws, { recursive: true, force: true }))

async function run(
  layerLines: string[],
  image = REPO,
  mode: PlanSettings['mode'] = 'build'
): Promise<unknown> {
  await writeFile(
    join(ws, '.github/strata.yml'),
    ['version: 1', `image: ${JSON.stringify(image)}`, 'layers:', '  app:', ...layerLines].join('\n')
  )
  const { eventName, payload, env } = loadEvent('push')
  const lines: string[] = []
  return runPipeline(
    {
      mode,
      workspace: ws,
      configPath: '.github/strata.yml',
      eventName,
      payload,
      env,
      now: new Date(),
      force: 'all',
      push: false,
      buildArgs: {},
      dryRun: true,
      runnerTemp: ws,
      buildEnv: {}
    },
    {
      log: createTerminalLogger({ write: l => void lines.push(l) }),
      registry: createRegistry(),
      buildx: createBuildx(),
      files: createWorkspaceFiles(ws, createGit(ws))
    }
  )
}

// [what, layer lines, image, the error's start (after file:line:column)]
const HOSTILE: [string, string[], string, string][] = [
  ['image --help', [], '--help', 'the config key "image" is not a repository: "--help"'],
  ['image -q', [], '-q', 'the config key "image" is not a repository: "-q"'],
  ['image --push=true', [], '--push=true', 'the config key "image" is not a repository'],
  ['image with a space and an option', [], `${REPO} --push`, 'the config key "image" is not a repository'],
  ['image with a tag', [], `${REPO}:latest`, 'the config key "image" is not a repository'],
  [
    'image in a layer',
    ['    image: --version'],
    REPO,
    'layer "app" key "image" is not a repository: "--version"'
  ],
  ['context --help', ['    context: --help'], REPO, 'layer "app" key "context" "--help" starts with "-"'],
  ['context - (stdin)', ['    context: "-"'], REPO, 'layer "app" key "context" "-" starts with "-"'],
  ['dockerfile -', ['    dockerfile: "-"'], REPO, 'layer "app" key "dockerfile" "-" starts with "-"'],
  [
    'dockerfile --file=x',
    ['    dockerfile: --file=x'],
    REPO,
    'layer "app" key "dockerfile" "--file=x" starts with "-"'
  ],
  [
    'target --push',
    ['    target: --push'],
    REPO,
    'layer "app" key "target": "--push" is not a build stage name'
  ],
  ['platform --help', ['    platforms: [--help]'], REPO, 'layer "app" has bad platform "--help"'],
  ['build-arg key --x', ['    build-args: { --x: 1 }'], REPO, 'layer "app" has bad build-args name "--x"'],
  ['label key --x', ['    labels: { --x: 1 }'], REPO, 'layer "app" labels: "--x" is not a label key'],
  [
    'secret --help',
    ['    secrets: [--help]'],
    REPO,
    'layer "app": secret "--help=…" is not an environment variable name'
  ],
  [
    'stable-tag of only dashes',
    ['    stable-tag: "---"'],
    REPO,
    'layer "app" stable tag "---" is empty once sanitized'
  ]
]

describe('a hostile name in the config never reaches docker', () => {
  test.each(HOSTILE)('%s', async (_what, lines, image, message) => {
    const err = await run(lines, image).then(
      () => new Error('the pipeline did not fail'),
      (e: Error) => e
    )
    expect(err.message.replace(/^\.github\/strata\.yml:\d+:\d+: /, '')).toMatch(
      new RegExp(`^${message.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`)
    )
    expect(err).toBeInstanceOf(ConfigError)
  })
})

test('the same config with ordinary names plans against the real registry', async () => {
  const outcome = (await run(['    target: final', '    platforms: [linux/amd64]'], REPO, 'plan')) as {
    plan: { layers: Record<string, { tags: string[] }> }
  }
  expect(outcome.plan.layers.app.tags[0]).toMatch(new RegExp(`^${REPO}:main-[0-9a-f]{7}$`))
})

test.each([
  '--help',
  '-',
  '-x',
  'a b',
  'x;y',
  '::error::x',
  '$(id)',
  '--builder=x',
  ' '.repeat(3) + '--help'
])('builder %j is an input error', name => {
  expect(() => parseBuilder('builder', name)).toThrow(InputError)
  expect(() => parseBuilder('builder', name)).toThrow(
    `input "builder" is ${JSON.stringify(name)}: a builder name is`
  )
})

test.each([
  ['default', 'default'],
  ['  strata-test  ', 'strata-test'],
  ['', undefined],
  ['b1.x_y-z', 'b1.x_y-z']
])('builder %j is %j', (name, expected) => {
  expect(parseBuilder('builder', name)).toBe(expected)
})

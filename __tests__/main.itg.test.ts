// The action end to end, as the runner starts it: run() with INPUT_* and GITHUB_* variables, the event
// payload in a file, GITHUB_OUTPUT and GITHUB_STEP_SUMMARY files, a real git repository made from
// examples/three-layer, the local GitHub API server, and the real buildx and registry of scripts/stack.sh.
// Every docker command goes through a recorder on PATH that logs its argv and runs the real docker.
import { execFileSync } from 'node:child_process'
import {
  chmodSync,
  copyFileSync,
  cpSync,
  existsSync,
  mkdtempSync,
  readFileSync,
  writeFileSync
} from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { loadEvent } from '../__fixtures__/events/index.js'
import {
  commitFiles,
  git,
  startGitHubApiServer,
  type GitHubApiServer
} from '../__fixtures__/github-api-server.js'
import { digestOf, uniqueRepo } from '../__fixtures__/images/index.js'
import { parsePlanInput } from '../src/core/plan.js'
import { run } from '../src/main.js'
import { jest } from '@jest/globals'

// testTimeout is a global option: a project's own does not apply. Builds of tiny images, a few a test.
jest.setTimeout(300_000)

const root = join(dirname(fileURLToPath(import.meta.url)), '..')
const tmp = mkdtempSync(join(tmpdir(), 'strata-main-'))
const repoDir = join(tmp, 'repo')
const image = uniqueRepo('main')
const dockerLog = join(tmp, 'docker.log')
const summaryFile = join(tmp, 'summary.md')
const realDocker = execFileSync('sh', ['-c', 'command -v docker'], { encoding: 'utf8' }).trim()
const savedEnv = { ...process.env }
let server: GitHubApiServer
let c0: string // the example as it is
let c1: string // a base-only change
let c2: string // an application-only change (made by a later test)

beforeAll(async () => {
  cpSync(join(root, 'examples/three-layer'), repoDir, { recursive: true })
  const configFile = join(repoDir, '.github/strata.yml')
  // These tests follow the BuildKit path (one bake session); the example's app layer would otherwise be
  // assembled in the registry (SPEC 7a), which assemble-step.itg.test.ts tests.
  const text = readFileSync(configFile, 'utf8').replace('localhost:5000/strata-example', image)
  writeFileSync(configFile, text.replace('defaults:\n', 'defaults:\n  assemble: off\n'))
  copyFileSync('/bin/busybox', join(repoDir, 'busybox')) // ignored by the example's .gitignore
  git(repoDir, 'init', '-q', '-b', 'main')
  git(repoDir, 'add', '-A')
  git(repoDir, 'commit', '-q', '-m', 'three layers')
  c0 = git(repoDir, 'rev-parse', 'HEAD')
  c1 = commitFiles(
    repoDir,
    {
      'docker/scripts/install-packages.sh': `${readFileSync(join(repoDir, 'docker/scripts/install-packages.sh'), 'utf8')}echo c1 > /etc/c1\n`
    },
    'base: one more step'
  )
  server = await startGitHubApiServer({ repoDir, owner: 'acme', repo: 'sindri', defaultBranch: 'main' })

  // The docker recorder: logs each command line, then runs the real docker with the same argv.
  const bin = join(tmp, 'bin')
  execFileSync('mkdir', ['-p', bin])
  writeFileSync(
    join(bin, 'docker'),
    `#!/bin/sh\nprintf '%s\\n' "$*" >> '${dockerLog}'\nexec '${realDocker}' "$@"\n`
  )
  chmodSync(join(bin, 'docker'), 0o755)
  process.env.PATH = `${bin}:${process.env.PATH}`
})

afterAll(async () => {
  await server?.close()
  process.env = savedEnv
})

interface Step {
  outputs: Record<string, string>
  summary: string
  exitCode: number | string | undefined
  docker: string[]
}

/** Reads a GITHUB_OUTPUT file: `name<<DELIMITER\nvalue\nDELIMITER\n` entries. */
function readOutputs(file: string): Record<string, string> {
  const out: Record<string, string> = {}
  const lines = readFileSync(file, 'utf8').split('\n')
  for (let i = 0; i < lines.length; i++) {
    const m = /^([^<]+)<<(.+)$/.exec(lines[i])
    if (!m) continue
    const value: string[] = []
    for (i++; i < lines.length && lines[i] !== m[2]; i++) value.push(lines[i])
    out[m[1]] = value.join('\n')
  }
  return out
}

/** One step of a workflow run: env as the runner sets it, then run(). */
async function step(event: ReturnType<typeof loadEvent>, inputs: Record<string, string>): Promise<Step> {
  const dir = mkdtempSync(join(tmp, 'step-'))
  for (const k of Object.keys(process.env)) if (k.startsWith('INPUT_')) delete process.env[k]
  const defaults = {
    config: '.github/strata.yml',
    mode: 'build',
    push: 'auto',
    token: 'ghs_test',
    summary: 'true'
  }
  for (const [k, v] of Object.entries({ ...defaults, ...inputs })) process.env[`INPUT_${k.toUpperCase()}`] = v
  writeFileSync(join(dir, 'event.json'), JSON.stringify(event.payload))
  writeFileSync(join(dir, 'output'), '')
  // One summary file for every step: @actions/core keeps the first GITHUB_STEP_SUMMARY path it reads
  // for the life of the process, and here every step runs in this one process.
  writeFileSync(summaryFile, '')
  writeFileSync(dockerLog, '')
  Object.assign(process.env, event.env, {
    GITHUB_EVENT_PATH: join(dir, 'event.json'),
    GITHUB_WORKSPACE: repoDir,
    GITHUB_API_URL: server.url,
    GITHUB_SERVER_URL: 'https://github.com',
    RUNNER_TEMP: dir,
    GITHUB_OUTPUT: join(dir, 'output'),
    GITHUB_STEP_SUMMARY: summaryFile
  })
  delete process.env.ACTIONS_RUNTIME_TOKEN
  process.exitCode = undefined
  await run()
  const exitCode = process.exitCode
  process.exitCode = undefined
  return {
    outputs: readOutputs(join(dir, 'output')),
    summary: readFileSync(summaryFile, 'utf8'),
    exitCode,
    docker: readFileSync(dockerLog, 'utf8').split('\n').filter(Boolean)
  }
}

function pullRequest(base: string, head: string) {
  const event = loadEvent('pull_request', { base, head })
  event.payload.pull_request.changed_files = Number(
    git(repoDir, 'diff', '--name-only', `${base}...${head}`).split('\n').filter(Boolean).length
  )
  return event
}

test('mode plan on an empty registry: every layer bootstraps, nothing is built or pushed', async () => {
  await server.addPull({
    number: 42,
    baseRef: 'main',
    baseSha: c0,
    headSha: c1,
    headRef: 'feature/tooling-sshd'
  })
  const s = await step(pullRequest(c0, c1), { mode: 'plan' })

  expect(s.exitCode).toBeUndefined()
  expect(s.outputs).toMatchObject({ build_base: 'true', build_tooling: 'true', build_app: 'true' })
  const plan = parsePlanInput(s.outputs.plan)
  expect(plan.layers.base.reasons).toEqual(['1 changed file matches', 'no base-stable in registry'])
  expect(plan.layers.tooling.reasons).toEqual(['parent base rebuilt', 'no tooling-stable in registry'])
  expect(plan.changes).toEqual({ source: 'api', count: 1 })
  expect(plan.base).toBe(c0)
  expect(plan.head).toBe(c1)
  expect(JSON.parse(s.outputs.changed_files)).toEqual(['docker/scripts/install-packages.sh'])
  expect(s.outputs.image_ref).toBe(`${image}:pr-42-${c1.slice(0, 7)}`)
  expect(s.outputs.digest).toBe('')

  // The changed files came from the pull request files endpoint.
  expect(server.requests.some(r => r.path === '/repos/acme/sindri/pulls/42/files')).toBe(true)
  // plan-file: the whole plan and every changed file.
  const file = JSON.parse(readFileSync(s.outputs['plan-file'], 'utf8'))
  expect(file.changed_files).toEqual(['docker/scripts/install-packages.sh'])
  expect(file.layers.base.matches).toEqual([
    { path: 'docker/scripts/install-packages.sh', pattern: 'Dockerfile.base:6 COPY' }
  ])
  // Registry look-ups only, over HTTP (no docker process for them), never a build.
  expect(s.docker.filter(l => l.startsWith('buildx build'))).toEqual([])
  expect(s.docker.filter(l => l.includes('imagetools'))).toEqual([])
  expect(await digestOf(`${image}:base-pr-42-${c1.slice(0, 7)}`)).toBeUndefined()
  expect(s.summary).toContain('| base |')
})

test('mode build on a push to main builds and pushes all three layers and moves the stable tags', async () => {
  const s = await step(loadEvent('push', { before: c0, after: c1 }), { mode: 'build' })

  expect(s.exitCode).toBeUndefined()
  expect(s.outputs).toMatchObject({ build_base: 'true', build_tooling: 'true', build_app: 'true' })
  // One bake session for the three layers (SPEC 7). (Tag moves go through the registry adapter.)
  expect(s.docker.filter(l => l.startsWith('buildx bake'))).toHaveLength(1)
  expect(s.docker.filter(l => l.startsWith('buildx build'))).toEqual([])
  const sha7 = c1.slice(0, 7)
  for (const [layer, tag] of [
    ['base', `base-${sha7}`],
    ['tooling', `tooling-${sha7}`],
    ['app', `main-${sha7}`]
  ]) {
    const digest = await digestOf(`${image}:${tag}`)
    expect(digest).toMatch(/^sha256:[0-9a-f]{64}$/)
    expect(s.outputs[`${layer}_ref`]).toBe(`${image}:${tag}@${digest}`)
  }
  expect(s.outputs.image_ref).toBe(s.outputs.app_ref)
  expect(s.outputs.digest).toBe(await digestOf(`${image}:main-${sha7}`))
  // Stable tags moved to the new images.
  expect(await digestOf(`${image}:base-stable`)).toBe(await digestOf(`${image}:base-${sha7}`))
  expect(await digestOf(`${image}:latest`)).toBe(s.outputs.digest)
  expect(s.summary).toMatch(/\| app \| .*built/)
})

test('mode plan on an application-only pull request reuses base and tooling by digest', async () => {
  c2 = commitFiles(
    repoDir,
    { 'docker/app/hello.sh': `${readFileSync(join(repoDir, 'docker/app/hello.sh'), 'utf8')}echo c2\n` },
    'app: say more'
  )
  await server.addPull({ number: 43, baseRef: 'main', baseSha: c1, headSha: c2, headRef: 'feature/app' })
  const event = pullRequest(c1, c2)
  event.payload.number = 43
  event.payload.pull_request.number = 43
  const s = await step(event, { mode: 'plan' })

  expect(s.exitCode).toBeUndefined()
  expect(s.outputs).toMatchObject({ build_base: 'false', build_tooling: 'false', build_app: 'true' })
  expect(s.outputs.base_ref).toBe(`${image}:base-stable@${await digestOf(`${image}:base-stable`)}`)
  expect(s.outputs.tooling_ref).toBe(`${image}:tooling-stable@${await digestOf(`${image}:tooling-stable`)}`)
  expect(JSON.parse(s.outputs.changed_files)).toEqual(['docker/app/hello.sh'])
  expect(parsePlanInput(s.outputs.plan).layers.app.reasons).toEqual(['1 changed file matches', 'always'])
  expect(s.docker.filter(l => l.startsWith('buildx build'))).toEqual([])
  expect(s.docker.filter(l => l.includes('imagetools'))).toEqual([])

  // A later job follows that plan for its one layer: only app builds, FROM the pinned tooling digest.
  const follow = await step(event, { mode: 'build', plan: s.outputs.plan, layers: 'app' })
  expect(follow.exitCode).toBeUndefined()
  const builds = follow.docker.filter(l => l.startsWith('buildx bake'))
  expect(builds).toHaveLength(1)
  const argv = builds[0].split(' ')
  expect(argv.at(-1)).toBe('app')
  const definition = JSON.parse(readFileSync(argv[argv.indexOf('--file') + 1], 'utf8')) as {
    target: Record<string, { args: Record<string, string>; contexts: Record<string, string> }>
  }
  expect(Object.keys(definition.target)).toEqual(['app'])
  expect(definition.target.app.args.TOOLING_IMAGE).toBe('strata-layer-tooling')
  expect(definition.target.app.contexts).toEqual({
    'strata-layer-tooling': `docker-image://${s.outputs.tooling_ref}`
  })
  const digest = await digestOf(`${image}:pr-43-${c2.slice(0, 7)}`)
  expect(follow.outputs.app_ref).toBe(`${image}:pr-43-${c2.slice(0, 7)}@${digest}`)
  expect(follow.outputs.digest).toBe(digest)
  // Following a plan decides nothing again: no registry look-up of stable tags (only the moving
  // tag's digest before it moves, the way back if a move fails).
  expect(
    follow.docker.filter(l => l.startsWith('buildx imagetools inspect') && !l.includes(`${image}:pr-43 `))
  ).toEqual([])
})

test('dry-run plans and prints the buildx commands without running them', async () => {
  const s = await step(loadEvent('push', { before: c1, after: c2 }), { mode: 'build', 'dry-run': 'true' })
  expect(s.exitCode).toBeUndefined()
  expect(s.outputs).toMatchObject({ build_base: 'false', build_tooling: 'false', build_app: 'true' })
  expect(s.docker.filter(l => /^buildx (build|bake)/.test(l) || l.includes('imagetools create'))).toEqual([])
  expect(s.outputs.app_ref).toBe(`${image}:main-${c2.slice(0, 7)}`)
  expect(await digestOf(`${image}:main-${c2.slice(0, 7)}`)).toBeUndefined()
  expect(s.summary).toContain('dry run')
})

test('a bad input fails the step with the input, the value and the fix', async () => {
  const s = await step(loadEvent('push', { before: c0, after: c1 }), { push: 'sometimes' })
  expect(s.exitCode).toBe(1)
  expect(s.outputs).toEqual({})
  expect(existsSync(join(repoDir, 'busybox'))).toBe(true)
})

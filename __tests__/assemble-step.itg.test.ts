// SPEC 7a through `strata build --push` on a clone of examples/three-layer (its app layer is COPY --link
// only): the first run bakes base and tooling and assembles app after the session; an application-only
// change then runs no docker process at all, pushes the versioned, input and moving tags, is dated by its
// commit, and the image runs.
import { chmodSync, copyFileSync, cpSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { execFileSync } from 'node:child_process'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { jest } from '@jest/globals'
import { commitFiles, git } from '../__fixtures__/github-api-server.js'
import { digestOf, docker, uniqueRepo } from '../__fixtures__/images/index.js'
import { cli } from '../src/cli.js'

jest.setTimeout(300_000)

const root = join(dirname(fileURLToPath(import.meta.url)), '..')
const tmp = mkdtempSync(join(tmpdir(), 'strata-assemble-step-'))
const repo = join(tmp, 'repo')
const image = uniqueRepo('assemble-step')
const dockerLog = join(tmp, 'docker.log')
const savedPath = process.env.PATH
let c0: string

beforeAll(() => {
  cpSync(join(root, 'examples/three-layer'), repo, { recursive: true })
  const configFile = join(repo, '.github/strata.yml')
  writeFileSync(configFile, readFileSync(configFile, 'utf8').replace('localhost:5000/strata-example', image))
  copyFileSync('/bin/busybox', join(repo, 'busybox'))
  git(repo, 'init', '-q', '-b', 'main')
  git(repo, 'add', '-A')
  git(repo, 'commit', '-q', '-m', 'three layers')
  c0 = git(repo, 'rev-parse', 'HEAD')
  // Every docker process Strata starts is logged, then run for real.
  const real = execFileSync('sh', ['-c', 'command -v docker'], { encoding: 'utf8' }).trim()
  const bin = join(tmp, 'bin')
  mkdirSync(bin)
  writeFileSync(
    join(bin, 'docker'),
    `#!/bin/sh\nprintf '%s\\n' "$*" >> '${dockerLog}'\nexec '${real}' "$@"\n`
  )
  chmodSync(join(bin, 'docker'), 0o755)
  process.env.PATH = `${bin}:${savedPath}`
})

afterAll(() => {
  process.env.PATH = savedPath
})

interface PlanJson {
  layers: Record<string, { build: boolean; assembly?: string; tags: string[]; inputs?: string }>
}

async function build(base: string): Promise<{ code: number; plan: PlanJson; err: string; docker: string[] }> {
  writeFileSync(dockerLog, '')
  let out = ''
  let err = ''
  const code = await cli(['build', '--push', '--json', '--base', base, '-C', repo], {
    out: t => void (out += t),
    err: t => void (err += t)
  })
  const lines = readFileSync(dockerLog, 'utf8').split('\n').filter(Boolean)
  return { code, plan: (code === 0 ? JSON.parse(out) : { layers: {} }) as PlanJson, err, docker: lines }
}

test('the first run bakes base and tooling, then assembles app on the tooling it just pushed', async () => {
  const r = await build(c0)
  expect(r.err).toContain('app: assembled in the registry as')
  expect(r.code).toBe(0)
  expect(r.plan.layers.app.assembly).toBe('assembled')
  expect(r.plan.layers.tooling.assembly).toBe('COPY without --link at Dockerfile.tooling:4')
  expect(r.plan.layers.base.assembly).toBe('no parent layer')
  const bake = r.docker.filter(l => l.startsWith('buildx bake'))
  expect(bake).toHaveLength(1)
  expect(bake[0].split(' ').slice(-2)).toEqual(['base', 'tooling'])
  expect(await digestOf(`${image}:latest`)).toBe(await digestOf(`${image}:main-${c0.slice(0, 7)}`))
})

test('an application-only change is assembled with no docker process, tags moved, and the image runs', async () => {
  // A commit made long before the run: the assembled layer is dated by it (SPEC 7a), not by the clock.
  process.env.GIT_COMMITTER_DATE = '2021-03-04T05:06:07Z'
  let c1: string
  try {
    c1 = commitFiles(repo, { 'docker/app/hello.sh': 'echo "assembled hello"\n' }, 'app: say it')
  } finally {
    delete process.env.GIT_COMMITTER_DATE
  }
  const r = await build(c0)
  expect(r.code).toBe(0)
  expect(r.docker).toEqual([])
  expect(r.plan.layers.app).toMatchObject({ build: true, assembly: 'assembled' })
  expect(r.err).toContain('→ assembled in the registry')
  const digest = await digestOf(`${image}:main-${c1.slice(0, 7)}`)
  expect(digest).toMatch(/^sha256:[0-9a-f]{64}$/)
  expect(await digestOf(`${image}:latest`)).toBe(digest)
  expect(await digestOf(r.plan.layers.app.tags[1])).toBe(digest) // the input tag (SPEC 4a)
  const labels = JSON.parse(
    await docker([
      'buildx',
      'imagetools',
      'inspect',
      `${image}:latest`,
      '--format',
      '{{json .Image.Config.Labels}}'
    ])
  ) as Record<string, string>
  expect(labels['org.opencontainers.image.revision']).toBe(c1)
  expect(labels['dev.strata.inputs']).toBe(r.plan.layers.app.inputs)
  expect(await docker(['run', '--rm', '--pull', 'always', `${image}:latest`])).toBe('assembled hello\n')
  const created = JSON.parse(
    await docker([
      'buildx',
      'imagetools',
      'inspect',
      `${image}:latest`,
      '--format',
      '{{json .Image.Created}}'
    ])
  ) as string
  expect(new Date(created).toISOString()).toBe('2021-03-04T05:06:07.000Z')
})

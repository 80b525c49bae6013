// SPEC 8: a registry Strata cannot read is never read as "nothing to do". Real servers on loopback:
// the htpasswd registry without a login (401), small node servers that answer 403 or 500, ones that grant
// an anonymous token and then refuse it (401 or 403), a port nobody listens on, and one that accepts the
// connection and never answers.
import { execFileSync } from 'node:child_process'
import { copyFileSync, cpSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterAll, beforeAll, expect, jest, test } from '@jest/globals'
import { git } from '../__fixtures__/github-api-server.js'
import { createRegistry } from '../src/adapters/registry.js'
import { createTerminalLogger } from '../src/adapters/terminal-log.js'
import { cli } from '../src/cli.js'
import { parsePlanInput, planToJson } from '../src/core/plan.js'
import type { PlanSettings } from '../src/core/settings.js'
import { makePlan } from '../src/plan/make-plan.js'
import { runPipeline } from '../src/run.js'
import { createGit } from '../src/adapters/git.js'
import { createWorkspaceFiles } from '../src/adapters/workspace-files.js'

jest.setTimeout(120_000)

const root = join(dirname(fileURLToPath(import.meta.url)), '..')
const tmp = mkdtempSync(join(tmpdir(), 'strata-unreadable-'))
const servers: Server[] = []
const savedDockerConfig = process.env.DOCKER_CONFIG
const name = `strata-test/unreadable-${Math.random().toString(16).slice(2, 10)}`

async function serve(handler: Parameters<typeof createServer>[1]): Promise<string> {
  const server = createServer(handler)
  servers.push(server)
  await new Promise<void>(r => server.listen(0, '127.0.0.1', r))
  return `127.0.0.1:${(server.address() as AddressInfo).port}`
}

/** A port that was free a moment ago: nobody listens on it. */
async function closedPort(): Promise<string> {
  const s = createServer()
  await new Promise<void>(r => s.listen(0, '127.0.0.1', r))
  const port = (s.address() as AddressInfo).port
  await new Promise<void>(r => s.close(() => r()))
  return `127.0.0.1:${port}`
}

/** A clone of the three-layer example whose images live on `host`. */
function repoOn(host: string): string {
  const dir = mkdtempSync(join(tmp, 'repo-'))
  cpSync(join(root, 'examples/three-layer'), dir, { recursive: true })
  const file = join(dir, '.github/strata.yml')
  writeFileSync(file, readFileSync(file, 'utf8').replace('localhost:5000/strata-example', `${host}/${name}`))
  copyFileSync('/bin/busybox', join(dir, 'busybox'))
  git(dir, 'init', '-q', '-b', 'main')
  git(dir, 'add', '-A')
  git(dir, 'commit', '-q', '-m', 'three layers')
  return dir
}

async function strata(dir: string, ...args: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = ''
  let err = ''
  const code = await cli([...args, '-C', dir], { out: t => void (out += t), err: t => void (err += t) })
  return { code, out, err }
}

/** Requests that carried the anonymous token a `tokenThen` server granted. */
const withToken: string[] = []

/** A registry that grants anyone a token (as GHCR or Quay do), then answers `status` to requests carrying it. */
function tokenThen(status: number, body: string): Parameters<typeof createServer>[1] {
  return (req, res) => {
    if (req.url?.startsWith('/token')) {
      return void res.writeHead(200, { 'content-type': 'application/json' }).end('{"token":"anonymous"}')
    }
    if (req.headers.authorization === 'Bearer anonymous') {
      withToken.push(`${req.headers.host ?? ''} ${req.method ?? ''} ${req.url ?? ''}`)
      return void res.writeHead(status, { 'content-type': 'application/json' }).end(body)
    }
    const realm = `http://${req.headers.host ?? ''}/token`
    res.writeHead(401, { 'www-authenticate': `Bearer realm="${realm}",service="test"` }).end()
  }
}

const hosts: Record<string, string> = {}
beforeAll(async () => {
  // No login anywhere: an empty Docker config.
  process.env.DOCKER_CONFIG = mkdtempSync(join(tmp, 'docker-'))
  const denied = JSON.stringify({
    errors: [{ code: 'DENIED', message: 'requested access to the resource is denied' }]
  })
  hosts['401'] = '127.0.0.1:5001'
  hosts['403'] = await serve((_q, res) =>
    res.writeHead(403, { 'content-type': 'application/json' }).end(denied)
  )
  const unauthorized = JSON.stringify({
    errors: [{ code: 'UNAUTHORIZED', message: 'authentication required' }]
  })
  hosts['401 after an anonymous token'] = await serve(tokenThen(401, unauthorized))
  hosts['403 after an anonymous token'] = await serve(tokenThen(403, denied))
  hosts['500'] = await serve((_q, res) => res.writeHead(500).end('internal error'))
  hosts.refused = await closedPort()
})

afterAll(async () => {
  if (savedDockerConfig === undefined) delete process.env.DOCKER_CONFIG
  else process.env.DOCKER_CONFIG = savedDockerConfig
  for (const s of servers) {
    s.closeAllConnections()
    await new Promise<void>(r => s.close(() => r()))
  }
})

const answers: [string, RegExp, RegExp][] = [
  ['401', /\(HTTP 401\)/, /log in to 127\.0\.0\.1:5001 before Strata runs/],
  ['403', /\(HTTP 403\)/, /log in to 127\.0\.0\.1:\d+ before Strata runs/],
  ['401 after an anonymous token', /\(HTTP 401\)/, /log in to 127\.0\.0\.1:\d+ before Strata runs/],
  ['403 after an anonymous token', /\(HTTP 403\)/, /log in to 127\.0\.0\.1:\d+ before Strata runs/],
  ['500', /\(HTTP 500 after 3 tries\)/, /the registry is failing: run again later/],
  [
    'refused',
    /\(no answer: .*connection refused/,
    /check that 127\.0\.0\.1:\d+ is the registry's host and port/
  ]
]

test.each(answers)(
  'plan against a registry that answers %s: every layer unknown, one message, exit 1',
  async (key, answer, fix) => {
    const dir = repoOn(hosts[key])
    for (const quiet of [[], ['-q']]) {
      const r = await strata(dir, 'plan', '--base', 'HEAD', ...quiet)
      expect(r.code).toBe(1)
      expect(r.out).toMatch(/^base\s+unknown\s/m)
      expect(r.out).toMatch(/^tooling\s+unknown\s/m)
      expect(r.out).toMatch(/^app\s+unknown\s/m)
      expect(r.out).not.toMatch(/reuse/)
      // One message for the registry, naming it, its answer and the fix; no warning per layer.
      const about = r.err.split('\n').filter(l => l.includes(hosts[key]))
      expect(about).toHaveLength(1)
      expect(about[0]).toMatch(
        new RegExp(`^strata: the registry ${hosts[key].replaceAll('.', '\\.')} cannot be read \\(`)
      )
      expect(about[0]).toMatch(answer)
      expect(about[0]).toContain('so the decision for layers base, tooling, app is unknown')
      expect(about[0]).toMatch(fix)
      expect(r.err).not.toMatch(/^warning:/m)
    }
    // Where a token was granted, the refusal came to requests that carried it.
    expect(withToken.some(l => l.startsWith(`${hosts[key]} `))).toBe(key.includes('token'))
  }
)

test('plan --json carries `unknown`, and such a plan cannot be followed', async () => {
  const r = await strata(repoOn(hosts['403']), 'plan', '--base', 'HEAD', '--json')
  expect(r.code).toBe(1)
  const json = JSON.parse(r.out)
  expect(json.layers.base).toMatchObject({ build: false, unknown: true })
  expect(json.layers.base.ref).toBeUndefined()
  expect(() => parsePlanInput(r.out)).toThrow(
    'layer "base" is unknown (its registry could not be read); run the plan step again once it can'
  )
})

test('build (and --dry-run) against a registry that answers 401 builds nothing', async () => {
  const dir = repoOn(hosts['401'])
  const dry = await strata(dir, 'build', '--base', 'HEAD', '--dry-run')
  expect(dry.code).toBe(1)
  expect(dry.err).toMatch(/^strata: the registry 127\.0\.0\.1:5001 cannot be read \(HTTP 401\)/m)
  expect(dry.out).toBe('')
  const b = await strata(dir, 'build', '--base', 'HEAD')
  expect(b.code).toBe(1)
  expect(b.err).toMatch(/^strata: the registry 127\.0\.0\.1:5001 cannot be read \(HTTP 401\)/m)
  expect(b.err).not.toMatch(/bake|buildx/)
  // Nothing was built and loaded under the layers' repository.
  const images = execFileSync('docker', ['image', 'ls', '-q', `127.0.0.1:5001/${name}`], { encoding: 'utf8' })
  expect(images.trim()).toBe('')
})

test('a host that accepts the connection and never answers: unknown after the answer timeout', async () => {
  const silent = await serve(() => undefined)
  const dir = repoOn(silent)
  const lines: string[] = []
  const settings: PlanSettings = {
    mode: 'build',
    workspace: dir,
    configPath: '.github/strata.yml',
    eventName: 'workflow_dispatch',
    payload: { ref: 'refs/heads/main', repository: { default_branch: 'main' } },
    env: {
      GITHUB_REPOSITORY: 'acme/app',
      GITHUB_REF: 'refs/heads/main',
      GITHUB_SHA: git(dir, 'rev-parse', 'HEAD')
    },
    now: new Date(),
    force: [],
    push: false,
    buildArgs: {},
    dryRun: true,
    runnerTemp: tmp,
    buildEnv: {}
  }
  const deps = {
    log: createTerminalLogger({ write: l => void lines.push(l) }),
    registry: createRegistry({ answerTimeoutMs: 200 }),
    files: createWorkspaceFiles(dir, createGit(dir))
  }
  const planned = await makePlan(settings, deps)
  expect(Object.values(planned.plan.layers).map(d => d.unknown)).toEqual([true, true, true])
  expect(planned.plan.unreadable).toEqual([
    expect.stringMatching(
      new RegExp(
        `^the registry ${silent.replaceAll('.', '\\.')} cannot be read \\(no answer: no answer in 0\\.2 s\\)`
      )
    )
  ])
  expect(lines.filter(l => l.startsWith('warning:'))).toEqual([])
  expect(lines).toContain('base: unknown — its registry could not be read (see the error below)')
  expect(planToJson(planned.plan)).toMatchObject({ layers: { app: { unknown: true } } })
  // mode build stops before building anything (no buildx is even given).
  await expect(
    runPipeline(settings, { ...deps, registry: createRegistry({ answerTimeoutMs: 200 }) })
  ).rejects.toThrow(
    /^the registry 127\.0\.0\.1:\d+ cannot be read \(no answer: no answer in 0\.2 s\), so the decision for layers base, tooling, app is unknown/
  )
})

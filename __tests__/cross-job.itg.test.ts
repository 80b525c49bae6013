// The cross-job handoff, on the real stack: plan, base, tooling and app run as separate processes of the
// bundled action, each with the environment of its own job (fresh GITHUB_OUTPUT, RUNNER_TEMP, step
// summary) and no local image of the repository left from the job before. Each layer job must find its
// parent in the registry by the tag SPEC section 4 names: the versioned tag (`<parent>-<sha7>`) that the
// parent's job pushed in this run, or, when the plan reused the parent, its stable tag's digest.
// Then one runner per platform (issue 14): a plan job, a job per platform pushing by digest, a merge.
import { execFile, spawn } from 'node:child_process'
import { mkdir, mkdtemp, readFile, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { parse } from 'yaml'
import { digestOf, docker, makeWorkspace, uniqueRepo } from '../__fixtures__/images/index.js'

const exec = promisify(execFile)
const root = join(dirname(fileURLToPath(import.meta.url)), '..')

/** The action bundled from the current sources into a temp dir (dist/ is the lead's, not touched here). */
async function bundle(): Promise<string> {
  const out = await mkdtemp(join(tmpdir(), 'strata-bundle-'))
  await exec(
    process.execPath,
    [join(root, 'node_modules/@vercel/ncc/dist/ncc/cli.js'), 'build', 'src/index.ts', '-o', out, '-q'],
    {
      cwd: root,
      maxBuffer: 64 << 20
    }
  )
  return join(out, 'index.js')
}

/** GITHUB_OUTPUT as the runner reads it: `name=value` lines and `name<<DELIM` … `DELIM` blocks. */
function parseOutputFile(text: string): Record<string, string> {
  const out: Record<string, string> = {}
  const lines = text.split('\n')
  for (let i = 0; i < lines.length; i++) {
    const heredoc = /^([^=]+?)<<(.+)$/.exec(lines[i])
    if (heredoc) {
      const end = lines.indexOf(heredoc[2], i + 1)
      out[heredoc[1]] = lines.slice(i + 1, end).join('\n')
      i = end
    } else if (lines[i].includes('=')) {
      const k = lines[i].indexOf('=')
      out[lines[i].slice(0, k)] = lines[i].slice(k + 1)
    }
  }
  return out
}

interface JobRun {
  code: number | null
  outputs: Record<string, string>
  log: string
}

interface Repo {
  dir: string
  image: string
  sha: string
  event: string
}

const git = (cwd: string, ...args: string[]): Promise<{ stdout: string }> =>
  exec('git', ['-c', 'user.name=strata-test', '-c', 'user.email=test@strata.invalid', ...args], { cwd })

/** The runner's INPUT_* for every action.yml input: its default unless `inputs` sets it. */
async function inputEnv(inputs: Record<string, string>): Promise<Record<string, string>> {
  const action = parse(await readFile(join(root, 'action.yml'), 'utf8')) as {
    inputs: Record<string, { default?: string }>
  }
  const env: Record<string, string> = {}
  for (const [name, def] of Object.entries(action.inputs)) {
    const value = inputs[name] ?? String(def.default ?? '')
    env[`INPUT_${name.toUpperCase()}`] = value.includes('${{') ? '' : value
  }
  return env
}

/** One job: a fresh process, fresh runner files, nothing inherited but PATH, HOME and the Docker client's config. */
async function job(
  action: string,
  name: string,
  repo: Repo,
  inputs: Record<string, string>
): Promise<JobRun> {
  const dir = await mkdtemp(join(tmpdir(), `strata-job-${name}-`))
  const runnerTemp = join(dir, 'temp')
  await mkdir(runnerTemp)
  const files = Object.fromEntries(['output', 'summary', 'env', 'path', 'state'].map(f => [f, join(dir, f)]))
  await Promise.all(Object.values(files).map(f => writeFile(f, '')))
  const env: Record<string, string> = {
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    HOME: process.env.HOME ?? dir,
    ...(process.env.DOCKER_CONFIG && { DOCKER_CONFIG: process.env.DOCKER_CONFIG }),
    ...(process.env.DOCKER_HOST && { DOCKER_HOST: process.env.DOCKER_HOST }),
    CI: 'true',
    GITHUB_ACTIONS: 'true',
    GITHUB_WORKSPACE: repo.dir,
    GITHUB_EVENT_NAME: 'workflow_dispatch',
    GITHUB_EVENT_PATH: repo.event,
    GITHUB_REPOSITORY: 'acme/sindri',
    GITHUB_REF: 'refs/heads/main',
    GITHUB_SHA: repo.sha,
    GITHUB_SERVER_URL: 'https://github.com',
    // A dispatch has no diff: nothing may call the API.
    GITHUB_API_URL: 'http://127.0.0.1:9',
    GITHUB_OUTPUT: files.output,
    GITHUB_STEP_SUMMARY: files.summary,
    GITHUB_ENV: files.env,
    GITHUB_PATH: files.path,
    GITHUB_STATE: files.state,
    RUNNER_TEMP: runnerTemp,
    ...(await inputEnv({ push: 'true', ...inputs }))
  }
  const child = spawn(process.execPath, [action], { cwd: repo.dir, env })
  let log = ''
  child.stdout.on('data', d => (log += String(d)))
  child.stderr.on('data', d => (log += String(d)))
  const code = await new Promise<number | null>(resolve => child.on('close', resolve))
  return { code, outputs: parseOutputFile(await readFile(files.output, 'utf8')), log }
}

/** What a new job's runner has locally: none of the repository's images, no build cache. */
async function freshRunner(image: string): Promise<void> {
  const ids = (await docker(['image', 'ls', '-q', '--no-trunc', '--filter', `reference=${image}`]))
    .split('\n')
    .filter(Boolean)
  if (ids.length) await docker(['image', 'rm', '-f', ...new Set(ids)])
  await docker(['buildx', 'prune', '-af'])
  expect(await docker(['image', 'ls', '-q', '--filter', `reference=${image}`])).toBe('')
}

const CONFIG = (image: string): string => `version: 1
image: ${image}
layers:
  base:
    dockerfile: Dockerfile.base
    paths: [Dockerfile.base, base.txt]
  tooling:
    dockerfile: Dockerfile.tooling
    from: base
    paths: [Dockerfile.tooling, tooling.txt]
  app:
    dockerfile: Dockerfile.app
    from: tooling
    paths: [Dockerfile.app, app.txt]
    always: true
`

async function commit(repo: Repo, message: string): Promise<void> {
  await git(repo.dir, 'add', '-A')
  await git(repo.dir, 'commit', '-q', '-m', message)
  repo.sha = (await git(repo.dir, 'rev-parse', 'HEAD')).stdout.trim()
  const payload = JSON.parse(await readFile(join(root, '__fixtures__/events/workflow_dispatch.json'), 'utf8'))
  await writeFile(repo.event, JSON.stringify({ ...payload, inputs: {}, ref: 'refs/heads/main' }))
}

const pinned = (ref: string): { tag: string; digest: string } => {
  const m = /^(.+)@(sha256:[0-9a-f]{64})$/.exec(ref)
  if (!m) throw new Error(`not a digest-pinned ref: "${ref}"`)
  return { tag: m[1], digest: m[2] }
}

const LONG = 300_000

describe('plan, base, tooling and app as separate jobs', () => {
  let action: string
  const repo: Repo = { dir: '', image: uniqueRepo('cross-job'), sha: '', event: '' }
  const sha7 = (): string => repo.sha.slice(0, 7)
  const run1: Record<string, JobRun> = {}

  beforeAll(async () => {
    action = await bundle()
    repo.dir = await makeWorkspace()
    repo.event = join(await mkdtemp(join(tmpdir(), 'strata-event-')), 'event.json')
    await mkdir(join(repo.dir, '.github'))
    await writeFile(join(repo.dir, '.github/strata.yml'), CONFIG(repo.image))
    await git(repo.dir, 'init', '-q', '-b', 'main')
    await commit(repo, 'initial')
  }, LONG)

  const expectOk = (r: JobRun): void => {
    if (r.code !== 0) throw new Error(`job failed (${r.code}):\n${r.log}`)
  }

  test(
    'run 1, empty registry: the plan job builds every layer and pushes nothing',
    async () => {
      await freshRunner(repo.image)
      const plan = (run1.plan = await job(action, 'plan', repo, { mode: 'plan' }))
      expectOk(plan)
      expect(plan.outputs).toMatchObject({ build_base: 'true', build_tooling: 'true', build_app: 'true' })
      const decided = JSON.parse(plan.outputs.plan)
      expect(decided.layers.base.reasons).toContain('no base-stable in registry')
      expect(decided.layers.tooling.reasons).toContain('parent base rebuilt')
      expect(await digestOf(`${repo.image}:base-${sha7()}`)).toBeUndefined()
    },
    LONG
  )

  test(
    'run 1: the base job pushes base-<sha7>',
    async () => {
      await freshRunner(repo.image)
      const base = (run1.base = await job(action, 'base', repo, {
        layers: 'base',
        plan: run1.plan.outputs.plan
      }))
      expectOk(base)
      expect(base.outputs.build_base).toBe('true')
      const ref = pinned(base.outputs.base_ref)
      expect(ref.tag).toBe(`${repo.image}:base-${sha7()}`)
      expect(await digestOf(ref.tag)).toBe(ref.digest)
    },
    LONG
  )

  test(
    'run 1: the tooling job, with no local image, finds base by base-<sha7> and builds on it',
    async () => {
      await freshRunner(repo.image)
      const tooling = (run1.tooling = await job(action, 'tooling', repo, {
        layers: 'tooling',
        plan: run1.plan.outputs.plan
      }))
      expectOk(tooling)
      const ref = pinned(tooling.outputs.tooling_ref)
      expect(ref.tag).toBe(`${repo.image}:tooling-${sha7()}`)
      expect(await digestOf(ref.tag)).toBe(ref.digest)
      // The parent's ref is the one the base job pushed: same tag, same digest.
      expect(tooling.outputs.base_ref).toBe(run1.base.outputs.base_ref)
    },
    LONG
  )

  test(
    'run 1: the app job finds tooling by tooling-<sha7>; stable tags and latest move to this run',
    async () => {
      await freshRunner(repo.image)
      const app = (run1.app = await job(action, 'app', repo, { layers: 'app', plan: run1.plan.outputs.plan }))
      expectOk(app)
      expect(app.outputs.tooling_ref).toBe(run1.tooling.outputs.tooling_ref)
      // Dockerfile.app's RUN fails unless its parent holds tooling's file: the parent really was tooling.
      const image = pinned(app.outputs.image_ref)
      expect(app.outputs.app_ref).toBe(app.outputs.image_ref)
      expect(app.outputs.digest).toBe(image.digest)
      expect(await digestOf(image.tag)).toBe(image.digest)
      expect(await digestOf(`${repo.image}:latest`)).toBe(image.digest)
      expect(await digestOf(`${repo.image}:base-stable`)).toBe(pinned(run1.base.outputs.base_ref).digest)
      expect(await digestOf(`${repo.image}:tooling-stable`)).toBe(
        pinned(run1.tooling.outputs.tooling_ref).digest
      )
    },
    LONG
  )

  test(
    'run 2, base reused: the tooling job (base job skipped) builds on base-stable by its planned digest',
    async () => {
      await writeFile(join(repo.dir, 'tooling.txt'), `tooling ${Date.now()}\n`)
      await commit(repo, 'tooling change')
      await freshRunner(repo.image)
      const plan = await job(action, 'plan', repo, { mode: 'plan', force: 'tooling' })
      expectOk(plan)
      expect(plan.outputs).toMatchObject({ build_base: 'false', build_tooling: 'true', build_app: 'true' })
      const baseStable = `${repo.image}:base-stable@${pinned(run1.base.outputs.base_ref).digest}`
      expect(plan.outputs.base_ref).toBe(baseStable)

      // The workflow's gate skips the base job; tooling runs on a fresh runner.
      await freshRunner(repo.image)
      const tooling = await job(action, 'tooling', repo, { layers: 'tooling', plan: plan.outputs.plan })
      expectOk(tooling)
      expect(tooling.outputs.base_ref).toBe(baseStable)
      const toolingRef = pinned(tooling.outputs.tooling_ref)
      expect(toolingRef.tag).toBe(`${repo.image}:tooling-${sha7()}`)
      expect(toolingRef.digest).not.toBe(pinned(run1.tooling.outputs.tooling_ref).digest)

      await freshRunner(repo.image)
      const app = await job(action, 'app', repo, { layers: 'app', plan: plan.outputs.plan })
      expectOk(app)
      expect(app.outputs.tooling_ref).toBe(tooling.outputs.tooling_ref)
      expect(await digestOf(`${repo.image}:latest`)).toBe(pinned(app.outputs.image_ref).digest)
      // base was not rebuilt: its stable tag still points at run 1's image.
      expect(await digestOf(`${repo.image}:base-stable`)).toBe(pinned(run1.base.outputs.base_ref).digest)
    },
    LONG
  )
})

// ---------- one runner per platform (issue 14) ----------

/** Over the registry's HTTP API: the index (or manifest) behind `image:reference`, or its status. */
async function indexOf(
  image: string,
  reference: string
): Promise<{ status: number; digest?: string; platforms?: string[][] }> {
  const name = image.replace(/^localhost:5000\//, '')
  const res = await fetch(`http://localhost:5000/v2/${name}/manifests/${reference}`, {
    headers: {
      Accept:
        'application/vnd.oci.image.index.v1+json, application/vnd.docker.distribution.manifest.list.v2+json'
    }
  })
  if (res.status !== 200) return { status: res.status }
  const body = (await res.json()) as {
    manifests?: { digest: string; platform?: { os: string; architecture: string } }[]
  }
  return {
    status: 200,
    digest: res.headers.get('docker-content-digest') ?? undefined,
    platforms: (body.manifests ?? [])
      .filter(m => m.platform && m.platform.os !== 'unknown')
      .map(m => [`${m.platform?.os}/${m.platform?.architecture}`, m.digest])
  }
}

const PLATFORM_CONFIG = (image: string, baseDockerfile: string): string => `version: 1
image: ${image}
defaults:
  platforms: [linux/amd64, linux/arm64]
layers:
  base:
    dockerfile: ${baseDockerfile}
    paths: [${baseDockerfile}, base.txt]
  app:
    dockerfile: Dockerfile.on-base
    from: base
    paths: [Dockerfile.on-base, app.txt]
    always: true
`
/** A child of base: its RUN fails unless its parent really is base. */
const ON_BASE = `ARG BASE_IMAGE
FROM \${BASE_IMAGE}
COPY app.txt /app/app.txt
RUN test -f /etc/base.txt
`
const RUNNERS = 'linux/amd64: ubuntu-latest\nlinux/arm64: ubuntu-24.04-arm'

/** A base that builds on amd64 and fails on arm64 (a declared build arg is in RUN's environment). */
const FAILS_ON_ARM64 = `FROM scratch
ARG TARGETARCH
COPY busybox /bin/busybox
RUN ["/bin/busybox", "sh", "-c", "test \\"$TARGETARCH\\" != arm64"]
COPY base.txt /etc/base.txt
`

describe('one runner per platform: plan, a job per platform, then the merge', () => {
  let action: string
  const repo: Repo = { dir: '', image: uniqueRepo('platforms'), sha: '', event: '' }
  const sha7 = (): string => repo.sha.slice(0, 7)
  let plan: JobRun

  beforeAll(async () => {
    action = await bundle()
    repo.dir = await makeWorkspace()
    repo.event = join(await mkdtemp(join(tmpdir(), 'strata-event-')), 'event.json')
    await mkdir(join(repo.dir, '.github'))
    await writeFile(join(repo.dir, 'Dockerfile.fails-on-arm64'), FAILS_ON_ARM64)
    await writeFile(join(repo.dir, 'Dockerfile.on-base'), ON_BASE)
    await writeFile(join(repo.dir, '.github/strata.yml'), PLATFORM_CONFIG(repo.image, 'Dockerfile.base'))
    await git(repo.dir, 'init', '-q', '-b', 'main')
    await commit(repo, 'initial')
  }, LONG)

  const expectOk = (r: JobRun): void => {
    if (r.code !== 0) throw new Error(`job failed (${r.code}):\n${r.log}`)
  }

  test('the plan job decides once and lists one runner per platform', async () => {
    plan = await job(action, 'plan', repo, { mode: 'plan', runners: RUNNERS })
    expectOk(plan)
    expect(plan.outputs).toMatchObject({ build_base: 'true', build_app: 'true' })
    expect(JSON.parse(plan.outputs.platforms)).toEqual(['linux/amd64', 'linux/arm64'])
    expect(JSON.parse(plan.outputs.matrix)).toEqual({
      include: [
        { platform: 'linux/amd64', runner: 'ubuntu-latest', slug: 'linux-amd64' },
        { platform: 'linux/arm64', runner: 'ubuntu-24.04-arm', slug: 'linux-arm64' }
      ]
    })
  })

  test('a merge without every platform fails and moves nothing, before touching the registry', async () => {
    const merge = await job(action, 'merge', repo, {
      mode: 'merge',
      layers: 'base',
      plan: plan.outputs.plan,
      digests: `linux/amd64=sha256:${'a'.repeat(64)}`
    })
    expect(merge.code).not.toBe(0)
    expect(merge.log).toContain('nothing merged, no tag moved: base: no digest for linux/arm64')
    expect((await indexOf(repo.image, `base-${sha7()}`)).status).toBe(404)
    expect((await indexOf(repo.image, 'base-stable')).status).toBe(404)
  })

  describe('with push by digest and putIndex', () => {
    /** One platform job: a fresh runner and RUNNER_TEMP, `layers` and `platform` set, following the plan. */
    const platformJob = async (layer: string, platform: string, p: JobRun): Promise<JobRun> => {
      await freshRunner(repo.image)
      return job(action, `${layer}-${platform.replace(/\//g, '-')}`, repo, {
        layers: layer,
        platform,
        plan: p.outputs.plan
      })
    }
    const mergeJob = (layer: string, p: JobRun, runs: JobRun[], platforms: string[]): Promise<JobRun> =>
      job(action, `${layer}-merge`, repo, {
        mode: 'merge',
        layers: layer,
        plan: p.outputs.plan,
        digests: runs.map((r, i) => `${platforms[i]}=${r.outputs.digest}`).join('\n')
      })
    const TWO = ['linux/amd64', 'linux/arm64']

    test(
      'base and app: each platform built alone and pushed by digest, merged into one index, tags moved once',
      async () => {
        const base: JobRun[] = []
        for (const p of TWO) base.push(await platformJob('base', p, plan))
        base.forEach(expectOk)
        expect(base.map(r => JSON.parse(r.outputs.digests))).toEqual(
          TWO.map((p, i) => ({ base: { [p]: base[i].outputs.digest } }))
        )
        // Pushed by digest only: no tag exists before the merge.
        expect((await indexOf(repo.image, `base-${sha7()}`)).status).toBe(404)
        expect((await indexOf(repo.image, 'base-stable')).status).toBe(404)

        const baseMerge = await mergeJob('base', plan, base, TWO)
        expectOk(baseMerge)
        const baseIndex = await indexOf(repo.image, `base-${sha7()}`)
        expect(baseIndex.platforms).toEqual(TWO.map((p, i) => [p, base[i].outputs.digest]))
        expect(baseMerge.outputs.base_ref).toBe(`${repo.image}:base-${sha7()}@${baseIndex.digest}`)
        expect((await indexOf(repo.image, 'base-stable')).digest).toBe(baseIndex.digest)

        // The app jobs find base by base-<sha7>, the merged index, on runners with no local image.
        const app: JobRun[] = []
        for (const p of TWO) app.push(await platformJob('app', p, plan))
        app.forEach(expectOk)
        expect(app.map(r => r.outputs.base_ref)).toEqual([
          baseMerge.outputs.base_ref,
          baseMerge.outputs.base_ref
        ])
        expect((await indexOf(repo.image, 'latest')).status).toBe(404)

        const appMerge = await mergeJob('app', plan, app, TWO)
        expectOk(appMerge)
        const appIndex = await indexOf(repo.image, `main-${sha7()}`)
        expect(appIndex.platforms).toEqual(TWO.map((p, i) => [p, app[i].outputs.digest]))
        const ref = `${repo.image}:main-${sha7()}@${appIndex.digest}`
        expect(appMerge.outputs).toMatchObject({ app_ref: ref, image_ref: ref, digest: appIndex.digest })
        expect((await indexOf(repo.image, 'latest')).digest).toBe(appIndex.digest)
      },
      LONG
    )

    test(
      'one platform fails: its job fails, the merge fails, no tag moves',
      async () => {
        await writeFile(
          join(repo.dir, '.github/strata.yml'),
          PLATFORM_CONFIG(repo.image, 'Dockerfile.fails-on-arm64')
        )
        await commit(repo, 'a base that fails on arm64')
        const stableBefore = (await indexOf(repo.image, 'base-stable')).digest
        const latestBefore = (await indexOf(repo.image, 'latest')).digest
        const p = await job(action, 'plan', repo, { mode: 'plan', force: 'base', runners: RUNNERS })
        expectOk(p)
        const amd64 = await platformJob('base', 'linux/amd64', p)
        expectOk(amd64)
        const arm64 = await platformJob('base', 'linux/arm64', p)
        expect(arm64.code).not.toBe(0)
        expect(arm64.outputs.digest ?? '').toBe('')
        // The workflow skips the merge job; a merge run anyway with what exists still moves nothing.
        const merge = await job(action, 'base-merge', repo, {
          mode: 'merge',
          layers: 'base',
          plan: p.outputs.plan,
          digests: `linux/amd64=${amd64.outputs.digest}`
        })
        expect(merge.code).not.toBe(0)
        expect(merge.log).toContain('no digest for linux/arm64')
        expect((await indexOf(repo.image, `base-${sha7()}`)).status).toBe(404)
        expect((await indexOf(repo.image, 'base-stable')).digest).toBe(stableBefore)
        expect((await indexOf(repo.image, 'latest')).digest).toBe(latestBefore)
      },
      LONG
    )
  })
})

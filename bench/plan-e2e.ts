// Item 1 of the bench: the decision engine's paths/second (bench/decide.sh, reused as it is), and a
// 3,000-file pull request planned end to end: the bundled action (`node <bundle>/index.js`, mode plan)
// as a whole process against the local GitHub API server, timed from spawn to exit, with its API calls
// counted by the server.
import { spawn } from 'node:child_process'
import { mkdir, readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { commitManyFiles, startGitHubApiServer } from '../__fixtures__/github-api-server.js'
import { initRepo } from './fixture.js'
import { median } from './stats.js'

export interface DecideResult {
  /** Paths per second through decide(), end to end, 10,000 paths × 3 layers × 100 patterns. */
  decidePathsPerSecond: number
  decideMedianMs: number
  matchPathsPerSecond: number
  output: string
}

/** Runs bench/decide.sh (the other engineer's micro-benchmark) and reads its two result lines. */
export async function runDecide(root: string): Promise<DecideResult> {
  const { code, stdout, stderr } = await exec('bash', [join(root, 'bench/decide.sh')], { cwd: root })
  if (code !== 0) throw new Error(`bench/decide.sh failed (${code}): ${stderr.slice(-500)}`)
  // One line per measurement; read loosely, since its wording is the other script's to change.
  const line = (label: string) => {
    const text = stdout.split('\n').find(l => l.startsWith(label))
    const rate = text && /([\d,]+) files\/s/.exec(text)
    const ms = text && /median (?:wall )?([\d.]+) ms/.exec(text)
    if (!rate || !ms) throw new Error(`bench/decide.sh printed no "${label}" line with files/s:\n${stdout}`)
    return { ms: Number(ms[1]), rate: Number(rate[1].replace(/,/g, '')) }
  }
  const d = line('decide() end to end')
  const m = line('matchPath() only')
  return {
    decidePathsPerSecond: d.rate,
    decideMedianMs: d.ms,
    matchPathsPerSecond: m.rate,
    output: stdout.trim()
  }
}

export interface PlanRun {
  wallMs: number
  apiCalls: number
  /** First API request's arrival to the last answer: the part of the run spent on the API. */
  apiSpanMs: number
  /** The most requests in flight at once. */
  maxInFlight: number
  source: string
  count: number
}

export interface PlanResult {
  files: number
  latencyMs: number
  runs: PlanRun[]
  medianWallMs: number
  medianApiSpanMs: number
  apiCalls: number
  source: string
}

const FILES = 3000

/** A repository with a 3,000-file pull request, planned `runs` times by the bundled action. */
export async function runPlanE2e(
  work: string,
  actionBundle: string,
  image: string,
  opts: { runs: number; latencies: number[] }
): Promise<PlanResult[]> {
  const repo = join(work, 'plan-repo')
  await mkdir(join(repo, '.github'), { recursive: true })
  await writeFile(
    join(repo, '.github/strata.yml'),
    `version: 1
image: ${image}
layers:
  base: { dockerfile: Dockerfile.base, paths: [Dockerfile.base, 'base/**', 'scripts/install-*.sh'] }
  tooling: { dockerfile: Dockerfile.tooling, from: base, paths: [Dockerfile.tooling, 'tooling/**', '!tooling/**/*.md'] }
  app: { dockerfile: Dockerfile, from: tooling, paths: [Dockerfile, 'src/**', 'app/'] }
`
  )
  // Children build FROM their parent's build-arg (SPEC 3a refuses a child that ignores its parent).
  const dockerfiles: Record<string, string> = {
    'Dockerfile.base': 'FROM scratch\n',
    'Dockerfile.tooling': 'ARG BASE_IMAGE\nFROM ${BASE_IMAGE}\n',
    Dockerfile: 'ARG TOOLING_IMAGE\nFROM ${TOOLING_IMAGE}\n'
  }
  for (const f of Object.keys(dockerfiles)) {
    await writeFile(join(repo, f), dockerfiles[f])
  }
  const baseSha = await initRepo(repo)
  // 3,000 files over the three layers' folders and docs, in one commit on the PR branch.
  const files: Record<string, string> = {}
  const dirs = ['src/app', 'src/lib', 'tooling/conf', 'docs', 'base/etc', 'app/static']
  for (let i = 0; i < FILES; i++) files[`${dirs[i % dirs.length]}/f${i}/file-${i}.txt`] = `file ${i}\n`
  const headSha = commitManyFiles(repo, files, 'a 3000-file pull request', { branch: 'feature/big' })

  const payload = {
    action: 'synchronize',
    number: 42,
    pull_request: {
      number: 42,
      state: 'open',
      changed_files: FILES,
      head: { sha: headSha, ref: 'feature/big', repo: { full_name: 'acme/sindri', fork: false } },
      base: { sha: baseSha, ref: 'main', repo: { full_name: 'acme/sindri' } }
    },
    repository: { full_name: 'acme/sindri', name: 'sindri', owner: { login: 'acme' }, default_branch: 'main' }
  }
  const eventPath = join(work, 'plan-event.json')
  await writeFile(eventPath, JSON.stringify(payload))

  const token = 'bench-token'
  const server = await startGitHubApiServer({ repoDir: repo, token })
  await server.addPull({ number: 42, baseRef: 'main', baseSha, headSha, headRef: 'feature/big' })
  const results: PlanResult[] = []
  try {
    for (const latency of opts.latencies) {
      server.setLatency(latency)
      const runs: PlanRun[] = []
      for (let i = 0; i < opts.runs + 1; i++) {
        server.reset()
        const out = join(work, `plan-out-${latency}-${i}`)
        await mkdir(out, { recursive: true })
        const env: NodeJS.ProcessEnv = {
          PATH: process.env.PATH,
          HOME: process.env.HOME,
          DOCKER_CONFIG: process.env.DOCKER_CONFIG,
          GITHUB_ACTIONS: 'true',
          GITHUB_WORKSPACE: repo,
          GITHUB_EVENT_NAME: 'pull_request',
          GITHUB_EVENT_PATH: eventPath,
          GITHUB_REPOSITORY: 'acme/sindri',
          GITHUB_REF: 'refs/pull/42/merge',
          GITHUB_SHA: headSha,
          GITHUB_HEAD_REF: 'feature/big',
          GITHUB_BASE_REF: 'main',
          GITHUB_API_URL: server.url,
          RUNNER_TEMP: out,
          GITHUB_OUTPUT: join(out, 'output'),
          GITHUB_STEP_SUMMARY: join(out, 'summary.md'),
          INPUT_MODE: 'plan',
          INPUT_TOKEN: token,
          INPUT_SUMMARY: 'true'
        }
        await writeFile(env.GITHUB_OUTPUT as string, '')
        await writeFile(env.GITHUB_STEP_SUMMARY as string, '')
        const t0 = performance.now()
        const r = await exec('node', [actionBundle], { cwd: repo, env })
        const wallMs = performance.now() - t0
        const plan = await readPlanOutput(join(out, 'output'))
        if (r.code !== 0 || !plan) {
          throw new Error(`the action (mode plan) failed (${r.code}):\n${(r.stdout + r.stderr).slice(-1500)}`)
        }
        const reqs = server.requests
        const span = reqs.length ? Math.max(...reqs.map(q => q.done ?? q.time)) - reqs[0].time : 0
        const run: PlanRun = {
          wallMs,
          apiCalls: reqs.length,
          apiSpanMs: span,
          maxInFlight: Math.max(0, ...reqs.map(q => q.inFlight)),
          source: plan.changes.source,
          count: plan.changes.count
        }
        if (i > 0) runs.push(run) // the first run warms the OS file cache
      }
      results.push({
        files: FILES,
        latencyMs: latency,
        runs,
        medianWallMs: median(runs.map(r => r.wallMs)),
        medianApiSpanMs: median(runs.map(r => r.apiSpanMs)),
        apiCalls: Math.max(...runs.map(r => r.apiCalls)),
        source: runs[0].source
      })
    }
  } finally {
    await server.close()
  }
  return results
}

/** The `plan` output from a GITHUB_OUTPUT file (`name<<delimiter` blocks). */
async function readPlanOutput(
  file: string
): Promise<{ changes: { source: string; count: number } } | undefined> {
  const text = await readFile(file, 'utf8')
  const m = /^plan<<(\S+)\n([\s\S]*?)\n\1$/m.exec(text)
  return m ? JSON.parse(m[2]) : undefined
}

export function exec(
  cmd: string,
  args: string[],
  opts: { cwd: string; env?: NodeJS.ProcessEnv }
): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((res, rej) => {
    const child = spawn(cmd, args, { cwd: opts.cwd, env: opts.env ?? process.env })
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', d => (stdout += d))
    child.stderr.on('data', d => (stderr += d))
    child.once('error', rej)
    child.once('close', code => res({ code: code ?? 1, stdout, stderr }))
  })
}

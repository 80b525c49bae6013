// `npm run bench` (through bench/run.sh): the decision engine, a 3,000-file pull request planned end to
// end, and the end-to-end build scenarios of issue 5; prints a table and writes bench/results/latest.json.
//
// Environment: BENCH_RUNS (default 3), BENCH_SCENARIOS (comma list, default all), BENCH_SKIP (any of
// decide,plan,e2e), BENCH_REGISTRY_PORT (default 5010), BENCH_KEEP=1 keeps the work directory.
import { execFileSync } from 'node:child_process'
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises'
import { cpus, loadavg, release, tmpdir, totalmem } from 'node:os'
import { join, resolve } from 'node:path'
import { runE2e, SCENARIOS, type Sample, type Scenario } from './e2e.js'
import { runDecide, runPlanE2e, type DecideResult, type PlanResult } from './plan-e2e.js'
import { startRegistry } from './registry.js'
import { median, megabytes, percent, seconds, table } from './stats.js'

const root = resolve(process.argv[2] ?? '.')
const cli = resolve(process.argv[3] ?? '.tmp/bench-cli/index.js')
const action = resolve(process.argv[4] ?? '.tmp/bench-action/index.js')
const runs = Number(process.env.BENCH_RUNS ?? 3)
const skip = new Set((process.env.BENCH_SKIP ?? '').split(',').filter(Boolean))
const scenarios = (process.env.BENCH_SCENARIOS?.split(',').filter(Boolean) ??
  Object.keys(SCENARIOS)) as Scenario[]
for (const s of scenarios) if (!(s in SCENARIOS)) throw new Error(`BENCH_SCENARIOS: unknown scenario ${s}`)
const port = Number(process.env.BENCH_REGISTRY_PORT ?? 5010)
// The seed guides' weights and promise: 70% application, 20% tooling, 10% base changes, 76.5% faster.
const MIX = { app: 0.7, tooling: 0.2, base: 0.1 }
const SEED_PROMISE = 0.765

const log = (line: string) => console.error(`[bench] ${line}`)
const started = Date.now()

const sh = (cmd: string, args: string[]): string => {
  try {
    return execFileSync(cmd, args, { encoding: 'utf8' }).trim()
  } catch {
    return 'unknown'
  }
}

const machine = {
  cpus: cpus().length,
  cpuModel: cpus()[0]?.model ?? 'unknown',
  memoryGB: Math.round(totalmem() / 2 ** 30),
  kernel: release(),
  node: process.version,
  docker: sh('docker', ['version', '--format', '{{.Server.Version}}']),
  buildx: sh('docker', ['buildx', 'version']),
  storageDriver: sh('docker', ['info', '--format', '{{.Driver}}']),
  loadAverageAtStart: loadavg().map(x => Number(x.toFixed(2)))
}

interface ScenarioSummary {
  meaning: string
  runs: number
  medianMs: number
  minMs: number
  maxMs: number
  medianPushedBytes: number
  medianPulledBytes: number
  medianRequests: number
  minRequests: number
  maxRequests: number
  samples: Sample[]
}

async function main(): Promise<void> {
  const work = await mkdtemp(join(tmpdir(), 'strata-bench-'))
  log(`work directory ${work}; ${runs} runs per scenario; ${machine.cpus} CPUs, ${machine.memoryGB} GB`)
  let decide: DecideResult | undefined
  let plan: PlanResult[] | undefined
  let samples: Record<string, Sample[]> = {}
  try {
    if (!skip.has('decide')) {
      log('decision engine: bash bench/decide.sh')
      decide = await runDecide(root)
      log(decide.output.split('\n').join('\n[bench]   '))
    }
    if (!skip.has('plan') || !skip.has('e2e')) {
      const registry = await startRegistry(join(work, 'registry'), port)
      log(`registry ${registry.host} (its own storage and access log, stopped at the end)`)
      try {
        if (!skip.has('plan')) {
          log('3,000-file pull request, mode plan, node <action bundle> against the local API server')
          plan = await runPlanE2e(work, action, `${registry.host}/bench-plan`, {
            runs: 5,
            latencies: [0, 100]
          })
        }
        if (!skip.has('e2e')) {
          log(`end to end: ${scenarios.join(', ')}`)
          samples = await runE2e(work, { cli, registry, runs, scenarios, log })
        }
      } finally {
        await registry.stop()
      }
    }
  } finally {
    if (process.env.BENCH_KEEP === '1') log(`kept ${work}`)
    else await rm(work, { recursive: true, force: true })
  }

  const summary: Record<string, ScenarioSummary> = {}
  for (const [name, list] of Object.entries(samples)) {
    const ms = list.map(s => s.wallMs)
    summary[name] = {
      meaning: SCENARIOS[name as Scenario],
      runs: list.length,
      medianMs: median(ms),
      minMs: Math.min(...ms),
      maxMs: Math.max(...ms),
      medianPushedBytes: median(list.map(s => s.traffic.pushedBytes)),
      medianPulledBytes: median(list.map(s => s.traffic.pulledBytes)),
      medianRequests: median(list.map(s => s.traffic.requests)),
      minRequests: Math.min(...list.map(s => s.traffic.requests)),
      maxRequests: Math.max(...list.map(s => s.traffic.requests)),
      samples: list
    }
  }
  const m = (name: Scenario) => summary[name]?.medianMs ?? NaN
  const strataMix =
    MIX.app * m('strata-app') + MIX.tooling * m('strata-tooling') + MIX.base * m('strata-base')
  const altMix =
    MIX.app * m('alternative-app') + MIX.tooling * m('alternative-tooling') + MIX.base * m('alternative-base')
  const ratios = {
    strataAppOverMonolithic: m('strata-app') / m('monolithic'),
    strataAppOverAlternative: m('strata-app') / m('alternative-app'),
    strataAppOverFloor: m('strata-app') / m('floor'),
    strataToolingOverMonolithic: m('strata-tooling') / m('monolithic'),
    strataToolingOverAlternative: m('strata-tooling') / m('alternative-tooling'),
    strataBaseOverMonolithic: m('strata-base') / m('monolithic'),
    strataBaseOverAlternative: m('strata-base') / m('alternative-base'),
    strataDocsOverMonolithic: m('strata-docs') / m('monolithic'),
    strataDocsOverAlternative: m('strata-docs') / m('alternative-docs'),
    strataMergeOverAlternative: m('strata-merge') / m('alternative-merge'),
    strataAppLinkOverAlternative: m('strata-app-link') / m('alternative-app-link'),
    strataAppLinkOverFloor: m('strata-app-link') / m('floor-link')
  }
  const mix = {
    weights: MIX,
    strataMs: strataMix,
    alternativeMs: altMix,
    monolithicMs: m('monolithic'),
    fasterThanMonolithic: 1 - strataMix / m('monolithic'),
    fasterThanAlternative: 1 - strataMix / altMix,
    seedPromise: SEED_PROMISE
  }

  const results = {
    date: new Date().toISOString(),
    machine: { ...machine, loadAverageAtEnd: loadavg().map(x => Number(x.toFixed(2))) },
    runsPerScenario: runs,
    totalSeconds: Math.round((Date.now() - started) / 1000),
    decide,
    plan,
    scenarios: summary,
    ratios,
    mix
  }
  await mkdir(join(root, 'bench/results'), { recursive: true })
  const json = `${JSON.stringify(results, null, 2)}\n`
  await writeFile(join(root, 'bench/results/latest.json'), json)
  await writeFile(join(root, `bench/results/${results.date.replace(/[:.]/g, '-')}.json`), json)
  console.log(report(results.decide, results.plan, summary, ratios, mix))
  log(`done in ${results.totalSeconds} s; wrote bench/results/latest.json`)
}

function report(
  decide: DecideResult | undefined,
  plan: PlanResult[] | undefined,
  summary: Record<string, ScenarioSummary>,
  ratios: Record<string, number>,
  mix: {
    strataMs: number
    alternativeMs: number
    fasterThanMonolithic: number
    fasterThanAlternative: number
  }
): string {
  const out: string[] = []
  out.push(
    `Machine: ${machine.cpus} × ${machine.cpuModel}, ${machine.memoryGB} GB, docker ${machine.docker}, ${machine.buildx}`
  )
  if (decide) {
    out.push(
      '',
      `Decision engine (bench/decide.sh, 10,000 paths × 3 layers × 100 patterns): decide() ` +
        `${decide.decidePathsPerSecond.toLocaleString('en-US')} paths/s (median ${decide.decideMedianMs} ms), ` +
        `matchPath() alone ${decide.matchPathsPerSecond.toLocaleString('en-US')} paths/s`
    )
  }
  if (plan) {
    out.push(
      '',
      table([
        ['3,000-file PR, mode plan', 'API latency', 'wall (median)', 'API span', 'API calls', 'list from'],
        ...plan.map(p => [
          'node <action>/index.js',
          `${p.latencyMs} ms`,
          `${seconds(p.medianWallMs)} s`,
          `${seconds(p.medianApiSpanMs)} s`,
          String(p.apiCalls),
          p.source
        ])
      ])
    )
  }
  const names = Object.keys(summary) as Scenario[]
  if (names.length) {
    const mono = summary.monolithic?.medianMs ?? NaN
    out.push(
      '',
      table([
        [
          'scenario',
          'median s',
          'min–max s',
          'pushed MB',
          'pulled MB',
          'requests (min–max)',
          'vs monolithic'
        ],
        ...names.map(n => {
          const s = summary[n]
          return [
            n,
            seconds(s.medianMs),
            `${seconds(s.minMs)}–${seconds(s.maxMs)}`,
            megabytes(s.medianPushedBytes),
            megabytes(s.medianPulledBytes),
            `${s.medianRequests} (${s.minRequests}–${s.maxRequests})`,
            n === 'monolithic' ? '1.00' : (s.medianMs / mono).toFixed(2)
          ]
        })
      ])
    )
    out.push(
      '',
      `Strata app-only / monolithic:         ${ratios.strataAppOverMonolithic.toFixed(2)}  (${percent(1 - ratios.strataAppOverMonolithic)} faster; the seed promised 95%)`,
      `Strata app-only / best alternative:   ${ratios.strataAppOverAlternative.toFixed(2)}  (SPEC 11 target: at most 0.90)`,
      `Strata app-only / floor:              ${ratios.strataAppOverFloor.toFixed(2)}  (SPEC 11 target: at most 1.05)`,
      `Strata tooling / best alternative:    ${ratios.strataToolingOverAlternative.toFixed(2)}  (SPEC 11 target: at most 0.95)`,
      `Strata base / best alternative:       ${ratios.strataBaseOverAlternative.toFixed(2)}  (SPEC 11 target: at most 1.00)`,
      `Strata tooling / monolithic:          ${ratios.strataToolingOverMonolithic.toFixed(2)}  (${percent(1 - ratios.strataToolingOverMonolithic)} faster; the seed promised 50%)`,
      `Weighted 70/20/10 mix: Strata ${seconds(mix.strataMs)} s vs monolithic ${seconds(summary.monolithic?.medianMs ?? NaN)} s: ` +
        `${percent(mix.fasterThanMonolithic)} faster (the seed promised ${percent(SEED_PROMISE)})`
    )
    if (Number.isFinite(ratios.strataMergeOverAlternative)) {
      out.push(
        `Strata merge push / best alternative: ${ratios.strataMergeOverAlternative.toFixed(2)}  (SPEC 11 target: at most 0.30)`
      )
    }
    if (
      Number.isFinite(ratios.strataAppLinkOverAlternative) ||
      Number.isFinite(ratios.strataAppLinkOverFloor)
    ) {
      const link = summary['strata-app-link']
      out.push(
        `Strata app-only, COPY --link app (assembled) / best alternative: ${ratios.strataAppLinkOverAlternative.toFixed(2)}  (SPEC 11 target: at most 0.35)`,
        `Strata app-only, COPY --link app (assembled) / floor:            ${ratios.strataAppLinkOverFloor.toFixed(2)}  (SPEC 11 target: at most 0.5)`,
        `  its registry traffic: ${link?.medianRequests ?? '?'} requests, ${((link?.medianPulledBytes ?? NaN) / 1e3).toFixed(1)} kB pulled ` +
          '(image configs only: no layer is pulled), median'
      )
    }
    if (Number.isFinite(ratios.strataDocsOverAlternative)) {
      out.push(`Strata docs-only / best alternative:  ${ratios.strataDocsOverAlternative.toFixed(2)}`)
    }
    if (Number.isFinite(mix.alternativeMs)) {
      out.push(
        `Weighted 70/20/10 mix vs best alternative: ${seconds(mix.strataMs)} s vs ${seconds(mix.alternativeMs)} s ` +
          `(${percent(mix.fasterThanAlternative)} faster)`
      )
    }
  }
  return out.join('\n')
}

main().catch(e => {
  console.error(`[bench] failed: ${e instanceof Error ? e.message : String(e)}`)
  process.exitCode = 1
})

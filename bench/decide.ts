// Benchmark (not a test): 10,000 changed paths against 3 layers of 100 patterns each (literals, `dir/**`,
// `*`, `**`, braces and negations), through decide() end to end and through matchPath() alone.
// Run with bench/decide.sh. Prints the median of several runs after a warm-up.
import { performance } from 'node:perf_hooks'
import { compilePatterns, matchPath } from '../src/core/patterns.js'
import { decide } from '../src/core/plan.js'
import type { ChangeSet, EventContext, LayerConfig, StrataConfig } from '../src/core/types.js'

const FILES = 10_000
const PATTERNS = 100
const WARMUP = 3
const RUNS = Number(process.argv[2] ?? 15)

// Deterministic pseudo-random numbers (mulberry32), so that every run measures the same input.
let seed = 42
const rand = (n: number): number => {
  seed = (seed + 0x6d2b79f5) | 0
  let t = Math.imul(seed ^ (seed >>> 15), 1 | seed)
  t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t
  return Math.floor((((t ^ (t >>> 14)) >>> 0) / 4294967296) * n)
}
const pick = <T>(list: readonly T[]): T => list[rand(list.length)]

const TOP = ['docker', 'src', 'docs', 'scripts', '.github', 'config', 'lib', 'test', 'tools', 'web']
const SUB = ['lib', 'scripts', 'config', 'app', 'core', 'util', 'api', 'internal', 'assets', 'vendor']
const EXT = ['sh', 'ts', 'md', 'yml', 'json', 'py', 'go', 'conf', 'txt', 'Dockerfile']

function randomPath(): string {
  const depth = 1 + rand(4)
  const dirs = [pick(TOP), ...Array.from({ length: depth - 1 }, () => `${pick(SUB)}${rand(20)}`)]
  return `${dirs.join('/')}/file${rand(500)}.${pick(EXT)}`
}

function layerPatterns(layer: number): string[] {
  const out: string[] = []
  for (let i = 0; i < PATTERNS; i++) {
    const top = TOP[(layer * 3 + i) % TOP.length]
    const sub = `${pick(SUB)}${rand(20)}`
    switch (i % 10) {
      case 0:
      case 1:
      case 2:
        out.push(`${top}/${sub}/file${rand(500)}.${pick(EXT)}`) // literal
        break
      case 3:
        out.push(`${top}/${sub}/**`) // folder
        break
      case 4:
        out.push(`${top}/${sub}/`) // folder, trailing slash
        break
      case 5:
        out.push(`${top}/${sub}/*.${pick(EXT)}`) // one level
        break
      case 6:
        out.push(`${top}/**/*.${pick(EXT)}`) // any depth
        break
      case 7:
        out.push(`!${top}/${sub}/**`) // exclusion of a folder
        break
      case 8:
        out.push(`!**/file${rand(500)}.*`) // exclusion anywhere
        break
      default:
        out.push(`{${top},${pick(TOP)}}/${sub}/file*.{sh,ts}`) // braces
    }
  }
  return out
}

function layer(name: string, paths: string[], from: string[]): LayerConfig {
  return {
    name,
    dockerfile: `Dockerfile.${name}`,
    context: '.',
    paths,
    from: from.map(p => ({ layer: p, buildArg: `${p.toUpperCase()}_IMAGE` })),
    always: false,
    image: 'ghcr.io/acme/sindri',
    buildArgs: {},
    platforms: ['linux/amd64'],
    cache: ['gha', 'registry'],
    secrets: [],
    labels: {}
  }
}

const config: StrataConfig = {
  file: '.github/strata.yml',
  version: 1,
  image: 'ghcr.io/acme/sindri',
  layers: [
    layer('base', layerPatterns(0), []),
    layer('tooling', layerPatterns(1), ['base']),
    layer('app', layerPatterns(2), ['tooling'])
  ],
  order: ['base', 'tooling', 'app']
}
const paths = new Set<string>()
for (let i = 0; paths.size < FILES; i++) {
  if (i > FILES * 10) throw new Error('could not make enough distinct paths')
  paths.add(randomPath())
}
const changes: ChangeSet = {
  source: 'api',
  files: [...paths].map(path => ({ path, status: 'modified' })),
  base: '1'.repeat(40),
  head: '2'.repeat(40)
}
const ctx: EventContext = {
  eventName: 'pull_request',
  owner: 'acme',
  repo: 'sindri',
  ref: 'refs/pull/42/merge',
  sha: '2'.repeat(40),
  defaultBranch: 'main',
  branch: 'feat-x',
  isDefaultBranch: false,
  pr: {
    number: 42,
    headSha: '2'.repeat(40),
    headRef: 'feat-x',
    baseSha: '1'.repeat(40),
    baseRef: 'main',
    fork: false
  },
  time: new Date('2025-06-01T12:00:00Z')
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b)
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2
}

// Wall time is what the user waits for; CPU time of this process is shown too, because on a
// shared machine other processes stretch wall time.
function measure(label: string, fn: () => number): void {
  let check = 0
  for (let i = 0; i < WARMUP; i++) check = fn()
  const wall: number[] = []
  const cpu: number[] = []
  for (let i = 0; i < RUNS; i++) {
    const c0 = process.cpuUsage()
    const t0 = performance.now()
    const got = fn()
    wall.push(performance.now() - t0)
    const c = process.cpuUsage(c0)
    cpu.push((c.user + c.system) / 1000)
    if (got !== check) throw new Error(`${label}: runs disagree (${got} vs ${check})`)
  }
  const rate = (ms: number): string => Math.round(FILES / (ms / 1000)).toLocaleString('en-US')
  const ms = median(wall)
  console.log(
    `${label}: ${rate(ms)} files/s (median wall ${ms.toFixed(1)} ms of ${RUNS} runs, min ` +
      `${Math.min(...wall).toFixed(1)}, max ${Math.max(...wall).toFixed(1)}; median CPU ${median(cpu).toFixed(1)} ms ` +
      `→ ${rate(median(cpu))} files/s); ${check} path matches`
  )
}

console.log(
  `${FILES} changed paths, ${config.layers.length} layers × ${PATTERNS} patterns, node ${process.version}`
)
measure('decide() end to end', () => {
  const plan = decide({ config, ctx, changes, force: [], stableExists: {} })
  return Object.values(plan.layers).reduce((n, d) => n + d.matches.length, 0)
})
const compiled = config.layers.map(l => compilePatterns(l.paths))
const list = [...paths]
measure('matchPath() only (compiled once)', () => {
  let n = 0
  for (const c of compiled) for (const p of list) if (matchPath(c, p) !== undefined) n++
  return n
})

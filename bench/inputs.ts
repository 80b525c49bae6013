// Benchmark (not a test): what SPEC 3a adds to a plan on a 10,000-file repository with three layers.
// Builds the repository in a temp dir (git-committed, with a dockerignored node_modules), then times
// readLayers() end to end (Dockerfiles and .dockerignore read, contexts walked, `git ls-files`, parse,
// resolve, checks), the pure part alone, and decide() with the derived inputs over 1,000 changed
// files. Run with bench/inputs.sh; prints the median of several runs after a warm-up.
import { execFileSync } from 'node:child_process'
import { accessSync, lstatSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { cpus, loadavg, tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { performance } from 'node:perf_hooks'
import { createContentIds } from '../src/adapters/content-ids.js'
import { createGit } from '../src/adapters/git.js'
import { createWorkspaceFiles } from '../src/adapters/workspace-files.js'
import { checkLayers, prepareLayers, type LayerTexts } from '../src/core/layer-reads.js'
import { decide } from '../src/core/plan.js'
import type { ChangeSet, EventContext, LayerConfig, StrataConfig } from '../src/core/types.js'
import { readLayers } from '../src/plan/layer-reads.js'

const RUNS = Number(process.argv[2] ?? 15)
const WARMUP = 3

const DOCKERFILES: Record<string, string> = {
  'Dockerfile.base':
    'FROM localhost:5000/ubuntu:24.04\nCOPY package.json package-lock.json /app/\nCOPY scripts/ /scripts/\nRUN sh /scripts/setup.sh\n',
  'Dockerfile.tooling':
    'ARG BASE_IMAGE\nFROM ${BASE_IMAGE}\nCOPY --link tools/*.sh /usr/local/bin/\n' +
    'RUN --mount=type=bind,source=go.mod,target=/go.mod true\n',
  Dockerfile:
    'ARG TOOLING_IMAGE\nFROM ${TOOLING_IMAGE} AS build\nCOPY --link . /app\n' +
    'FROM ${TOOLING_IMAGE}\nCOPY --link --from=build /app /app\n'
}
const IGNORE = 'node_modules\n**/*.md\n!README.md\n.git\n'

function makeRepo(): { dir: string; files: string[] } {
  const dir = mkdtempSync(join(tmpdir(), 'strata-bench-inputs-'))
  const files: string[] = [
    'package.json',
    'package-lock.json',
    'go.mod',
    'README.md',
    '.dockerignore',
    ...Object.keys(DOCKERFILES)
  ]
  for (let i = 0; i < 6000; i++) files.push(`src/mod${i % 60}/sub${i % 7}/file${i}.ts`)
  for (let i = 0; i < 1000; i++) files.push(`docs/section${i % 20}/page${i}.md`)
  for (let i = 0; i < 1950; i++) files.push(`node_modules/pkg${i % 150}/lib/f${i}.js`)
  for (let i = 0; i < 30; i++) files.push(`tools/tool${i}.sh`, `scripts/s${i}.sh`)
  for (let i = files.length; i < 10_000; i++) files.push(`test/case${i}.ts`)
  for (const f of files) {
    mkdirSync(dirname(join(dir, f)), { recursive: true })
    writeFileSync(join(dir, f), DOCKERFILES[f] ?? (f === '.dockerignore' ? IGNORE : `${f}\n`))
  }
  writeFileSync(join(dir, '.gitignore'), 'node_modules\n')
  const git = (...args: string[]) => execFileSync('git', args, { cwd: dir, stdio: 'ignore' })
  git('init', '-q', '-b', 'main')
  git('add', '-A')
  // No automatic gc: with 10,000 new objects it would start in the background and race the removal.
  git(
    '-c',
    'gc.auto=0',
    '-c',
    'user.name=bench',
    '-c',
    'user.email=bench@strata.invalid',
    'commit',
    '-q',
    '-m',
    'repo'
  )
  return { dir, files }
}

function layer(name: string, dockerfile: string, parent?: string): LayerConfig {
  return {
    name,
    dockerfile,
    context: '.',
    paths: [],
    from: parent ? [{ layer: parent, buildArg: `${parent.toUpperCase()}_IMAGE` }] : [],
    always: false,
    image: 'localhost:5000/bench',
    buildArgs: {},
    platforms: ['linux/amd64'],
    cache: ['gha'],
    secrets: [],
    labels: {}
  }
}

const config: StrataConfig = {
  file: '.github/strata.yml',
  version: 1,
  image: 'localhost:5000/bench',
  layers: [
    layer('base', 'Dockerfile.base'),
    layer('tooling', 'Dockerfile.tooling', 'base'),
    layer('app', 'Dockerfile', 'tooling')
  ],
  order: ['base', 'tooling', 'app']
}

/** Every layer's input files, each once. */
function inputsOf(reads: { files: Record<string, Map<string, unknown>> }): string[] {
  return [...new Set(Object.values(reads.files).flatMap(f => [...f.keys()]))]
}

function median(fn: () => unknown): number {
  for (let i = 0; i < WARMUP; i++) fn()
  const times: number[] = []
  for (let i = 0; i < RUNS; i++) {
    const t0 = performance.now()
    fn()
    times.push(performance.now() - t0)
  }
  return times.sort((a, b) => a - b)[Math.floor(times.length / 2)]
}

async function medianAsync(fn: () => Promise<unknown>): Promise<number> {
  for (let i = 0; i < WARMUP; i++) await fn()
  const times: number[] = []
  for (let i = 0; i < RUNS; i++) {
    const t0 = performance.now()
    await fn()
    times.push(performance.now() - t0)
  }
  return times.sort((a, b) => a - b)[Math.floor(times.length / 2)]
}

const { dir, files } = makeRepo()
try {
  const t0 = performance.now()
  const c0 = process.cpuUsage()
  const reads = await readLayers(config, {}, createWorkspaceFiles(dir, createGit(dir)))
  const cold = performance.now() - t0
  const c1 = process.cpuUsage(c0)
  const coldCpu = (c1.user + c1.system) / 1000
  if (reads.errors.length) throw new Error(reads.errors.join('\n'))
  const counts = config.order.map(n => `${n} ${reads.files[n].size}`).join(', ')

  const full = await medianAsync(() => readLayers(config, {}, createWorkspaceFiles(dir, createGit(dir))))
  // With `paths` on one layer, the files at head come from `git ls-files` too.
  const withPaths: StrataConfig = {
    ...config,
    layers: config.layers.map(l => (l.name === 'app' ? { ...l, paths: ['docs/**'] } : l))
  }
  const fullPaths = await medianAsync(() =>
    readLayers(withPaths, {}, createWorkspaceFiles(dir, createGit(dir)))
  )
  // SPEC 4a: the content id of every input (the union over the layers), from a fresh index read each
  // time as a plan makes it; the whole plan-time cost is readLayers plus this.
  const inputs = inputsOf(reads)
  const idsOnce = createContentIds(dir, createGit(dir))
  await idsOnce.entries(inputs)
  const ids = await medianAsync(() => createContentIds(dir, createGit(dir)).entries(inputs))
  // As a plan runs them: the index read started first (it runs beside the walk), then readLayers,
  // then the content ids of what it found.
  const asPlanned = await medianAsync(async () => {
    const git = createGit(dir)
    const ids = createContentIds(dir, git)
    // (bench/inputs-compare.sh runs this file against code from before prefetch() existed too.)
    ;(ids as { prefetch?: () => void }).prefetch?.()
    const r = await readLayers(config, {}, createWorkspaceFiles(dir, git))
    await ids.entries(inputsOf(r))
  })
  // A floor, not a design: readLayers and one lstat of each input, the least any content id checked
  // against git's index by stat data must add, with no index read and nothing else.
  const floor = await medianAsync(async () => {
    const r = await readLayers(config, {}, createWorkspaceFiles(dir, createGit(dir)))
    for (const p of inputsOf(r)) lstatSync(`${dir}/${p}`, { throwIfNoEntry: false })
  })
  // What one system call costs here: lstat as content ids call it, and access(2), nearly a bare call.
  const absolute = inputs.map(p => `${dir}/${p}`)
  const perCall = (fn: (p: string) => unknown): number =>
    (median(() => absolute.forEach(fn)) * 1000) / absolute.length
  const lstatUs = perCall(p => lstatSync(p, { throwIfNoEntry: false }))
  const accessUs = perCall(p => accessSync(p))
  const ws = createWorkspaceFiles(dir, createGit(dir))
  const walk = await medianAsync(() => ws.list(''))
  const texts: Record<string, LayerTexts> = {}
  for (const l of config.layers)
    texts[l.name] = {
      dockerfile: DOCKERFILES[l.dockerfile],
      dockerignore: { path: '.dockerignore', text: IGNORE }
    }
  const sorted = [...files].sort()
  const pure = median(() => checkLayers(config, prepareLayers(config, texts, {}), sorted))

  const ctx: EventContext = {
    eventName: 'push',
    owner: 'acme',
    repo: 'bench',
    ref: 'refs/heads/main',
    sha: 'a'.repeat(40),
    defaultBranch: 'main',
    branch: 'main',
    isDefaultBranch: true,
    time: new Date(0)
  }
  const changes: ChangeSet = {
    source: 'api',
    files: sorted.filter((_, i) => i % 10 === 0).map(path => ({ path, status: 'modified' }))
  }
  const base = {
    config,
    ctx,
    changes,
    force: [] as string[],
    stableExists: { base: true, tooling: true, app: true }
  }
  const without = median(() => decide(base))
  const withInputs = median(() => decide({ ...base, inputs: reads.inputs }))

  const [l1] = loadavg()
  console.log(`load average ${l1.toFixed(1)} on ${cpus().length} cores (wall times grow with it)`)
  console.log(`repository: ${files.length} files (1,950 in a dockerignored node_modules); inputs: ${counts}`)
  console.log(
    `readLayers (read, walk, parse, resolve, check): ${full.toFixed(1)} ms (median of ${RUNS}); the first, cold: ${cold.toFixed(1)} ms (${coldCpu.toFixed(1)} ms of CPU)`
  )
  console.log(`readLayers with \`paths\` on a layer (adds git ls-files): ${fullPaths.toFixed(1)} ms`)
  console.log(
    `  of which the walk of the context: ${walk.toFixed(1)} ms; the pure part (parse, resolve, check): ${pure.toFixed(1)} ms`
  )
  console.log(
    `content ids of the ${inputs.length} input files (index read, stat, hashing): ${ids.toFixed(1)} ms; ${idsOnce.hashed} hashed, the rest from the index`
  )
  console.log(`readLayers and content ids together: ${(full + ids).toFixed(1)} ms warm`)
  console.log(
    `readLayers and content ids as a plan runs them (index read started first): ${asPlanned.toFixed(1)} ms warm`
  )
  console.log(
    `floor (readLayers and one lstat of each input, nothing else): ${floor.toFixed(1)} ms warm (lstat ${lstatUs.toFixed(2)} µs a call, access ${accessUs.toFixed(2)} µs)`
  )
  console.log(
    `decide() over ${changes.files.length} changed files: ${without.toFixed(1)} ms without inputs, ${withInputs.toFixed(1)} ms with them`
  )
  console.log(
    `added to a plan: ${(full + withInputs - without).toFixed(1)} ms warm, ${(cold + withInputs - without).toFixed(1)} ms cold (budget 150 ms)`
  )
} finally {
  rmSync(dir, { recursive: true, force: true })
}

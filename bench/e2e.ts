// Items 2 and 3 of the bench: end-to-end builds of the three-layer fixture against the bench's own
// registry, every measured run starting like a fresh CI runner (no local images of the bench, an empty
// builder cache; the registry keeps what earlier runs pushed), timed from spawn to exit, with the
// registry traffic of that run.
import { mkdir } from 'node:fs/promises'
import { join } from 'node:path'
import { writeFile } from 'node:fs/promises'
import { change, commitAll, git, initRepo, writeTree, type Change } from './fixture.js'
import { exec } from './plan-e2e.js'
import type { BenchRegistry, Traffic } from './registry.js'

export const SCENARIOS = {
  monolithic: 'one multi-stage Dockerfile, no cache (any change)',
  'alternative-app': 'one multi-stage Dockerfile, warm type=registry,mode=max cache, application-only change',
  'alternative-tooling': 'the same, tooling change',
  'alternative-base': 'the same, base change',
  'alternative-docs': 'the same, docs-only change (docs/ is in .dockerignore: every step is a cache hit)',
  floor: 'docker buildx build --push of only the app layer FROM the known tooling digest',
  'strata-app': 'strata build --push, application-only change',
  'strata-tooling': 'strata build --push, tooling change',
  'strata-base': 'strata build --push, base change',
  'strata-docs': 'strata build --push, docs-only change',
  'alternative-merge':
    'the same, the push to main that merges a tooling pull request (its gha scope is not readable from main and pull requests write no registry cache, so main builds from its own registry cache)',
  'strata-merge':
    'strata build --push of the push to main that merges a tooling pull request Strata already built (as a pull_request event)',
  'alternative-app-link':
    'one multi-stage Dockerfile whose app stage is COPY --link only, warm type=registry,mode=max cache, application-only change',
  'floor-link': 'docker buildx build --push of only the COPY --link app layer FROM the known tooling digest',
  'strata-app-link':
    'strata build --push, application-only change, the app layer COPY --link only (assembled, SPEC 7a)'
} as const
export type Scenario = keyof typeof SCENARIOS

export interface Sample {
  wallMs: number
  traffic: Traffic
  /** Strata: the layers its plan built. */
  built?: string[]
  /** The first attempt failed (see the log) and this is the second. */
  retried?: boolean
}

export interface E2eOptions {
  cli: string
  registry: BenchRegistry
  runs: number
  scenarios: Scenario[]
  log: (line: string) => void
}

interface Prepared {
  cmd: string
  args: string[]
  cwd: string
  /** Strata: the layers that must build, to catch a wrong measurement. */
  expect?: string[]
}

export async function runE2e(work: string, o: E2eOptions): Promise<Record<string, Sample[]>> {
  const host = o.registry.host
  const dirs = {
    strata: join(work, 'strata'),
    alt: join(work, 'alternative'),
    cold: join(work, 'monolithic'),
    floor: join(work, 'floor'),
    strataLink: join(work, 'strata-link'),
    altLink: join(work, 'alternative-link'),
    floorLink: join(work, 'floor-link')
  }
  const linked = o.scenarios.some(s => s.endsWith('-link'))
  for (const [name, d] of Object.entries(dirs)) {
    const link = name.endsWith('Link')
    if (link && !linked) continue
    await mkdir(d, { recursive: true })
    await writeTree(d, `${host}/bench-strata${link ? '-link' : ''}`, link ? 'link' : 'gen')
  }
  let head = await initRepo(dirs.strata)
  let linkHead = linked ? await initRepo(dirs.strataLink) : ''
  let n = 0
  const cli = (...args: string[]): Prepared => ({ cmd: 'node', args: [o.cli, ...args], cwd: dirs.strata })
  const buildx = (dir: string, ...args: string[]): Prepared => ({
    cmd: 'docker',
    args: ['buildx', 'build', '--progress=plain', ...args, dir],
    cwd: dir
  })
  const altCache = `type=registry,ref=${host}/bench-alternative:buildcache`
  const alternative = (): Prepared =>
    buildx(
      dirs.alt,
      '-f',
      'Dockerfile.mono',
      '--cache-from',
      altCache,
      '--cache-to',
      `${altCache},mode=max`,
      '--push',
      '-t',
      `${host}/bench-alternative:run-${n}`,
      '-t',
      `${host}/bench-alternative:latest`
    )
  const altLinkCache = `type=registry,ref=${host}/bench-alternative-link:buildcache`
  const alternativeLink = (): Prepared =>
    buildx(
      dirs.altLink,
      '-f',
      'Dockerfile.mono',
      '--cache-from',
      altLinkCache,
      '--cache-to',
      `${altLinkCache},mode=max`,
      '--push',
      '-t',
      `${host}/bench-alternative-link:run-${n}`,
      '-t',
      `${host}/bench-alternative-link:latest`
    )
  const linkCli = (...args: string[]): Prepared => ({ ...cli(...args), cwd: dirs.strataLink })
  const strataChange = async (kind: Change, expect: string[]): Promise<Prepared> => {
    await change(dirs.strata, kind, ++n)
    const base = head
    head = await commitAll(dirs.strata, `${kind} change ${n}`)
    return { ...cli('build', '--push', '--json', '--base', base, '--head', head), expect }
  }

  // The pull request's run is part of the setup, not measured: a tooling change on a branch, built by
  // Strata for the pull_request event (pushing its input tags), then merged with a merge commit.
  const strataMerge = async (): Promise<Prepared> => {
    const number = ++n
    const branch = `pr-${number}`
    const base = head
    await git(dirs.strata, 'checkout', '-q', '-b', branch)
    await change(dirs.strata, 'tooling', number)
    const prHead = await commitAll(dirs.strata, `tooling change ${number}`)
    const event = join(work, `pull_request-${number}.json`)
    await writeFile(event, JSON.stringify(pullRequestEvent(number, branch, base, prHead)))
    await freshRunner(host)
    await measured(
      o,
      cli(
        'build',
        '--push',
        '--json',
        '--event-file',
        event,
        '--event-name',
        'pull_request',
        '--base',
        base,
        '--head',
        prHead
      ),
      ['tooling', 'app']
    )
    await git(dirs.strata, 'checkout', '-q', 'main')
    await git(dirs.strata, 'merge', '-q', '--no-ff', '-m', `Merge pull request #${number}`, branch)
    head = await git(dirs.strata, 'rev-parse', 'HEAD')
    return { ...cli('build', '--push', '--json', '--base', base, '--head', head), expect: [] }
  }

  const prepare: Record<Scenario, () => Promise<Prepared>> = {
    monolithic: async () =>
      buildx(dirs.cold, '-f', 'Dockerfile.mono', '--push', '-t', `${host}/bench-monolithic:run-${++n}`),
    'alternative-app': async () => (await change(dirs.alt, 'app', ++n), alternative()),
    'alternative-tooling': async () => (await change(dirs.alt, 'tooling', ++n), alternative()),
    'alternative-base': async () => (await change(dirs.alt, 'base', ++n), alternative()),
    'alternative-docs': async () => (await change(dirs.alt, 'docs', ++n), alternative()),
    floor: async () => {
      // The floor builds the very change Strata's app scenario builds, FROM the digest known up front.
      const digest = await o.registry.digest('bench-strata', 'tooling-stable')
      if (!digest) throw new Error('floor: bench-strata:tooling-stable is not in the registry')
      await change(dirs.floor, 'app', ++n)
      return buildx(
        dirs.floor,
        '-f',
        'Dockerfile',
        '--build-arg',
        `TOOLING_IMAGE=${host}/bench-strata:tooling-stable@${digest}`,
        '--push',
        '-t',
        `${host}/bench-strata:floor-${n}`
      )
    },
    'strata-app': () => strataChange('app', ['app']),
    'strata-tooling': () => strataChange('tooling', ['tooling', 'app']),
    'strata-base': () => strataChange('base', ['base', 'tooling', 'app']),
    'strata-docs': () => strataChange('docs', []),
    // What main builds after the merge is what a tooling change costs it (see SCENARIOS).
    'alternative-merge': async () => (await change(dirs.alt, 'tooling', ++n), alternative()),
    'strata-merge': strataMerge,
    'alternative-app-link': async () => (await change(dirs.altLink, 'app', ++n), alternativeLink()),
    'floor-link': async () => {
      const digest = await o.registry.digest('bench-strata-link', 'tooling-stable')
      if (!digest) throw new Error('floor-link: bench-strata-link:tooling-stable is not in the registry')
      await change(dirs.floorLink, 'app', ++n)
      return buildx(
        dirs.floorLink,
        '-f',
        'Dockerfile',
        '--build-arg',
        `TOOLING_IMAGE=${host}/bench-strata-link:tooling-stable@${digest}`,
        '--push',
        '-t',
        `${host}/bench-strata-link:floor-${n}`
      )
    },
    'strata-app-link': async () => {
      await change(dirs.strataLink, 'app', ++n)
      const base = linkHead
      linkHead = await commitAll(dirs.strataLink, `app change ${n}`)
      return { ...linkCli('build', '--push', '--json', '--base', base, '--head', linkHead), expect: ['app'] }
    }
  }

  // Warm-up, not measured: Strata's stable tags and the alternative's registry cache exist, as after
  // any earlier run on the default branch.
  o.log('warm-up: strata build --push --force all, and the alternative with --cache-to')
  if (o.scenarios.some(s => !s.endsWith('-link'))) {
    await freshRunner(host)
    await measured(o, cli('build', '--push', '--json', '--force', 'all', '--base', head, '--head', head), [
      'base',
      'tooling',
      'app'
    ])
  }
  if (o.scenarios.some(s => s.startsWith('alternative') && !s.endsWith('-link')))
    await measured(o, alternative())
  if (linked) {
    await freshRunner(host)
    await measured(
      o,
      linkCli('build', '--push', '--json', '--force', 'all', '--base', linkHead, '--head', linkHead),
      ['base', 'tooling', 'app']
    )
    if (o.scenarios.includes('alternative-app-link')) await measured(o, alternativeLink())
  }

  const samples: Record<string, Sample[]> = {}
  // Round robin, so that a slow minute of a shared machine hits every scenario alike.
  for (let round = 1; round <= o.runs; round++) {
    for (const s of o.scenarios) {
      const p = await prepare[s]()
      await freshRunner(host)
      let sample: Sample
      try {
        sample = await measured(o, p, p.expect)
      } catch (e) {
        // On a shared daemon another job's prune can pull a record from under a build: retry once.
        o.log(
          `  round ${round} ${s} failed, retrying once: ${(e as Error).message.split('\n').slice(-3).join(' ')}`
        )
        await freshRunner(host)
        sample = await measured(o, p, p.expect)
        sample.retried = true
      }
      ;(samples[s] ??= []).push(sample)
      o.log(
        `  round ${round} ${s.padEnd(19)} ${(sample.wallMs / 1000).toFixed(1).padStart(6)} s  ` +
          `pushed ${(sample.traffic.pushedBytes / 1e6).toFixed(1)} MB, pulled ` +
          `${(sample.traffic.pulledBytes / 1e6).toFixed(3)} MB, ${sample.traffic.requests} registry requests` +
          (sample.built ? `  built [${sample.built.join(', ')}]` : '')
      )
    }
  }
  return samples
}

/** A pull_request event of the bench repository, as the runner writes it (the fields Strata reads). */
function pullRequestEvent(number: number, branch: string, base: string, head: string): object {
  const repository = {
    full_name: 'bench/strata',
    name: 'strata',
    owner: { login: 'bench' },
    default_branch: 'main'
  }
  return {
    action: 'synchronize',
    number,
    pull_request: {
      number,
      head: { sha: head, ref: branch, repo: { full_name: 'bench/strata' } },
      base: { sha: base, ref: 'main', repo: { full_name: 'bench/strata' } }
    },
    repository
  }
}

/** Runs one command, timed from spawn to exit, with the registry traffic it caused. */
async function measured(o: E2eOptions, p: Prepared, expect?: string[]): Promise<Sample> {
  const mark = o.registry.mark()
  const t0 = performance.now()
  const r = await exec(p.cmd, p.args, { cwd: p.cwd })
  const wallMs = performance.now() - t0
  if (r.code !== 0) {
    throw new Error(`${p.cmd} ${p.args.join(' ')} failed (${r.code}):\n${(r.stdout + r.stderr).slice(-3000)}`)
  }
  const traffic = await o.registry.trafficSince(mark)
  const sample: Sample = { wallMs, traffic }
  if (expect) {
    const plan = JSON.parse(r.stdout) as { layers: Record<string, { build: boolean }> }
    sample.built = Object.keys(plan.layers).filter(l => plan.layers[l].build)
    if (sample.built.join() !== expect.join()) {
      throw new Error(
        `strata built [${sample.built.join(', ')}], expected [${expect.join(', ')}]:\n${r.stderr}`
      )
    }
  }
  return sample
}

/**
 * Like a fresh CI runner: no local image of the bench's repositories and an empty builder cache.
 * Only the bench's images are removed, so other work on a shared daemon keeps its images.
 */
export async function freshRunner(host: string): Promise<void> {
  const ls = await exec('docker', ['image', 'ls', '--format', '{{.Repository}}:{{.Tag}}'], { cwd: '/' })
  const ours = ls.stdout
    .split('\n')
    .filter(r => r.startsWith(`${host}/`))
    .map(r => r.replace(/:<none>$/, ''))
  if (ours.length) await exec('docker', ['image', 'rm', '-f', ...new Set(ours)], { cwd: '/' })
  const pruned = await exec('docker', ['buildx', 'prune', '-af'], { cwd: '/' })
  if (pruned.code !== 0) throw new Error(`docker buildx prune -af failed: ${pruned.stderr}`)
}

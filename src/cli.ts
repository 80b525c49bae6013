// `strata plan|build|cleanup`: the action's pipeline in a local clone. Changes come from git
// (--base … --head), or a real event is replayed with --event-file and --event-name.
import { realpathSync } from 'node:fs'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { pathToFileURL } from 'node:url'
import { parseArgs } from 'node:util'
import * as core from '@actions/core'
import { loadConfig } from './adapters/config-file.js'
import { createGit, type Git } from './adapters/git.js'
import { safeJson, safeText } from './core/log-safe.js'
import { createTerminalLogger, renderTable, type TableRow } from './adapters/terminal-log.js'
import { decisionTable } from './cleanup/cleanup.js'
import type { Mode } from './core/inputs-parse.js'
import { makeSettings, parseInputs, type RawSettings, type SettingNames } from './core/settings.js'
import type { BuildResult, Plan, StrataConfig } from './core/types.js'
import { readLayers } from './plan/layer-reads.js'
import { planFileContent, withFinalRefs } from './outputs.js'
import { localEvent, requireCheckedOut, type LocalEvent } from './local-event.js'
import { planPaths } from './plan/make-plan.js'
import { trustServices } from './trust-services.js'
import { runPipeline, unknownProblem } from './run.js'
import { wire } from './wiring.js'
import { createWorkspaceFiles } from './adapters/workspace-files.js'

const USAGE = `usage: strata <plan|build|cleanup|inputs> [options]

  plan      decide which layers a change rebuilds (reads git and the registry; builds nothing)
  build     plan, then build with local docker buildx (pushes only with --push)
  cleanup   apply the config's retention rules (with --dry-run: only print the decision)
  inputs [layer]  what each layer reads, and why (a Dockerfile line or a \`paths\` pattern)

options:
  --base <rev>         compare from this commit (default: merge-base of HEAD with origin/HEAD,
                       else with the default branch)
  --head <rev>         compare up to this commit (default: HEAD); build needs it checked out
  --event-file <path>  replay a real event payload (e.g. saved from a run's GITHUB_EVENT_PATH)
  --event-name <name>  its event name (pull_request, push, …; default: guessed from the payload)
  --config <path>      layer config (default: .github/strata.yml)
  --layers <a,b>       only these layers may build
  --force <a,b|all>    build these layers regardless of changes
  --push               push images and move tags (build); without it images are --load-ed
  --platforms <p,q>    override every layer's platforms
  --build-arg K=V      add a build arg to every layer (repeatable)
  --builder <name>     buildx builder
  --dry-run            print what would build instead of building (build: with --bake-file <path>,
                       keep the bake definition there)
  --max-deletions <n>  cleanup: delete at most n digests (default 20)
  --json               print the plan as JSON (stdout) instead of a table
  -C <dir>             run in <dir> (default: the current directory)
  -q, --quiet          only warnings and the result
`

/** Where the CLI writes: the result on `out`, the log and errors on `err`. */
export interface CliIO {
  out: (text: string) => void
  err: (text: string) => void
  /** Where the command's scratch folder goes (default: the system temp directory). */
  tmp?: string
}

const processIO: CliIO = {
  out: text => void process.stdout.write(text),
  err: text => void process.stderr.write(text)
}

/** Runs one command; returns the exit code (0 ok, 1 failed, 2 usage). */
export async function cli(argv: string[], io: CliIO = processIO): Promise<number> {
  let values: ReturnType<typeof parse>['values']
  let positionals: string[]
  try {
    ;({ values, positionals } = parse(argv))
  } catch (e) {
    io.err(`${safeText(`strata: ${(e as Error).message}`)}\n\n${USAGE}`)
    return 2
  }
  if (values.help || positionals.length === 0) {
    io.out(USAGE)
    return positionals.length === 0 && !values.help ? 2 : 0
  }
  try {
    return await command(positionals, values, io)
  } catch (e) {
    io.err(`${safeText(`strata: ${e instanceof Error ? e.message : String(e)}`)}\n`)
    return 1
  }
}

function parse(argv: string[]) {
  return parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      base: { type: 'string' },
      head: { type: 'string' },
      'event-file': { type: 'string' },
      'event-name': { type: 'string' },
      config: { type: 'string' },
      layers: { type: 'string' },
      force: { type: 'string' },
      push: { type: 'boolean' },
      platforms: { type: 'string' },
      'build-arg': { type: 'string', multiple: true },
      builder: { type: 'string' },
      'dry-run': { type: 'boolean' },
      'bake-file': { type: 'string' },
      'max-deletions': { type: 'string' },
      json: { type: 'boolean' },
      C: { type: 'string', short: 'C' },
      quiet: { type: 'boolean', short: 'q' },
      help: { type: 'boolean', short: 'h' }
    }
  })
}

async function command(
  positionals: string[],
  values: ReturnType<typeof parse>['values'],
  io: CliIO
): Promise<number> {
  const name = positionals[0]
  const most = name === 'inputs' ? 2 : 1
  if (positionals.length > most) throw new Error(`one command at a time, not "${positionals.join(' ')}"`)
  if (name !== 'plan' && name !== 'build' && name !== 'cleanup' && name !== 'inputs') {
    throw new Error(`unknown command "${name}": use plan, build, cleanup or inputs (strata --help)`)
  }
  const cwd = resolve(values.C ?? '.')
  if (name === 'inputs') return inputsCommand(cwd, positionals[1], values, io)
  const mode: Mode = name // the command is the mode; makeSettings() reads it as the `mode` input
  const top = await createGit(cwd).topLevel()
  if (!top) throw new Error(`${cwd} is not in a git repository: run strata in a clone (or give -C <dir>)`)
  const git = createGit(top)
  const event = await localEvent(git, top, values)
  if (mode === 'build' && values.head) await requireCheckedOut(git, top, values.head)
  // A private scratch folder for this command, removed whatever happens (SPEC 9: no files left behind).
  const temp = io.tmp
    ? await mkdtemp(join(io.tmp, 'strata-cli-'))
    : await mkdtemp(join(tmpdir(), 'strata-cli-'))
  try {
    return await runCommand(mode, top, git, event, values, io, temp)
  } finally {
    await rm(temp, { recursive: true, force: true })
  }
}

async function runCommand(
  mode: Mode,
  top: string,
  git: Git,
  event: LocalEvent,
  values: ReturnType<typeof parse>['values'],
  io: CliIO,
  temp: string
): Promise<number> {
  const log = cliLogger(values.quiet === true, io)
  const services = trustServices(process.env, { token: process.env.GITHUB_TOKEN })
  const settings = makeSettings(
    // SPEC 4b: a terminal has no OIDC token, so it signs nothing (and says nothing about it); a CLI
    // run inside a job that can request one signs like the action.
    rawFlags(mode, values, event, services.attester ? 'auto' : 'false'),
    {
      workspace: top,
      eventName: event.name,
      payload: event.payload,
      runner: event.env,
      runnerTemp: temp,
      buildEnv: process.env,
      now: new Date(),
      apiUrl: process.env.GITHUB_API_URL,
      trust: services.trust
    },
    FLAG_NAMES
  )
  // The GitHub API only for cleanup's pull request states: the CLI reads changes from git.
  const gh = settings.mode === 'cleanup' ? { token: settings.token, apiUrl: settings.apiUrl } : {}
  const outcome = await runPipeline(settings, wire(settings, log, { ...gh, git, services }))

  if (outcome.mode === 'cleanup') {
    if (values.json) io.out(`${safeJson(JSON.stringify(outcome.cleanup, null, 2))}\n`)
    else io.out(`${safeText(decisionTable(outcome.cleanup.images.flatMap(i => i.rows)).join('\n'))}\n`)
    return outcome.cleanup.errors.length ? 1 : 0
  }
  const build = outcome.mode === 'build' ? outcome.build : undefined
  // The scratch folder goes away: a dry run's bake definition is kept only where the user says.
  if (build?.bake && values['bake-file']) {
    await writeFile(values['bake-file'], `${JSON.stringify(build.bake.definition, null, 2)}\n`)
    io.err(`${safeText(`bake definition written to ${values['bake-file']}`)}\n`)
  }
  if (values.json) io.out(safeJson(planFileContent(outcome.plan, planPaths(outcome), build)))
  else io.out(`${safeText(renderTable(tableRows(outcome.config, outcome.plan, build, settings.dryRun)))}\n`)
  // SPEC 8: the plan is shown with its unknown layers, then the step fails once per registry.
  const unknown = unknownProblem(outcome.plan)
  if (unknown) {
    io.err(`${safeText(`strata: ${unknown}`)}\n`)
    return 1
  }
  if (build?.failed) {
    io.err(
      `${safeText(`strata: layer ${build.failed} failed: ${build.layers[build.failed]?.error ?? ''}`)}\n`
    )
    return 1
  }
  return 0
}

/** The terminal's logger; a CLI run inside a workflow step masks secrets in the job's log as the action does. */
function cliLogger(quiet: boolean, io: CliIO): ReturnType<typeof createTerminalLogger> {
  return createTerminalLogger({
    verbose: !quiet,
    write: line => io.err(`${line}\n`),
    ...(process.env.GITHUB_ACTIONS === 'true' && { mask: (secret: string) => core.setSecret(secret) })
  })
}

/** How the flags are named in errors: `--max-deletions`, not the action's `max-deletions` input. */
const FLAG_NAMES: SettingNames = {
  config: '--config',
  layers: '--layers',
  force: '--force',
  base: '--base',
  head: '--head',
  platforms: '--platforms',
  'build-args': '--build-arg',
  builder: '--builder',
  'dry-run': '--dry-run',
  'max-deletions': '--max-deletions'
}

/** The flags as the action's raw inputs: the command is the mode, `--build-arg`s are lines. */
function rawFlags(
  mode: Mode,
  values: ReturnType<typeof parse>['values'],
  event: LocalEvent,
  attest: 'auto' | 'false'
): RawSettings {
  return {
    mode,
    config: values.config,
    layers: values.layers,
    force: values.force,
    push: values.push === true ? 'true' : 'false',
    base: event.base,
    head: event.head,
    platforms: values.platforms,
    'build-args': (values['build-arg'] ?? []).join('\n'),
    builder: values.builder,
    'dry-run': values['dry-run'] === true ? 'true' : 'false',
    'max-deletions': values['max-deletions'],
    // cleanup: pull request states, and GHCR through the Packages API.
    token: process.env.GITHUB_TOKEN,
    attest
  }
}

/** `strata inputs [layer]`: every input file of each layer with what made it one, and its external images. */
async function inputsCommand(
  cwd: string,
  only: string | undefined,
  values: ReturnType<typeof parse>['values'],
  io: CliIO
): Promise<number> {
  const git = createGit(cwd)
  const top = (await git.topLevel()) ?? cwd
  const flags = parseInputs(
    { config: values.config, 'build-args': (values['build-arg'] ?? []).join('\n') },
    FLAG_NAMES
  )
  const config = await loadConfig(flags.config, top)
  if (only !== undefined && !config.order.includes(only)) {
    throw new Error(`no layer "${only}" in ${config.file}; its layers: ${config.order.join(', ')}`)
  }
  const reads = await readLayers(
    config,
    flags.buildArgs,
    createWorkspaceFiles(top, top === cwd ? git : createGit(top))
  )
  reads.warnings.forEach(w => io.err(`warning: ${oneLine(w)}\n`))
  reads.errors.forEach(e => io.err(`error: ${oneLine(e)}\n`))
  const names = config.order.filter(n => (only === undefined || n === only) && reads.files[n])
  const byName = new Map(config.layers.map(l => [l.name, l]))
  if (values.json) {
    const layers: Record<string, object> = {}
    for (const n of names) {
      const l = byName.get(n)
      layers[n] = {
        dockerfile: l?.dockerfile,
        context: l?.context,
        dockerignore: reads.inputs[n]?.dockerignore,
        inputs: [...reads.files[n]].map(([path, reason]) => ({ path, reason })),
        externals: reads.externals[n].map(u => ({
          image: u.image,
          at: `${l?.dockerfile}:${u.line}`,
          keyword: u.keyword
        }))
      }
    }
    io.out(`${JSON.stringify({ layers }, null, 2)}\n`)
  } else {
    const lines: string[] = []
    for (const n of names) {
      const l = byName.get(n)
      const files = [...reads.files[n]]
      lines.push(
        `${n}: ${files.length} ${files.length === 1 ? 'file' : 'files'} (${l?.dockerfile}, context ${l?.context})`
      )
      const width = Math.min(60, Math.max(0, ...files.map(([p]) => oneLine(p).length)))
      for (const [path, reason] of files) lines.push(`  ${oneLine(path).padEnd(width)}  ${oneLine(reason)}`)
      for (const u of reads.externals[n])
        lines.push(`  image ${oneLine(u.image)}  ${l?.dockerfile}:${u.line} ${u.keyword}`)
    }
    io.out(lines.length ? `${lines.join('\n')}\n` : '')
  }
  return reads.errors.length ? 1 : 0
}

/** File names are untrusted: one with a control character is shown as a JSON string, on one line. */
function oneLine(s: string): string {
  // eslint-disable-next-line no-control-regex
  return /[\u0000-\u001f\u007f]/.test(s) ? JSON.stringify(s) : s
}

function tableRows(config: StrataConfig, plan: Plan, build?: BuildResult, dryRun = false): TableRow[] {
  const final = withFinalRefs(plan, build)
  return config.order
    .filter(n => final.layers[n])
    .map(name => {
      const d = final.layers[name]
      const r = build?.layers[name]
      const action = d.unknown
        ? 'unknown'
        : r
          ? dryRun && r.status === 'built'
            ? 'would build'
            : r.status
          : d.build
            ? d.selected
              ? 'build'
              : 'build (other step)'
            : 'reuse'
      const row: TableRow = {
        layer: name,
        action,
        reasons: (r?.reasons ?? d.reasons).join(', ') || '-',
        ref: d.ref ?? '-'
      }
      if (build) {
        row.time = r?.durationMs !== undefined ? `${(r.durationMs / 1000).toFixed(1)}s` : '-'
        row.cached = r?.totalSteps ? `${r.cachedSteps ?? 0}/${r.totalSteps}` : '-'
      }
      return row
    })
}

/** Started as a program (node dist/cli/index.js, or bin/strata.js as the installed `strata`), not imported by a test. */
function startedAsProgram(): boolean {
  const argv1 = process.argv[1]
  if (!argv1) return false
  let real = argv1
  try {
    real = realpathSync(argv1)
  } catch {
    // not a file: compare as given
  }
  return pathToFileURL(real).href === import.meta.url || /(^|[\\/])strata(\.js)?$/.test(real)
}

if (startedAsProgram()) process.exitCode = await cli(process.argv.slice(2))

// run(): the action. Raw inputs → makeSettings() → wire() → runPipeline() → outputs and summary; the
// only place that fails the step.
import { mkdtemp, readFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import * as core from '@actions/core'
import { createActionsLogger } from './adapters/actions-log.js'
import { renderSummary, writeSummary } from './adapters/summary.js'
import { renderCleanupSummary } from './cleanup/cleanup.js'
import { rawInputs } from './inputs.js'
import { platformOutputs, platformStepOutputs } from './merge/merge.js'
import { computeOutputs, writePlanFile } from './outputs.js'
import type { RawSettings, Settings } from './core/settings.js'
import { makeSettings, runnerEnv } from './core/settings.js'
import type { BuildResult, Logger } from './core/types.js'
import type { PlanOutcome } from './plan/make-plan.js'
import { planPaths } from './plan/make-plan.js'
import type { RunOutcome } from './run.js'
import { runPipeline, unknownProblem } from './run.js'
import { trustServices } from './trust-services.js'
import { wire } from './wiring.js'

export async function run(): Promise<void> {
  try {
    const failure = await act(rawInputs(), process.env)
    if (failure) core.setFailed(failure)
  } catch (e) {
    core.setFailed(errorMessage(e))
  }
}

/** Any thrown value as one line a user can act on. */
export function errorMessage(e: unknown): string {
  if (e instanceof Error) return e.message || e.name
  if (typeof e === 'string') return e
  try {
    return `unexpected error: ${JSON.stringify(e)}`
  } catch {
    return `unexpected error: ${String(e)}`
  }
}

/** Runs the step; returns why it failed after recording outputs and summary, or undefined. */
async function act(raw: RawSettings, env: NodeJS.ProcessEnv): Promise<string | undefined> {
  const log = createActionsLogger()
  // Off a runner: a private directory, never fixed file names in the shared temp directory.
  const runnerTemp = env.RUNNER_TEMP || (await mkdtemp(join(tmpdir(), 'strata-')))
  const apiUrl = env.GITHUB_API_URL || 'https://api.github.com'
  const payload = await readPayload(env.GITHUB_EVENT_PATH)
  const services = trustServices(env, { token: raw.token, visibility: visibilityOf(payload) })
  const settings = makeSettings(raw, {
    workspace: env.GITHUB_WORKSPACE || process.cwd(),
    eventName: env.GITHUB_EVENT_NAME || '',
    payload,
    runner: runnerEnv(env),
    runnerTemp,
    buildEnv: env,
    now: new Date(),
    apiUrl,
    trust: services.trust
  })
  const outcome = await runPipeline(
    settings,
    wire(settings, log, { token: raw.token || undefined, apiUrl, services })
  )
  await record(outcome, settings, log)
  return failureOf(outcome)
}

/** The repository's visibility from the event: public repositories sign with public-good Sigstore. */
function visibilityOf(payload: unknown): string | undefined {
  const v = (payload as { repository?: { visibility?: unknown } } | undefined)?.repository?.visibility
  return typeof v === 'string' ? v : undefined
}

/** Outputs, plan-file and job summary: written even when a layer failed (run, record, then fail). */
async function record(outcome: RunOutcome, s: Settings, log: Logger): Promise<void> {
  if (outcome.mode === 'cleanup') {
    if (s.summary) await writeSummary(renderCleanupSummary(outcome.cleanup))
    return
  }
  if (s.mode === 'cleanup') return // not met: the outcome is of the settings' mode
  const build = outcome.mode === 'plan' ? undefined : outcome.build
  const paths = planPaths(outcome)
  const outputs: Record<string, string> = {
    ...computeOutputs(outcome.config, outcome.plan, paths, build),
    ...platformOutputs(outcome.config, outcome.plan, { ...s, push: outcome.push }, log),
    // A platform step: its platform manifests, for the merge step.
    ...(build && outcome.mode === 'build' && s.platform && platformStepOutputs(build, s.platform))
  }
  for (const [name, value] of Object.entries(outputs)) core.setOutput(name, value)
  core.setOutput('plan-file', await writePlanFile(s.runnerTemp, outcome.plan, paths, build))
  if (s.summary) await writeSummary(summaryOf(outcome, build, s.dryRun))
}

/** The job summary of a plan, build or merge step. */
function summaryOf(outcome: PlanOutcome, build: BuildResult | undefined, dryRun: boolean): string {
  return renderSummary(outcome.plan, build, {
    order: outcome.config.order,
    dryRun,
    push: outcome.push,
    event: outcome.ctx.eventName,
    graph: {
      parents: Object.fromEntries(outcome.config.layers.map(l => [l.name, l.from.map(p => p.layer)])),
      externals: Object.fromEntries(
        Object.entries(outcome.reads.externals).map(([n, uses]) => [n, uses.map(u => u.image)])
      )
    },
    warnings: outcome.reads.warnings
  })
}

function failureOf(outcome: RunOutcome): string | undefined {
  if (outcome.mode === 'cleanup') {
    const errors = outcome.cleanup.errors
    return errors.length ? `cleanup stopped: ${errors.join('; ')}` : undefined
  }
  if (outcome.mode === 'plan') return unknownProblem(outcome.plan)
  if (outcome.build.failed) {
    const r = outcome.build.layers[outcome.build.failed]
    return `layer ${outcome.build.failed} failed: ${r?.error ?? 'see its log group'}`
  }
  return undefined
}

async function readPayload(path: string | undefined): Promise<unknown> {
  if (!path) return {}
  try {
    return JSON.parse(await readFile(path, 'utf8')) as unknown
  } catch (e) {
    throw new Error(`cannot read the event payload GITHUB_EVENT_PATH=${path}: ${errorMessage(e)}`)
  }
}

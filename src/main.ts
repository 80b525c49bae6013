// run(): the action. Inputs → pipeline → outputs and summary; the only place that fails the step.
import { mkdtemp, readFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import * as core from '@actions/core'
import { createActionsLogger } from './adapters/actions-log.js'
import { createBuildx } from './adapters/buildx.js'
import { createContentIds } from './adapters/content-ids.js'
import { createGit } from './adapters/git.js'
import { createGitHub } from './adapters/github.js'
import { createRegistry } from './adapters/registry.js'
import { renderSummary, writeSummary } from './adapters/summary.js'
import { renderCleanupSummary } from './cleanup/cleanup.js'
import type { Inputs } from './inputs.js'
import { getInputs } from './inputs.js'
import { platformOutputs, platformStepOutputs } from './merge/merge.js'
import { computeOutputs, writePlanFile } from './outputs.js'
import type { CommonSettings, RunSettings } from './core/settings.js'
import type { Logger } from './core/types.js'
import { planPaths } from './plan/make-plan.js'
import type { RunOutcome } from './run.js'
import { runPipeline, unknownProblem } from './run.js'
import { trustServices } from './trust-services.js'

export async function run(): Promise<void> {
  try {
    const failure = await act(getInputs(), process.env)
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
async function act(inputs: Inputs, env: NodeJS.ProcessEnv): Promise<string | undefined> {
  const log = createActionsLogger()
  const workspace = env.GITHUB_WORKSPACE || process.cwd()
  // Off a runner: a private directory, never fixed file names in the shared temp directory.
  const runnerTemp = env.RUNNER_TEMP || (await mkdtemp(join(tmpdir(), 'strata-')))
  const apiUrl = env.GITHUB_API_URL || 'https://api.github.com'
  const payload = await readPayload(env.GITHUB_EVENT_PATH)
  const services = trustServices(env, { token: inputs.token, visibility: visibilityOf(payload) })
  const settings = runSettings(inputs, env, { workspace, payload, runnerTemp, apiUrl })
  const git = createGit(workspace)
  const registry = createRegistry()
  const outcome = await runPipeline(
    settings.mode === 'cleanup' ? settings : { ...settings, trust: services.trust },
    {
      attestations: services.attestations,
      attester: services.attester,
      log,
      registry,
      images: registry.images,
      buildx: inputs.mode === 'build' ? createBuildx() : undefined,
      github: inputs.token ? createGitHub({ token: inputs.token, apiUrl, log }) : undefined,
      git,
      contentIds: createContentIds(workspace, git)
    }
  )
  await record(outcome, inputs, runnerTemp, log)
  return failureOf(outcome)
}

/** The settings of the mode the inputs name, made once: the event from the runner's environment. */
function runSettings(
  inputs: Inputs,
  env: NodeJS.ProcessEnv,
  run: { workspace: string; payload: unknown; runnerTemp: string; apiUrl: string }
): RunSettings {
  const eventName = env.GITHUB_EVENT_NAME || ''
  const common: CommonSettings = {
    workspace: run.workspace,
    configPath: inputs.config,
    eventName,
    payload: run.payload,
    env: {
      GITHUB_REPOSITORY: env.GITHUB_REPOSITORY,
      GITHUB_REF: env.GITHUB_REF,
      GITHUB_SHA: env.GITHUB_SHA,
      GITHUB_EVENT_NAME: eventName,
      GITHUB_HEAD_REF: env.GITHUB_HEAD_REF,
      GITHUB_BASE_REF: env.GITHUB_BASE_REF
    },
    now: new Date()
  }
  if (inputs.mode === 'cleanup') {
    return {
      ...common,
      mode: 'cleanup',
      dryRun: inputs.dryRun,
      maxDeletions: inputs.maxDeletions,
      token: inputs.token || undefined,
      apiUrl: run.apiUrl,
      repository: env.GITHUB_REPOSITORY
    }
  }
  return {
    ...common,
    mode: inputs.mode,
    layers: inputs.layers,
    plan: inputs.plan,
    force: inputs.force,
    push: inputs.push,
    base: inputs.base,
    head: inputs.head,
    platforms: inputs.platforms,
    platform: inputs.platform,
    digests: inputs.digests,
    buildArgs: inputs.buildArgs,
    builder: inputs.builder,
    dryRun: inputs.dryRun,
    runnerTemp: run.runnerTemp,
    buildEnv: env,
    attest: inputs.attest
  }
}

/** The repository's visibility from the event: public repositories sign with public-good Sigstore. */
function visibilityOf(payload: unknown): string | undefined {
  const v = (payload as { repository?: { visibility?: unknown } } | undefined)?.repository?.visibility
  return typeof v === 'string' ? v : undefined
}

/** Outputs, plan-file and job summary: written even when a layer failed (run, record, then fail). */
async function record(outcome: RunOutcome, inputs: Inputs, runnerTemp: string, log: Logger): Promise<void> {
  if (outcome.mode === 'cleanup') {
    if (inputs.summary) await writeSummary(renderCleanupSummary(outcome.cleanup))
    return
  }
  const build = outcome.mode === 'plan' ? undefined : outcome.build
  const paths = planPaths(outcome)
  const outputs: Record<string, string> = {
    ...computeOutputs(outcome.config, outcome.plan, paths, build),
    ...platformOutputs(outcome.config, outcome.plan, { ...inputs, push: outcome.push }, log),
    // A platform step: its platform manifests, for the merge step.
    ...(build && outcome.mode === 'build' && inputs.platform && platformStepOutputs(build, inputs.platform))
  }
  for (const [name, value] of Object.entries(outputs)) core.setOutput(name, value)
  core.setOutput('plan-file', await writePlanFile(runnerTemp, outcome.plan, paths, build))
  if (inputs.summary) {
    const md = renderSummary(outcome.plan, build, {
      order: outcome.config.order,
      dryRun: inputs.dryRun,
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
    await writeSummary(md)
  }
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

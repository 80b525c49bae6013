// The settings of one run, one type per mode, made once by makeSettings() from the raw text of the
// action's inputs (main.ts) or the CLI's flags (cli.ts), validated there and passed down unchanged.
import type { RunnerEnv } from './event.js'
import type { AttestSetting, Mode, PushSetting } from './inputs-parse.js'
import {
  parseAttest,
  parseBoolean,
  parseBuilder,
  parseForce,
  parseKeyValueLines,
  parseList,
  parseMode,
  parsePlatform,
  parsePlatforms,
  parsePositiveInt,
  parsePush,
  parseRevision
} from './inputs-parse.js'
import type { PlatformDigest } from './merge.js'
import { parseDigests, parseRunners } from './merge.js'
import type { TrustPolicy } from './trust.js'

/** What every mode reads, from inputs (action) or flags (CLI): the workspace, its config, the event. */
export interface CommonSettings {
  /** Repository root; the config, Dockerfiles and contexts are relative to it. */
  workspace: string
  /** The layer config, relative to the workspace. */
  configPath: string
  eventName: string
  payload: unknown
  env: RunnerEnv
  now: Date
}

/** Modes plan, build and merge: what deciding, building and merging need (makePlan takes this). */
export interface PlanSettings extends CommonSettings {
  mode: 'plan' | 'build' | 'merge'
  /** The layers this step may build; undefined: all. */
  layers?: string[]
  /** A plan (JSON) to follow instead of deciding again. */
  plan?: string
  force: string[] | 'all'
  push: PushSetting
  /** Override the commits compared (a sha or, in the CLI, any git revision already resolved to a sha). */
  base?: string
  head?: string
  platforms?: string[]
  /** Build this one platform and push it by digest, no tags (a platform job of issue 14). */
  platform?: string
  /** mode merge: the platform steps' digests. */
  digests?: PlatformDigest[]
  buildArgs: Record<string, string>
  builder?: string
  dryRun: boolean
  /** Scratch directory (metadata files, local cache). */
  runnerTemp: string
  /** Environment for the builds (the runner's ACTIONS_* for gha cache, GITHUB_SERVER_URL, env secrets). */
  buildEnv: Record<string, string | undefined>
  /** SPEC 4b: sign the pushed images (default auto). */
  attest?: AttestSetting
  /** SPEC 4b: the server and Strata's reusable workflow at this step's ref, for the trust policy. */
  trust?: Pick<TrustPolicy, 'serverUrl' | 'strataWorkflows'>
}

/** What a step reports besides deciding: the job summary (the action's), the `matrix` output's runners. */
export interface StepReport {
  /** `summary`: write the job summary. */
  summary: boolean
  /** `runners`: platform → runner label, for the `matrix` output. */
  runners: Record<string, string>
}

/** `mode: plan`: decide, build nothing. */
export interface PlanModeSettings extends PlanSettings, StepReport {
  mode: 'plan'
}

/** `mode: build`: decide (or follow a plan), then build, push and promote. */
export interface BuildSettings extends PlanSettings, StepReport {
  mode: 'build'
}

/** `mode: merge`: follow the plan, put one index per layer of the platform steps' digests. */
export interface MergeSettings extends PlanSettings, StepReport {
  mode: 'merge'
  plan: string
  digests: PlatformDigest[]
}

/** Digests deleted per run unless the `max-deletions` input (or `--max-deletions`) says otherwise. */
export const DEFAULT_MAX_DELETIONS = 20

/** Mode cleanup: the config's retention rules. */
export interface CleanupSettings extends CommonSettings {
  mode: 'cleanup'
  /** Decide and print; delete nothing. */
  dryRun: boolean
  maxDeletions: number
  token?: string
  apiUrl?: string
  /** `owner/repo` (GITHUB_REPOSITORY), whose pull requests cleanup asks about. */
  repository?: string
}

/** `mode: cleanup` as makeSettings() makes it: with the job summary switch. */
export interface CleanupModeSettings extends CleanupSettings, Pick<StepReport, 'summary'> {}

/** What runPipeline() runs: settings of any mode (tests may give the shared part only). */
export type RunSettings = PlanSettings | CleanupSettings

/** What makeSettings() returns: one type per mode. */
export type Settings = PlanModeSettings | BuildSettings | MergeSettings | CleanupModeSettings

/** The action's inputs by their action.yml names. */
export type InputName =
  | 'config'
  | 'mode'
  | 'layers'
  | 'plan'
  | 'force'
  | 'push'
  | 'token'
  | 'base'
  | 'head'
  | 'platforms'
  | 'platform'
  | 'digests'
  | 'runners'
  | 'build-args'
  | 'builder'
  | 'dry-run'
  | 'summary'
  | 'max-deletions'
  | 'attest'

/** Every input, in the order they are read (and so the order their errors are met). */
export const INPUT_NAMES: readonly InputName[] = [
  'config',
  'mode',
  'layers',
  'plan',
  'force',
  'push',
  'token',
  'base',
  'head',
  'platforms',
  'platform',
  'digests',
  'runners',
  'build-args',
  'builder',
  'dry-run',
  'summary',
  'max-deletions',
  'attest'
]

/** The raw text of each input (absent or empty: its default), as `core.getInput` gives it. */
export type RawSettings = Partial<Record<InputName, string>>

/** How each input is named in errors: the action's input name, or the CLI's flag (`--max-deletions`). */
export type SettingNames = Partial<Record<InputName, string>>

/** What is not an input: where the run is, its event and the runner's variables, the time. */
export interface SettingsEnv {
  workspace: string
  eventName: string
  payload: unknown
  /** The runner's variables that describe the event (the CLI makes them for its local event). */
  runner: RunnerEnv
  /** Scratch directory (metadata files, local cache). */
  runnerTemp: string
  /** Environment for the builds (ACTIONS_* for the gha cache, GITHUB_SERVER_URL, env secrets). */
  buildEnv: Record<string, string | undefined>
  now: Date
  /** GitHub's API (cleanup's pull request states and the Packages API). */
  apiUrl?: string
  /** SPEC 4b: whom the trust policy trusts besides the repository (trust-services.ts). */
  trust?: PlanSettings['trust']
}

/** Every input parsed and checked, by field; what makeSettings() shapes into the mode's settings. */
export interface InputValues {
  config: string
  mode: Mode
  layers?: string[]
  plan?: string
  force: string[] | 'all'
  push: PushSetting
  token: string
  base?: string
  head?: string
  platforms?: string[]
  platform?: string
  digests: PlatformDigest[]
  runners: Record<string, string>
  buildArgs: Record<string, string>
  builder?: string
  dryRun: boolean
  summary: boolean
  maxDeletions: number
  attest: AttestSetting
}

export const DEFAULT_CONFIG = '.github/strata.yml'

/**
 * Every input parsed, in INPUT_NAMES order, each error naming the input (or flag), the value and the
 * fix. Every input is checked whatever the mode: a bad value is never ignored because a mode skips it.
 */
export function parseInputs(raw: RawSettings, names: SettingNames = {}): InputValues {
  const text = (k: InputName): string => raw[k] ?? ''
  const name = (k: InputName): string => names[k] ?? k
  const layers = parseList(text('layers'))
  return {
    config: text('config').trim() || DEFAULT_CONFIG,
    mode: parseMode(text('mode')),
    layers: layers.length ? layers : undefined,
    plan: text('plan').trim() || undefined,
    force: parseForce(text('force'), name('force')),
    push: parsePush(text('push')),
    token: text('token'),
    base: parseRevision(name('base'), text('base')),
    head: parseRevision(name('head'), text('head')),
    platforms: parsePlatforms(text('platforms'), name('platforms')),
    platform: parsePlatform(text('platform')),
    digests: parseDigests(text('digests')),
    runners: parseRunners(text('runners')),
    buildArgs: parseKeyValueLines(name('build-args'), text('build-args')),
    builder: parseBuilder(name('builder'), text('builder')),
    dryRun: parseBoolean(name('dry-run'), text('dry-run') || 'false'),
    summary: parseBoolean(name('summary'), text('summary') || 'true'),
    maxDeletions: parsePositiveInt(name('max-deletions'), text('max-deletions'), DEFAULT_MAX_DELETIONS),
    attest: parseAttest(text('attest'))
  }
}

/** The settings of the mode the raw inputs name, made and validated once. Pure. */
export function makeSettings(raw: RawSettings, env: SettingsEnv, names: SettingNames = {}): Settings {
  const v = parseInputs(raw, names)
  const common: CommonSettings = {
    workspace: env.workspace,
    configPath: v.config,
    eventName: env.eventName,
    payload: env.payload,
    env: env.runner,
    now: env.now
  }
  const { mode } = v
  if (mode === 'cleanup') {
    return {
      ...common,
      mode,
      dryRun: v.dryRun,
      maxDeletions: v.maxDeletions,
      token: v.token || undefined,
      apiUrl: env.apiUrl,
      repository: env.runner.GITHUB_REPOSITORY,
      summary: v.summary
    }
  }
  const planned = { ...common, ...planFields(v, env) }
  if (mode !== 'merge') return { ...planned, mode }
  // The platform steps pushed by digest for one plan: a merge that decided again could name other tags.
  if (!planned.plan) throw new Error(MERGE_NEEDS_PLAN)
  return { ...planned, mode, plan: planned.plan }
}

/** Why `mode: merge` cannot run without the plan its platform steps followed. */
export const MERGE_NEEDS_PLAN =
  'mode: merge needs the `plan` input: the plan that the platform steps followed (the `plan` output of ' +
  'their `mode: plan` step)'

/** Modes plan, build and merge: what deciding, building and reporting take from the inputs and the run. */
function planFields(
  v: InputValues,
  env: SettingsEnv
): Omit<PlanSettings, keyof CommonSettings | 'mode'> & StepReport & { digests: PlatformDigest[] } {
  return {
    layers: v.layers,
    plan: v.plan,
    force: v.force,
    push: v.push,
    base: v.base,
    head: v.head,
    platforms: v.platforms,
    platform: v.platform,
    digests: v.digests,
    buildArgs: v.buildArgs,
    builder: v.builder,
    dryRun: v.dryRun,
    runnerTemp: env.runnerTemp,
    buildEnv: env.buildEnv,
    attest: v.attest,
    ...(env.trust && { trust: env.trust }),
    summary: v.summary,
    runners: v.runners
  }
}

/** The runner's variables that describe the event, picked from its environment. */
export function runnerEnv(vars: Record<string, string | undefined>): RunnerEnv {
  return {
    GITHUB_REPOSITORY: vars.GITHUB_REPOSITORY,
    GITHUB_REF: vars.GITHUB_REF,
    GITHUB_SHA: vars.GITHUB_SHA,
    GITHUB_EVENT_NAME: vars.GITHUB_EVENT_NAME || '',
    GITHUB_HEAD_REF: vars.GITHUB_HEAD_REF,
    GITHUB_BASE_REF: vars.GITHUB_BASE_REF
  }
}

/**
 * The default branch only where the event or the caller says it (never a guess such as `main`):
 * retention deletes another branch's images by it. GitHub runs schedules on the default branch.
 */
export function knownDefaultBranch(
  s: Pick<CommonSettings, 'eventName' | 'payload' | 'env'>
): string | undefined {
  const payload = s.payload as { repository?: { default_branch?: unknown } } | undefined
  const named = payload?.repository?.default_branch
  if (typeof named === 'string' && named) return named
  if (s.env.GITHUB_DEFAULT_BRANCH) return s.env.GITHUB_DEFAULT_BRANCH
  if (s.eventName === 'schedule' && s.env.GITHUB_REF?.startsWith('refs/heads/'))
    return s.env.GITHUB_REF.slice('refs/heads/'.length)
  return undefined
}

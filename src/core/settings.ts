// The settings of one run, one type per mode, made once from the action's inputs (main.ts) or the
// CLI's flags (cli.ts) and passed down unchanged.
import type { RunnerEnv } from './event.js'
import type { AttestSetting, PushSetting } from './inputs-parse.js'
import type { PlatformDigest } from './merge.js'
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

/** Modes plan, build and merge: what deciding, building and merging need. */
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

/** Everything one run needs, made once from inputs (action) or flags (CLI); `mode` says which part. */
export type RunSettings = PlanSettings | CleanupSettings

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

// The action's inputs, read once into one typed object: nothing downstream calls core.getInput.
import * as core from '@actions/core'
import type { PlatformDigest } from './core/merge.js'
import { parseDigests, parseRunners } from './core/merge.js'
import type { AttestSetting, Mode, PushSetting } from './core/inputs-parse.js'
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
} from './core/inputs-parse.js'

export interface Inputs {
  /** `config`: path of the layer config, relative to the workspace. */
  readonly config: string
  /** `mode`: plan (decide only), build (decide then build), merge (platform digests → index), cleanup (retention). */
  readonly mode: Mode
  /** `layers`: the layers this step may build; undefined: all. */
  readonly layers?: string[]
  /** `plan`: the JSON plan of an earlier `mode: plan` step, to follow instead of deciding again. */
  readonly plan?: string
  /** `force`: layer names, or all, built regardless of changes. */
  readonly force: string[] | 'all'
  /** `push`: auto (not for pull requests from forks), true or false. */
  readonly push: PushSetting
  /** `token`: for the GitHub API. */
  readonly token: string
  /** `base` / `head`: override the commits the diff compares. */
  readonly base?: string
  readonly head?: string
  /** `platforms`: override every layer's platforms. */
  readonly platforms?: string[]
  /** `platform`: build this one platform of the plan's layers and push it by digest (issue 14). */
  readonly platform?: string
  /** `digests`: the platform steps' digests, for `mode: merge`. */
  readonly digests: PlatformDigest[]
  /** `runners`: platform → runner label, for the `matrix` output. */
  readonly runners: Record<string, string>
  /** `build-args`: KEY=VALUE added to every layer. */
  readonly buildArgs: Record<string, string>
  /** `builder`: buildx builder name; undefined: the current one. */
  readonly builder?: string
  /** `dry-run`: print the buildx commands without running them. */
  readonly dryRun: boolean
  /** `summary`: write the job summary. */
  readonly summary: boolean
  /** `max-deletions`: cleanup deletes at most this many tags. */
  readonly maxDeletions: number
  /** `attest`: sign build provenance for pushed images (SPEC 4b). */
  readonly attest: AttestSetting
}

const text = (name: string): string => core.getInput(name)
const optional = (name: string): string | undefined => text(name).trim() || undefined

export function getInputs(): Inputs {
  const layers = parseList(text('layers'))
  const token = text('token')
  if (token) core.setSecret(token)
  return Object.freeze({
    config: optional('config') ?? '.github/strata.yml',
    mode: parseMode(text('mode')),
    layers: layers.length ? layers : undefined,
    plan: optional('plan'),
    force: parseForce(text('force')),
    push: parsePush(text('push')),
    token,
    base: parseRevision('base', text('base')),
    head: parseRevision('head', text('head')),
    platforms: parsePlatforms(text('platforms')),
    platform: parsePlatform(text('platform')),
    digests: parseDigests(text('digests')),
    runners: parseRunners(text('runners')),
    buildArgs: parseKeyValueLines('build-args', text('build-args')),
    builder: parseBuilder('builder', text('builder')),
    dryRun: parseBoolean('dry-run', text('dry-run') || 'false'),
    summary: parseBoolean('summary', text('summary') || 'true'),
    maxDeletions: parsePositiveInt('max-deletions', text('max-deletions'), 20),
    attest: parseAttest(text('attest'))
  })
}

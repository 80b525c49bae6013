// What one build step carries: its options (from the settings), its adapters and its complete plan.
import type { ExternalPin } from '../core/build-steps.js'
import type { Buildx } from '../adapters/buildx.js'
import type { LocalCache } from '../adapters/cache.js'
import type { Git } from '../adapters/git.js'
import type { ImageStore } from '../adapters/registry-images.js'
import type { Assembly } from '../core/assemble.js'
import type { EventContext, LayerConfig, Logger, Plan, Registry, StrataConfig } from '../core/types.js'

export interface BuildOptions {
  push: boolean
  dryRun: boolean
  builder?: string
  platforms?: string[]
  buildArgs: Record<string, string>
  runnerTemp: string
  /** The runner's environment as far as the build needs it: ACTIONS_* (gha cache), GITHUB_SERVER_URL, GITHUB_ACTIONS. */
  env: Record<string, string | undefined>
  /** Values of the environment variables that secrets name, to mask them (buildx reads them itself). */
  secretValues?: Record<string, string | undefined>
  /** Push one platform by digest, without tags and without moving tags (issue 14). */
  pushByDigest?: boolean
  /** Per layer, SPEC 4a's labels for a layer whose input digest the plan knows. */
  inputLabels?: Record<string, Record<string, string>>
  /** Per layer, SPEC 7: its external images pinned to the plan's digests (named contexts). */
  externals?: Record<string, ExternalPin[]>
  /** Repository root: Dockerfile and context paths are relative to it (default: the current directory). */
  workspace?: string
  /** SPEC 7a: the assembly of each layer the plan says is `assembled` (from its Dockerfile). */
  assemblies?: Record<string, Assembly>
}

export interface BuildDeps {
  buildx: Buildx
  registry: Registry
  log: Logger
  /** The `local` cache; default: @actions/cache. */
  cache?: LocalCache
  /** Hides a secret value from the log; default: the logger's mask (on a runner), nothing in a terminal. */
  mask?: (secret: string) => void
  /** Writes images to the registry; without it no layer is assembled (SPEC 7a), BuildKit builds them. */
  images?: ImageStore
  /** The head commit's time dates an assembled layer when SOURCE_DATE_EPOCH is unset (SPEC 7a). */
  git?: Pick<Git, 'commitTime'>
}

export interface Run {
  config: StrataConfig
  /** Complete (completePlan()): tags, parents and cache scope are read from it. */
  plan: Plan
  ctx: EventContext
  opts: BuildOptions
  deps: BuildDeps
  layers: Map<string, LayerConfig>
  /** Parents this session does not build, resolved once each. */
  refs: Map<string, Promise<string>>
}

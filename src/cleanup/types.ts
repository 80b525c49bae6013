// What mode cleanup takes and gives: its options, its clients (per image), and its result.
import type { GhcrPackages } from '../adapters/ghcr-packages.js'
import type { GitHubClient } from '../adapters/github.js'
import type { OciRegistry } from '../adapters/oci-registry.js'
import type { RetentionRow } from '../core/retention.js'
import type { CleanupSettings } from '../core/settings.js'

/**
 * Mode cleanup's settings (core/settings.ts) with what runPipeline() adds: the default branch where it is
 * known. `token`, `apiUrl` and `dockerConfig` are what wiring.ts makes the clients with.
 */
export interface CleanupOptions extends Pick<
  CleanupSettings,
  'dryRun' | 'maxDeletions' | 'now' | 'repository' | 'token' | 'apiUrl'
> {
  /** The repository's default branch, when known: tells another branch's `{branch}-{sha7}` from a version. */
  defaultBranch?: string
  /** Directory of the Docker config.json that docker/login-action leaves; default `$DOCKER_CONFIG` or ~/.docker. */
  dockerConfig?: string
}

/** The pull request look-up of adapters/github.ts. */
export type PullStates = Pick<GitHubClient, 'pullState'>

/** The clients, per image, made by wiring.ts cleanupClients() (tests make their own); none is made here. */
export interface CleanupDeps {
  oci?: (image: string) => Pick<OciRegistry, 'listImages' | 'deleteManifest'>
  ghcr?: (image: string) => Pick<GhcrPackages, 'listVersions' | 'deleteVersion'>
  /** Manifest reads of a GHCR image through the registry API, to learn which digests an index holds. */
  ghcrManifests?: (image: string) => Pick<OciRegistry, 'manifest'>
  pulls?: PullStates
}

export type RowStatus = 'kept' | 'deleted' | 'would delete' | 'failed' | 'not reached'

export interface CleanupRow extends RetentionRow {
  image: string
  status: RowStatus
}

export interface CleanupImage {
  image: string
  backend: 'registry' | 'packages'
  rows: CleanupRow[]
  /** Digests deleted (or, in a dry run, that would be). */
  deleted: string[]
  /** Digests due for deletion that the cap held back. */
  capped: number
  /** The registry listed nothing: the repository does not exist (or holds no image). */
  empty?: boolean
}

export interface CleanupResult {
  dryRun: boolean
  maxDeletions: number
  images: CleanupImage[]
  warnings: string[]
  /** Deletions that failed; the run stopped at the first one. The step should fail when not empty. */
  errors: string[]
}

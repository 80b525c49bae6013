// Creates every adapter one run needs, once: the action (main.ts) and the CLI (cli.ts) call wire()
// and hand the result to runPipeline(); the mode folders only use what they are given.
import { createBuildx } from './adapters/buildx.js'
import { createLocalCache } from './adapters/cache.js'
import { createContentIds } from './adapters/content-ids.js'
import { createGhcrPackages, ghcrPackage } from './adapters/ghcr-packages.js'
import { createGit, type Git } from './adapters/git.js'
import { createGitHub } from './adapters/github.js'
import { createOciRegistry } from './adapters/oci-registry.js'
import { createRegistry } from './adapters/registry.js'
import { createWorkspaceFiles } from './adapters/workspace-files.js'
import type { CleanupDeps } from './cleanup/cleanup.js'
import type { RunSettings } from './core/settings.js'
import type { Logger } from './core/types.js'
import type { PipelineDeps } from './run.js'
import type { TrustServices } from './trust-services.js'

/** What the caller already has: the GitHub API's token and URL (none: no API client), its git. */
export interface WireOptions {
  token?: string
  apiUrl?: string
  /** The CLI finds its clone with git before there are settings: that git, reused. */
  git?: Git
  /** SPEC 4b: the attestation finder and signer, made from the environment (trust-services.ts). */
  services?: Pick<TrustServices, 'attestations' | 'attester'>
}

/** The adapters of one run of `s.mode` in `s.workspace`, each created once. */
export function wire(s: RunSettings, log: Logger, gh: WireOptions): PipelineDeps {
  const git = gh.git ?? createGit(s.workspace)
  const github = gh.token ? createGitHub({ token: gh.token, apiUrl: gh.apiUrl, log }) : undefined
  const registry = createRegistry()
  return {
    log,
    registry,
    images: registry.images,
    git,
    github,
    files: createWorkspaceFiles(s.workspace, git),
    contentIds: createContentIds(s.workspace, git),
    attestations: gh.services?.attestations,
    attester: gh.services?.attester,
    ...(s.mode === 'build' && { buildx: createBuildx(), cache: createLocalCache(log) }),
    ...(s.mode === 'cleanup' && { cleanup: cleanupClients(gh, github) })
  }
}

/** Cleanup's clients, one per image it lists: the registry API, or GHCR's Packages API with a token. */
function cleanupClients(gh: WireOptions, github: CleanupDeps['pulls']): CleanupDeps {
  const { token, apiUrl } = gh
  return {
    oci: image => createOciRegistry({ image }),
    ...(token && {
      ghcr: image => createGhcrPackages({ image, token, apiUrl }),
      ghcrManifests: image =>
        createOciRegistry({ image, credentials: { username: ghcrPackage(image).owner, password: token } })
    }),
    ...(github && { pulls: github })
  }
}

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
import type { CleanupDeps, CleanupOptions } from './cleanup/cleanup.js'
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
    // Every planning mode may ask the builder its own platform (BUILDPLATFORM, SPEC 3a); docker is
    // spawned only when a Dockerfile reads it.
    ...(s.mode !== 'cleanup' && { buildx: createBuildx() }),
    ...(s.mode === 'build' && { cache: createLocalCache(log) }),
    ...(s.mode === 'cleanup' && { cleanup: cleanupClients(gh, github) })
  }
}

/** What cleanup's clients are made with: the token (Packages API, pull requests), API, Docker config. */
export type CleanupClientOptions = Pick<CleanupOptions, 'token' | 'apiUrl' | 'dockerConfig'>

/**
 * Cleanup's clients, one per image it lists: the registry API, or with a token GHCR's Packages API
 * (and its registry reads) and the pull request states (`github`: the run's client, else one made here).
 */
export function cleanupClients(
  o: CleanupClientOptions,
  github: CleanupDeps['pulls'] = o.token ? createGitHub({ token: o.token, apiUrl: o.apiUrl }) : undefined
): CleanupDeps {
  const { token, apiUrl, dockerConfig } = o
  return {
    oci: image => createOciRegistry({ image, dockerConfig }),
    ...(token && {
      ghcr: image => createGhcrPackages({ image, token, apiUrl }),
      ghcrManifests: image =>
        createOciRegistry({
          image,
          dockerConfig,
          credentials: { username: ghcrPackage(image).owner, password: token }
        })
    }),
    ...(github && { pulls: github })
  }
}

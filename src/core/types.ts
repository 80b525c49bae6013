// The domain types shared by the pure core and the adapters. No I/O here.
import type { BakeDefinition } from './bake.js'
import type { CacheExport } from './progress.js'

// ---------- config (.github/strata.yml) ----------

export type CacheKind = 'gha' | 'registry' | 'local' | 'inline'

/** A parent edge: layer `layer` is passed to this layer as `--build-arg <buildArg>=<ref>`. */
export interface ParentRef {
  layer: string
  buildArg: string
}

/** One layer, with every default applied (defaults block, then built-in defaults). */
export interface LayerConfig {
  name: string
  dockerfile: string
  context: string
  paths: string[]
  from: ParentRef[]
  always: boolean
  /** Repository, lower-cased, without tag: `ghcr.io/acme/sindri`. */
  image: string
  /** Templates replacing the default tags (SPEC 5), or undefined for the defaults. */
  tags?: string[]
  /** Template of the moving tag that children and later runs reuse. undefined: `{layer}-stable`, or `latest` for a leaf. */
  stableTag?: string
  buildArgs: Record<string, string>
  target?: string
  platforms: string[]
  cache: CacheKind[]
  /** `cache` was written in the config (the layer's or the defaults'), not the built-in default (SPEC 6). */
  cacheListed?: boolean
  secrets: string[]
  labels: Record<string, string>
  provenance?: string | boolean
  sbom?: string | boolean
  /** SPEC 4a/4b: which earlier images with the same inputs may be reused, and who must vouch (`verified` when unset). */
  reuse?: 'verified' | 'any' | 'default-branch' | 'off'
  /** SPEC 7a: assemble an eligible layer in the registry (`auto`, the default) or always build it (`off`). */
  assemble?: 'auto' | 'off'
}

/** Retention rules (issue 6); validated by the config loader, applied by mode: cleanup. */
export interface RetentionRule {
  /** Keep this many most recent; undefined: no count limit. */
  keep?: number
  /** Delete when older than this many days; undefined: no age limit. */
  maxAgeDays?: number
  /** For PR tags: delete once the PR is merged or closed. */
  deleteWhenClosed?: boolean
  /** Keep indefinitely. */
  keepForever?: boolean
}

/** `inputs`: the input tags of SPEC 4a (`{layer}-inputs-{inputs}`). */
export type TagKind = 'stable' | 'versioned' | 'inputs' | 'pr' | 'branch' | 'cache' | 'untagged'

export interface RetentionConfig {
  /** Always keep at least this many versions of each layer. */
  minKeep: number
  /** Per tag kind defaults, then per layer overrides. */
  rules: Partial<Record<TagKind, RetentionRule>>
  layers: Record<string, Partial<Record<TagKind, RetentionRule>>>
}

export interface StrataConfig {
  /** Path of the file it came from, as the user named it (for messages). */
  file: string
  version: 1
  image: string
  /** In config order. */
  layers: LayerConfig[]
  /** Layer names in topological order (parents first, ties in config order). */
  order: string[]
  retention?: RetentionConfig
  /** SPEC 4b: workflow identities (`owner/repo/.github/workflows/file.yml@ref`) whose attestations `reuse: verified` accepts. */
  trustedSigners?: string[]
}

// ---------- events and changes ----------

export interface PullRequestInfo {
  number: number
  headSha: string
  headRef: string
  baseSha: string
  baseRef: string
  /** Head repository differs from the base repository. */
  fork: boolean
  /** `pull_request.changed_files` from the payload, when present. */
  changedFiles?: number
}

/** What the run is about, read from the event name and payload (and GITHUB_* values). */
export interface EventContext {
  eventName: string
  owner: string
  repo: string
  /** Full ref (`refs/heads/main`, `refs/tags/v1.2.3`, `refs/pull/42/merge`). */
  ref: string
  /** The commit the images are of: PR head on pull requests, else the pushed/dispatched commit. */
  sha: string
  defaultBranch: string
  /** Branch name (PR head branch on pull requests), when the ref is a branch. */
  branch?: string
  /** Tag name, when the ref is a tag. */
  tag?: string
  pr?: PullRequestInfo
  /** A push to / dispatch or schedule on the default branch. */
  isDefaultBranch: boolean
  /** Run start time, for {date} and {timestamp}. */
  time: Date
}

/** Which commits to compare, decided from the event (SPEC 3). */
export type DiffRange =
  | { kind: 'pull'; number: number; base: string; head: string; expectedCount?: number }
  | { kind: 'compare'; base: string; head: string }
  | { kind: 'forced'; base: string; head: string }
  /** New branch: compare the default branch with head. */
  | { kind: 'new-branch'; defaultBranch: string; head: string }
  /** The repository's first push: every file is changed. */
  | { kind: 'first-push'; head: string }
  | { kind: 'deleted' }
  | { kind: 'none'; why: string }

export type FileStatus = 'added' | 'modified' | 'removed' | 'renamed' | 'copied' | 'changed' | 'unchanged'

export interface ChangedFile {
  path: string
  status: FileStatus
  /** The old path of a renamed (or copied) file. */
  previousPath?: string
}

export interface ChangeSet {
  /** api: GitHub API; git: `git diff` in the workspace; none: the event has no diff; unknown: could not tell. */
  source: 'api' | 'git' | 'none' | 'unknown'
  files: ChangedFile[]
  /** Why the change is unknown (source 'unknown'), or why git was used instead of the API. */
  note?: string
  base?: string
  head?: string
}

// ---------- plan ----------

export interface PatternMatch {
  path: string
  pattern: string
}

export interface LayerTags {
  /** Immutable tags pushed by the build, e.g. `tooling-3f2a9c1`. Tag names only, no repository. */
  versioned: string[]
  /** Moving tags added after every layer succeeded (stable, latest, pr-N, branch). */
  moving: string[]
  /** The stable tag that this layer reuses when it does not build. */
  stable: string
}

/**
 * A parent edge as the plan resolved it: the parent layer is passed as `--build-arg <buildArg>=<image>`.
 * `ref`: the parent's image pinned by digest when it does not build in this run (reused by its stable
 * tag or by its inputs); absent while it builds (in this step's session, or in another job's).
 */
export interface ParentDecision {
  readonly layer: string
  readonly buildArg: string
  readonly ref?: string
}

/** SPEC 6: the sanitized names the caches are kept under: the run's branch (or git tag), and the default branch. */
export interface CacheScope {
  readonly branch: string
  readonly defaultBranch: string
}

/** What the build needs of a layer's Dockerfile, as the plan step read it (SPEC 3a). */
export interface DockerfileFacts {
  /** `FROM` lines (more than one: intermediate stages worth a mode=max cache export, SPEC 6). */
  readonly stages: number
  /** The text, to tell which target a step of the session's log belongs to. */
  readonly text: string
}

/**
 * One layer as the plan decided it: everything later steps need, computed once by the plan steps
 * (decide(), then each enrichment returning a new plan). Readonly: the build, merge and outputs read
 * it. The fields a tampered-plan test writes (`ref`, `stable`, `tags`, `reasons`, `inputs`, `sameInputs`,
 * `versioned`, `moving`) stay writable in the type for those tests; no step of the product writes them.
 */
export interface LayerDecision {
  readonly build: boolean
  /** Every reason that holds, in SPEC 4 order and wording. */
  readonly reasons: string[]
  /** Changed files that match the layer's paths, each with the pattern that matched. */
  readonly matches: readonly PatternMatch[]
  /** Full refs `image:tag`, versioned first then moving. */
  readonly tags: string[]
  /** Digest-pinned reference for this commit, when known (`image:tag@sha256:…`). */
  readonly ref?: string
  /** This step may build it (the `layers` input). */
  readonly selected: boolean
  /** Full ref `image:tag` of the stable tag this layer reuses when it does not build. */
  readonly stable?: string
  /** Full refs pushed by the build (immutable), the input tag among them once known (SPEC 7). */
  readonly versioned?: string[]
  /** Full refs moved onto the built image after every layer of the step succeeded (SPEC 7). */
  readonly moving?: string[]
  /** SPEC 4a: `sha256:<hex>` input digest, when it can be computed at plan time. */
  readonly inputs?: string
  /** SPEC 4a: the full ref `image:{layer}-inputs-{inputs}` of its input tag, with `inputs`. */
  readonly inputTag?: string
  /** Its parents, in config order, each with its image when the plan pinned it. */
  readonly parents?: readonly ParentDecision[]
  /** SPEC 6: the branch names its caches are kept under. */
  readonly cacheScope?: CacheScope
  /** What the build needs of its Dockerfile (read by this step's plan; never in the plan JSON). */
  readonly dockerfile?: DockerfileFacts
  /** SPEC 4a: `<image>:<input tag>@<digest>` of an image with the same inputs, reused instead of building. */
  readonly sameInputs?: string
  /** SPEC 4b: who built the reused image, from its verified attestation (`<run> (<ref>, <commit>)`). */
  readonly attested?: string
  /** SPEC 8: who built the `sameInputs` image (its `dev.strata.ref` label), for the summary. */
  readonly sameInputsBy?: string
  /** SPEC 3a/4a: why the layer has no input digest (`inputs unknowable: ADD https://… at Dockerfile:4`). */
  readonly noDigest?: string
  /** SPEC 4a/4b: why an image with the same inputs was found but not reused (`tooling-inputs-… was built on another base image (linux/amd64)`). */
  readonly notReused?: string
  /** SPEC 7a, on a layer that builds: `assembled`, or why BuildKit builds it (`RUN at Dockerfile:7`). */
  readonly assembly?: string
  /** SPEC 8: a registry look-up this decision needs failed; nothing may build or follow this plan. */
  readonly unknown?: boolean
}

/** A decision being made inside one plan step, before it is returned (readonly) in a new plan. */
export type DecisionDraft = { -readonly [K in keyof LayerDecision]: LayerDecision[K] }

export interface Plan {
  layers: Record<string, LayerDecision>
  changes: { source: ChangeSet['source']; count: number }
  base?: string
  head?: string
  event: string
  /** A push that deleted the branch: nothing builds (SPEC 3). */
  deleted?: boolean
  /** SPEC 3a: external images (`FROM`/`COPY --from=` that are not layers) → digest, or '' when not resolved. */
  externals?: Record<string, string>
  /** SPEC 8: one message per registry that could not be read (the layers it left `unknown`). */
  unreadable?: string[]
}

// ---------- adapter seams ----------

export interface ImageInfo {
  /** Manifest (or index) digest, `sha256:…`. */
  digest: string
  /** The manifest's media type (an image manifest or an index), when the registry said it. */
  mediaType?: string
}

/** One platform's manifest, for merging per-platform builds into an index (issue 14). */
export interface PlatformManifest {
  /** `sha256:…` of the platform's image manifest, in the same repository as the index. */
  digest: string
  /** `linux/amd64`, `linux/arm64/v8`. */
  platform: string
}

/** The registry, as Strata sees it. Implementations memoize and run look-ups side by side. */
export interface Registry {
  /**
   * The image behind `ref` (`repo:tag`), or null when the tag does not exist. Throws on other errors.
   * `read`: its labels will likely be read too, so the manifest's bytes are fetched with the look-up
   * (a GET, where the registry counts it as a HEAD) and the labels cost no second manifest request.
   */
  inspect(ref: string, opts?: { read?: boolean }): Promise<ImageInfo | null>
  /**
   * Point every `targets` tag (`repo:tag`) at `source` (`repo@sha256:…` or `repo:tag@sha256:…`): the
   * source manifest's bytes are put under each tag, so the target's digest is the source's digest.
   */
  retag(source: string, targets: string[]): Promise<void>
  /** The image config's labels of `ref` (for an index: of its first linux/amd64, else first, image); null when missing. */
  labels(ref: string): Promise<Record<string, string> | null>
  /** Puts an image index of `manifests` under every tag of `tags` (`repo:tag`, one repository); returns its digest. */
  putIndex(manifests: PlatformManifest[], tags: string[]): Promise<string>
  /**
   * Per platform (`linux/amd64`), the image's layers (`rootfs.diff_ids`), read from manifests and
   * configs without a pull; null when the tag does not exist. Absent: the registry cannot say (SPEC 4a).
   */
  diffIds?(ref: string): Promise<Record<string, string[]> | null>
}

/**
 * Where the pipeline writes what the user reads; `@actions/core` in the action, the terminal in the CLI.
 * Messages may carry untrusted text (file and branch names, registry answers, buildx output): every
 * implementation prints them so that no line can start a workflow command (core/log-safe.ts).
 */
export interface Logger {
  /** One or more lines; a line that could be read as a workflow command is printed quoted. */
  info(message: string): void
  notice(message: string): void
  warning(message: string): void
  /** Runs `fn` with its log folded under `name`. */
  group<T>(name: string, fn: () => Promise<T>): Promise<T>
  /**
   * Hides `secret` in the log from now on (core.setSecret on a runner). On a runner, use this, not
   * core.setSecret, while a group is open: a group's output runs with workflow commands stopped.
   */
  mask?(secret: string): void
}

// ---------- results (one per layer, folded into the step's result) ----------

export interface LayerResult {
  name: string
  status: 'built' | 'assembled' | 'reused' | 'failed' | 'skipped' | 'not-selected'
  ref?: string
  digest?: string
  /** With pushByDigest: the one platform whose manifest `digest` is. */
  platform?: string
  durationMs?: number
  cachedSteps?: number
  totalSteps?: number
  /** From the build's progress: blobs fetched (parents, cache) and, where shown, pushed. */
  bytesPulled?: number
  bytesPushed?: number
  /** Each `--cache-to` export the progress showed: kind, seconds, blobs and bytes. */
  cacheExports?: CacheExport[]
  error?: string
  reasons: string[]
}

export interface BuildResult {
  layers: Record<string, LayerResult>
  /** The first layer that failed (or whose moving tags could not be moved). */
  failed?: string
  /** Every docker command, argv with `docker` first: what ran, or in a dry run what would run. */
  commands: string[][]
  /** The bake definition the session ran (or would run), and where it was written. */
  bake?: { file: string; definition: BakeDefinition }
  /** After a failed tag move: tags put back on their earlier images, and tags that could not be. */
  promotion?: { restored: string[]; leftMoved: string[] }
  /** Per layer, every manifest digest this step pushed (an assembled layer's per platform, then its index): what attestations sign. */
  pushed?: Record<string, string[]>
}

/** The runner values that readEvent() needs; the caller copies them from process.env. */
export interface RunnerEnv {
  GITHUB_REPOSITORY?: string
  GITHUB_REF?: string
  GITHUB_SHA?: string
  GITHUB_EVENT_NAME?: string
  GITHUB_HEAD_REF?: string
  GITHUB_BASE_REF?: string
  /**
   * Not set by the runner: the caller may fill it (the CLI from `origin/HEAD`) for payloads that do
   * not carry `repository.default_branch` (schedule). Without it, a schedule run takes its own branch
   * (GitHub runs schedules on the default branch) and other events take `main`.
   */
  GITHUB_DEFAULT_BRANCH?: string
}

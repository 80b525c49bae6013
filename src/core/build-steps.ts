// What a step does for each layer it builds (SPEC 7): the bake target, where the image goes and the
// tags to move afterwards. Pure: the plan, the config and the builder's features come in as data.
import { splitImageRef } from './image-ref.js'
import { isAbsolute, join } from 'node:path'
import type { BakeTarget } from './bake.js'
import { ancestorContextName, attestations, parentContextName } from './bake.js'
import { outputOf, platformsOf, secretSpec } from './buildx-args.js'
import { strataLabels } from './same-inputs.js'
import type { LayerConfig } from './types.js'

/** How a parent reaches its child: built in this session, or an image (digest-pinned, or a local tag). */
export type ParentSource =
  { layer: string; inSession: true } | { layer: string; inSession: false; ref: string }

export interface StepSettings {
  push: boolean
  /** Push one platform by digest, without tags (issue 14): the merge step tags the index. */
  pushByDigest?: boolean
  /** The `platforms` input; overrides the layer's. */
  platforms?: string[]
  /** The `build-args` input, added to every layer (wins over the layer's own). */
  buildArgs: Record<string, string>
  /** OCI labels: repository URL, commit, build time (ISO 8601). */
  oci: { source: string; revision: string; created: string }
  /** The builder's driver: whether several platforms can be loaded. */
  driver?: string
  /** Absolute repository root: bake resolves a target's Dockerfile against its context, so both go absolute. */
  workspace: string
  /** Store pushed images in the engine and push them after the session, parents first (docker driver, one platform). */
  pushAfter?: boolean
}

/** `store`: kept in the engine's image store by the session, pushed right after it (`pushAfter`). */
export type Output = 'push' | 'store' | 'digest' | 'load' | 'cache'

export interface LayerStep {
  name: string
  /** The layer's repository. */
  image: string
  target: BakeTarget
  output: Output
  platforms: string[]
  /** Full refs the build pushes (or loads); none when pushing by digest. */
  tags: string[]
  /** Full refs moved onto the built image once every layer of the step succeeded. */
  moving: string[]
  /** Parents built in the same session (their targets run first). */
  sessionParents: string[]
}

export interface StepInput {
  layer: LayerConfig
  versioned: string[]
  moving: string[]
  /** Build-arg name → parent. */
  parents: Record<string, ParentSource>
  cache: { from: string[]; to: string[] }
  /** SPEC 4a's labels (`dev.strata.inputs`, …) when the layer's input digest is known. */
  labels?: Record<string, string>
  /** SPEC 7: the external images it reads, with the digests the plan resolved. */
  externals?: ExternalPin[]
}

/** An external image and the digest the plan resolved it to; `frontend`: the `# syntax=` image. */
export interface ExternalPin {
  ref: string
  digest: string
  frontend?: boolean
}

/**
 * The named context BuildKit looks up for an image a Dockerfile names: its familiar form (Docker
 * Hub's `docker.io/library/` left out) without `:latest`, as BuildKit's dockerui normalizes it.
 */
export function contextNameOf(ref: string): string {
  const familiar = ref.replace(/^(docker\.io|index\.docker\.io|registry-1\.docker\.io)\/(library\/)?/, '')
  return familiar.replace(/:latest$/, '')
}

/**
 * SPEC 7: each external image reaches the build pinned: a named context `docker-image://<ref>@<digest>`
 * (the `# syntax=` frontend through BUILDKIT_SYNTAX, which named contexts do not reach), so no builder
 * uses a local copy or a tag that moved after the plan. Images already pinned in the Dockerfile stay.
 */
export function pinExternals(
  pins: ExternalPin[],
  contexts: Record<string, string>,
  args: Record<string, string>
): void {
  for (const pin of pins) {
    if (pin.ref.includes('@')) continue
    const pinned = `${pin.ref}@${pin.digest}`
    if (pin.frontend) args.BUILDKIT_SYNTAX ??= pinned
    else contexts[contextNameOf(pin.ref)] ??= `docker-image://${pinned}`
  }
}

/**
 * SPEC 4a's labels once more as the image manifest's annotations (the image exporter's
 * `annotation.<key>`): a registry answers them with the manifest, so a later label check reads no
 * config (SPEC 11). Each a quoted CSV field: a value may hold commas and quotes (the externals are JSON).
 */
export function annotationFields(labels: Record<string, string> | undefined): string {
  return Object.entries(strataLabels(labels ?? {}))
    .map(([k, v]) => `,"${`annotation.${k}=${v}`.replace(/"/g, '""')}"`)
    .join('')
}

/** The output spec of a bake target; `labels`: SPEC 4a's, as annotations of an image output. */
export function outputSpec(output: Output, image: string, labels?: Record<string, string>): string[] {
  const a = annotationFields(labels)
  switch (output) {
    case 'push':
      return [`type=image,push=true${a}`]
    case 'store':
      return [`type=image,push=false${a}`]
    case 'digest':
      return [`type=image,name=${image},push-by-digest=true,name-canonical=true,push=true${a}`]
    case 'load':
      return ['type=docker']
    case 'cache':
      return ['type=cacheonly']
  }
}

export function layerStep(input: StepInput, s: StepSettings): LayerStep {
  const { layer } = input
  const platforms = platformsOf(layer, s.platforms)
  if (s.pushByDigest && platforms.length !== 1) {
    throw new Error(
      `layer "${layer.name}": a push by digest builds one platform, not ${platforms.length ? platforms.join(', ') : 'none'}: ` +
        'give the platforms input one platform (the merge step puts the platforms together)'
    )
  }
  const direct: Output = s.pushByDigest ? 'digest' : outputOf(s.push, platforms, s.driver)
  const output: Output =
    direct === 'push' && s.pushAfter && s.driver === 'docker' && platforms.length === 1 ? 'store' : direct
  const { args, contexts } = argsAndContexts(input, s)
  const abs = (p: string): string => (isAbsolute(p) ? p : join(s.workspace, p))
  // The docker driver cannot push by digest ("not implemented"): the platform's image then goes under
  // its own tag, `<versioned tag>-<os>-<arch>`, and the merge still puts the index by that digest.
  const platformTag =
    output === 'digest' && s.driver === 'docker' ? [platformTagOf(input.versioned[0], platforms[0])] : []
  const tags = output === 'digest' ? platformTag : input.versioned
  // A push by digest is one platform's image manifest for the merge: no attestation index around it.
  const provenance = output === 'digest' && layer.provenance === undefined ? false : layer.provenance
  const attest = attestations(provenance, layer.sbom)
  const target: BakeTarget = {
    context: abs(layer.context),
    dockerfile: abs(layer.dockerfile),
    args,
    ...(Object.keys(contexts).length > 0 && { contexts }),
    tags,
    labels: imageLabels(s.oci, layer, input.labels),
    ...(platforms.length > 0 && { platforms }),
    ...(layer.target !== undefined && { target: layer.target }),
    'cache-from': input.cache.from,
    'cache-to': input.cache.to,
    output: outputSpec(platformTag.length ? 'push' : output, layer.image, input.labels),
    ...(layer.secrets.length > 0 && { secret: layer.secrets.map(x => secretSpec(layer.name, x)) }),
    ...(attest.length > 0 && { attest })
  }
  return {
    name: layer.name,
    image: layer.image,
    target,
    output,
    platforms,
    tags,
    // Only a pushed, tagged image has moving tags; a push by digest leaves tagging to the merge.
    moving: output === 'push' || output === 'store' ? input.moving : [],
    sessionParents: Object.values(input.parents).flatMap(p => (p.inSession ? [p.layer] : []))
  }
}

/**
 * The target's build args and named contexts: each parent (a session target, or an image pinned by
 * digest, as a named context; a local tag as itself), the layer's and step's build args, the pinned
 * external images.
 */
function argsAndContexts(
  input: StepInput,
  s: StepSettings
): { args: Record<string, string>; contexts: Record<string, string> } {
  const args: Record<string, string> = {}
  const contexts: Record<string, string> = {}
  for (const [arg, p] of Object.entries(input.parents)) {
    if (p.inSession) {
      args[arg] = parentContextName(p.layer)
      contexts[args[arg]] = `target:${p.layer}`
    } else if (splitImageRef(p.ref).digest !== undefined) {
      args[arg] = parentContextName(p.layer)
      contexts[args[arg]] = `docker-image://${p.ref}`
    } else {
      // Without push the parent is a local tag: a digest-pinned FROM would go to the registry (SPEC 7).
      args[arg] = p.ref
    }
  }
  for (const [k, v] of Object.entries({ ...input.layer.buildArgs, ...s.buildArgs }))
    if (!(k in args)) args[k] = v
  pinExternals(input.externals ?? [], contexts, args)
  return { args, contexts }
}

/** The labels of a layer's image (SPEC 7): OCI source, revision and created, the config's, then SPEC 4a's. */
export function imageLabels(
  oci: StepSettings['oci'],
  layer: LayerConfig,
  inputs?: Record<string, string>
): Record<string, string> {
  return {
    'org.opencontainers.image.source': oci.source,
    'org.opencontainers.image.revision': oci.revision,
    'org.opencontainers.image.created': oci.created,
    ...layer.labels,
    ...inputs
  }
}

/** `repo:tooling-3f2a9c1` + `linux/arm64/v8` → `repo:tooling-3f2a9c1-linux-arm64-v8` (at most 128 characters). */
export function platformTagOf(versioned: string, platform: string): string {
  const { repository, tag = '' } = splitImageRef(versioned)
  const suffix = `-${platform.replace(/[^A-Za-z0-9_.-]+/g, '-')}`
  return `${repository}:${tag.slice(0, 128 - suffix.length)}${suffix}`
}

/** Tags to move after a successful step: layer → moving tags onto its built image (`repo:tag@digest`). */
export function movesOf(
  steps: LayerStep[],
  built: Record<string, { ref?: string; digest?: string }>
): { layer: string; source: string; tags: string[] }[] {
  return steps.flatMap(st => {
    const b = built[st.name]
    if (!st.moving.length || !b?.digest || !b.ref) return []
    return [{ layer: st.name, source: b.ref, tags: st.moving }]
  })
}

/** The ref a built layer is known by: digest-pinned when pushed, else its local tag. */
export function builtRef(step: LayerStep, digest?: string): string | undefined {
  if (step.output === 'cache') return undefined
  if (step.output === 'digest') return digest ? `${step.image}@${digest}` : undefined
  if (step.output === 'push' || step.output === 'store')
    return digest ? `${step.tags[0]}@${digest}` : undefined
  return step.tags[0]
}

/**
 * Links each step to every ancestor built in the same session, not only its parents. buildx's releases
 * (0.13 to 0.36; its master fixed it in August 2026) let a target's session close once its direct
 * children have registered; a grandchild then still reads the grandparent's build context through its
 * parent's definition, and the docker driver fails it ("transport: Error while dialing: only one
 * connection allowed"), at random: about one session in three here (bench/session-links.sh). A
 * `target:` context the Dockerfile never names makes the ancestor wait for that grandchild too; the
 * image is unchanged.
 */
export function linkSessionAncestors(steps: readonly LayerStep[]): LayerStep[] {
  const parentsOf = new Map(steps.map(s => [s.name, s.sessionParents]))
  const ancestorsOf = (name: string, seen = new Set<string>()): Set<string> => {
    for (const p of parentsOf.get(name) ?? []) {
      if (!seen.has(p)) ancestorsOf(p, seen.add(p))
    }
    return seen
  }
  return steps.map(s => {
    const far = [...ancestorsOf(s.name)].filter(a => !s.sessionParents.includes(a))
    if (far.length === 0) return s
    const contexts = { ...s.target.contexts }
    for (const a of far.sort()) contexts[ancestorContextName(a)] = `target:${a}`
    return { ...s, target: { ...s.target, contexts } }
  })
}

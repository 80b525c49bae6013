// One `docker buildx bake` a step (SPEC 7): the definition (JSON form) with one target a layer,
// the command that runs it, and which target a failed session failed in. Pure.
import { basename } from 'node:path'

/** A bake target, in the field names of buildx's bake file. */
export interface BakeTarget {
  context: string
  dockerfile: string
  args: Record<string, string>
  /** Named contexts: the parent's context name → `target:<parent>` or `docker-image://<ref>@<digest>`. */
  contexts?: Record<string, string>
  tags: string[]
  labels: Record<string, string>
  platforms?: string[]
  target?: string
  'cache-from': string[]
  'cache-to': string[]
  output: string[]
  secret?: string[]
  attest?: string[]
}

export interface BakeDefinition {
  group: { default: { targets: string[] } }
  target: Record<string, BakeTarget>
}

/**
 * The context name a child's `FROM ${<PARENT>_IMAGE}` resolves to. It cannot clash with an image a
 * Dockerfile names, since no registry serves `strata-layer-…` and it is only a key of `contexts`.
 */
export function parentContextName(layer: string): string {
  return `strata-layer-${layer}`
}

/**
 * The context name that links a layer to an ancestor built in the same session without being its
 * parent. The Dockerfile never names it; it only keeps the ancestor's session open (see
 * `linkSessionAncestors`).
 */
export function ancestorContextName(layer: string): string {
  return `strata-ancestor-${layer}`
}

/**
 * bake reads its JSON file as HCL, so `${…}` and `%{…}` in a value would be interpolated: escape
 * them (`$${`, `%%{`) so that labels, build args and paths reach BuildKit as written.
 */
export function escapeHcl(value: string): string {
  // A function replacer: in a replacement string `$$` would mean one `$`.
  return value.replace(/\$\{/g, () => '$${').replace(/%\{/g, () => '%%{')
}

function escapeDeep<T>(v: T): T {
  if (typeof v === 'string') return escapeHcl(v) as T
  if (Array.isArray(v)) return v.map(escapeDeep) as T
  if (v && typeof v === 'object') {
    return Object.fromEntries(Object.entries(v).map(([k, x]) => [escapeHcl(k), escapeDeep(x)])) as T
  }
  return v
}

/** The definition file's content: targets in build order, values escaped for bake. */
export function bakeDefinition(targets: Record<string, BakeTarget>): BakeDefinition {
  return { group: { default: { targets: Object.keys(targets) } }, target: escapeDeep(targets) }
}

/** Arguments after `docker`: `buildx bake … <targets>`; plain progress for the per-target split. */
export function bakeArgv(input: {
  file: string
  metadataFile: string
  targets: string[]
  builder?: string
}): string[] {
  const argv = ['buildx', 'bake']
  if (input.builder) argv.push('--builder', input.builder)
  argv.push('--progress=plain', '--file', input.file, '--metadata-file', input.metadataFile, ...input.targets)
  return argv
}

/** `attest` entries for the layer's provenance and sbom settings, as `--provenance`/`--sbom` would give. */
export function attestations(provenance?: string | boolean, sbom?: string | boolean): string[] {
  const one = (type: string, v: string | boolean | undefined): string[] => {
    if (v === undefined) return []
    if (v === false || v === 'false') return [`type=${type},disabled=true`]
    if (v === true || v === 'true') return [`type=${type}`]
    return [`type=${type},${v}`]
  }
  return [...one('provenance', provenance), ...one('sbom', sbom)]
}

export interface SessionTarget {
  name: string
  dockerfile: string
  /** Its parents built in the same session. */
  parents: string[]
}

/**
 * The target a failed session failed in. BuildKit names a vertex that two targets share after the
 * child that asked for it, so a parent's failing step can show as the child's: the error summary's
 * `<Dockerfile>:<line>` picks, among the named target and its ancestors in this session, the first
 * (in build order) whose Dockerfile that is.
 */
export function failedTarget(
  targets: SessionTarget[],
  error: { target?: string; dockerfile?: string }
): string | undefined {
  const byName = new Map(targets.map(t => [t.name, t]))
  const lineage = new Set<string>()
  const addWithAncestors = (name: string): void => {
    if (lineage.has(name) || !byName.has(name)) return
    lineage.add(name)
    byName.get(name)?.parents.forEach(addWithAncestors)
  }
  if (error.target) addWithAncestors(error.target)
  const pool = error.target ? targets.filter(t => lineage.has(t.name)) : targets
  const file = error.dockerfile ? basename(error.dockerfile) : undefined
  const byFile = file ? pool.find(t => basename(t.dockerfile) === file) : undefined
  return byFile?.name ?? error.target ?? targets.find(t => basename(t.dockerfile) === file)?.name
}

/** `name` and every target that builds on it, directly or not, in build order. */
export function descendants(targets: SessionTarget[], name: string): string[] {
  const out = new Set<string>()
  for (const t of targets) if (t.parents.some(p => p === name || out.has(p))) out.add(t.name)
  return targets.filter(t => out.has(t.name)).map(t => t.name)
}

// What a layer reads (SPEC 3a): its Dockerfile, the .dockerignore BuildKit would use, and every file
// of the context that a COPY/ADD or RUN --mount=type=bind source of a needed stage resolves to, after
// .dockerignore, as BuildKit resolves it: `.` is the whole context, a path is that file or everything
// below that folder, a glob matches path segments like Go's filepath.Match (`*` stops at `/`) and a
// folder it matches brings everything below it. Pure; compiled once, then one pass over the files.
import { posix } from 'node:path'
import type { ContextSource, ParsedDockerfile, Stage } from './dockerfile.js'
import { compileDockerignore, type DockerignoreMatcher } from './dockerignore.js'

export const DOCKERFILE_REASON = 'the Dockerfile'
export const DOCKERIGNORE_REASON = 'the .dockerignore'

/** One COPY/ADD/RUN --mount source, compiled. */
export interface SourceRule {
  /** `Dockerfile.tooling:7 COPY`. */
  reason: string
  source: ContextSource
  /** Whether a path relative to the context is read by this source. */
  test: (rel: string) => boolean
  /** Whether the source names the path itself (not a path below it): a link there is followed. */
  names: (rel: string) => boolean
}

export interface LayerInputs {
  layer: string
  /** Repository-relative paths. */
  dockerfile: string
  /** The .dockerignore in use: `<Dockerfile>.dockerignore` when it exists, else `<context>/.dockerignore`. */
  dockerignore: string
  /** Whether that .dockerignore exists. */
  hasDockerignore: boolean
  /** Repository-relative context, '' for the root. */
  context: string
  rules: SourceRule[]
  /** Whether .dockerignore leaves a context-relative path out of the context. */
  ignored: (rel: string) => boolean
  /** Whether a `!` rule of that .dockerignore may re-include the context-relative folder or a path below it. */
  reincludable: (relDir: string) => boolean
}

export interface LayerInputsSpec {
  layer: string
  dockerfile: string
  context: string
  parsed: ParsedDockerfile
  /** The stages the target needs (neededStages()). */
  stages: Stage[]
  /** Path and text of the .dockerignore in use; text undefined when there is none. */
  dockerignore: { path: string; text?: string }
  /** Matchers shared by the layers of one plan. */
  matchers?: IgnoreMatchers
}

/** Compiles a layer's sources and .dockerignore. */
export function layerInputs(spec: LayerInputsSpec): LayerInputs {
  const context = cleanDir(spec.context)
  const rules: SourceRule[] = []
  // The stages of every platform come in: a source that reads the same on each is one rule.
  const seen = new Set<string>()
  for (const stage of spec.stages) {
    for (const source of stage.sources) {
      const reason = source.origin ?? `${spec.dockerfile}:${source.instructionLine} ${source.keyword}`
      const key = [reason, source.source, source.chmod ?? '', ...source.excludes].join('\0')
      if (seen.has(key)) continue
      seen.add(key)
      rules.push({ reason, source, test: sourceTest(source), names: namesTest(source) })
    }
  }
  const text = spec.dockerignore.text
  const matcher = text === undefined ? undefined : matcherFor(text, spec.matchers)
  return {
    layer: spec.layer,
    dockerfile: cleanDir(spec.dockerfile),
    dockerignore: cleanDir(spec.dockerignore.path),
    hasDockerignore: text !== undefined,
    context,
    rules,
    ignored: matcher ? rel => matcher.ignores(rel) : () => false,
    reincludable: matcher ? dir => matcher.reincludesBelow(dir) : () => false
  }
}

/** .dockerignore text → its matcher, for layers that share one (and the folders it cached). */
export type IgnoreMatchers = Map<string, DockerignoreMatcher>

function matcherFor(text: string, shared: IgnoreMatchers | undefined): DockerignoreMatcher {
  let m = shared?.get(text)
  if (!m) {
    m = compileDockerignore(text)
    shared?.set(text, m)
  }
  return m
}

/** The .dockerignore BuildKit reads for `dockerfile` and `context` (both repository-relative): candidates in order. */
export function dockerignoreCandidates(dockerfile: string, context: string): string[] {
  return [`${cleanDir(dockerfile)}.dockerignore`, joinRel(cleanDir(context), '.dockerignore')]
}

/** What made `path` (repository-relative; it may no longer exist) an input of the layer, or undefined. */
export function inputReason(li: LayerInputs, path: string): string | undefined {
  if (path === li.dockerfile) return DOCKERFILE_REASON
  if (path === li.dockerignore) return DOCKERIGNORE_REASON
  const rel = relativeTo(li.context, path)
  if (rel === undefined || li.ignored(rel)) return undefined
  for (const r of li.rules) if (r.test(rel)) return r.reason
  return undefined
}

export interface ResolvedInputs {
  /** Input file → what made it an input, sorted by path. */
  files: Map<string, string>
  /** Rules that no file of the context matches (BuildKit would fail on them). */
  unmatched: SourceRule[]
}

/** Resolves the layer's rules against `files` (repository-relative paths that exist). */
export function resolveInputs(li: LayerInputs, files: readonly string[]): ResolvedInputs {
  const found: [string, string][] = []
  const hit = new Array<boolean>(li.rules.length).fill(false)
  let ordered = true
  for (const path of files) {
    if (path === li.dockerfile || path === li.dockerignore) continue
    const rel = relativeTo(li.context, path)
    if (rel === undefined) continue
    // Sources first: .dockerignore is the slower test, and most files are no source of most layers.
    let first = -1
    for (let i = 0; i < li.rules.length; i++) {
      if (li.rules[i].test(rel)) {
        first = i
        break
      }
    }
    if (first < 0 || li.ignored(rel)) continue
    if (found.length && found[found.length - 1][0] > path) ordered = false
    found.push([path, li.rules[first].reason])
    hit[first] = true
    for (let i = first + 1; i < li.rules.length; i++) if (!hit[i] && li.rules[i].test(rel)) hit[i] = true
  }
  // The files come sorted (the walk sorts them): the Dockerfile and .dockerignore are put in their place.
  if (!ordered) found.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
  insertSorted(found, li.dockerfile, DOCKERFILE_REASON)
  if (li.hasDockerignore) insertSorted(found, li.dockerignore, DOCKERIGNORE_REASON)
  return { files: new Map(found), unmatched: li.rules.filter((_, i) => !hit[i]) }
}

function insertSorted(list: [string, string][], path: string, reason: string): void {
  let lo = 0
  let hi = list.length
  while (lo < hi) {
    const mid = (lo + hi) >>> 1
    if (list[mid][0] < path) lo = mid + 1
    else hi = mid
  }
  list.splice(lo, 0, [path, reason])
}

/** Per layer, the sorted input file paths (for the input digest, SPEC 4a). */
export function inputFiles(
  layers: readonly LayerInputs[],
  files: readonly string[]
): Record<string, string[]> {
  const out: Record<string, string[]> = {}
  for (const li of layers) out[li.layer] = [...resolveInputs(li, files).files.keys()]
  return out
}

// ---------- sources ----------

function sourceTest(source: ContextSource): (rel: string) => boolean {
  const src = cleanSource(source.source)
  const excluded = source.excludes.length ? compileDockerignore(source.excludes.join('\n')) : undefined
  const keep = (rel: string, root: string): boolean => {
    if (!excluded) return true
    const inner = root === '' ? rel : rel === root ? posix.basename(rel) : rel.slice(root.length + 1)
    return !excluded.ignores(inner)
  }
  if (src === '') return rel => keep(rel, '')
  if (!hasWildcard(src)) {
    const literal = unescapeGlob(src)
    const below = `${literal}/`
    return rel => (rel === literal || rel.startsWith(below)) && keep(rel, literal)
  }
  const segments = src.split('/')
  const parts = segments.map(segmentMatcher)
  const k = parts.length
  // Literal leading folders (`tools/` of `tools/*.sh`) reject most paths without slicing them.
  const fixed = segments.findIndex(hasWildcard)
  const lead = fixed > 0 ? `${segments.slice(0, fixed).map(unescapeGlob).join('/')}/` : ''
  return rel => {
    if (lead !== '' && !rel.startsWith(lead)) return false
    let start = 0
    for (let i = 0; i < k; i++) {
      const end = rel.indexOf('/', start)
      const last = i === k - 1
      if (end < 0 && !last) return false
      const seg = end < 0 ? rel.slice(start) : rel.slice(start, end)
      if (!parts[i](seg)) return false
      if (last) return keep(rel, end < 0 ? rel : rel.slice(0, end))
      start = end + 1
    }
    return false
  }
}

/** The paths a source names itself: the literal path, or what each segment of a glob matches. */
function namesTest(source: ContextSource): (rel: string) => boolean {
  const src = cleanSource(source.source)
  if (!hasWildcard(src)) {
    const literal = unescapeGlob(src)
    return rel => rel === literal
  }
  const parts = src.split('/').map(segmentMatcher)
  return rel => {
    const segs = rel.split('/')
    return segs.length === parts.length && segs.every((seg, i) => parts[i](seg))
  }
}

/** BuildKit cleans a source against the context root: `./a/../b/` → `b`, `/x` → `x`, `.` → ''. */
export function cleanSource(source: string): string {
  const clean = posix.normalize(`/${source}`).replace(/\/+$/, '')
  return clean.slice(1)
}

export function hasWildcard(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s[i]
    if (c === '\\') i++
    else if (c === '*' || c === '?' || c === '[') return true
  }
  return false
}

export function unescapeGlob(s: string): string {
  return s.replace(/\\(.)/g, '$1')
}

/** One path segment against one filepath.Match segment pattern. */
export function segmentMatcher(pattern: string): (segment: string) => boolean {
  if (!hasWildcard(pattern)) {
    const literal = unescapeGlob(pattern)
    return s => s === literal
  }
  let re = '^'
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i]
    if (c === '\\' && i + 1 < pattern.length) re += escapeRe(pattern[++i])
    else if (c === '*') re += '[^/]*'
    else if (c === '?') re += '[^/]'
    else if (c === '[') {
      const close = pattern.indexOf(']', i + 2)
      if (close < 0) return () => false // filepath.Match: a bad pattern matches nothing
      let body = pattern.slice(i + 1, close)
      const negate = body.startsWith('^')
      if (negate) body = body.slice(1)
      re += `[${negate ? '^' : ''}${body.replace(/[\]\\^]/g, m => `\\${m}`)}]`
      i = close
    } else re += escapeRe(c)
  }
  const compiled = new RegExp(`${re}$`, 's')
  return s => compiled.test(s)
}

function escapeRe(c: string): string {
  return c.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')
}

// ---------- paths ----------

function cleanDir(p: string): string {
  const clean = posix
    .normalize(p.replace(/\\/g, '/'))
    .replace(/^(\.\/)+/, '')
    .replace(/\/+$/, '')
  return clean === '.' ? '' : clean
}

function joinRel(dir: string, name: string): string {
  return dir === '' ? name : `${dir}/${name}`
}

export function relativeTo(context: string, path: string): string | undefined {
  if (context === '') return path
  return path.startsWith(`${context}/`) ? path.slice(context.length + 1) : undefined
}

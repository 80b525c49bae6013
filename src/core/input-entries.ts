// The rest of what a layer's build reads besides its files (SPEC 3a, 4a): the folders it copies (empty
// ones too), the links it follows (a named COPY source; a link to a folder brings that folder's files),
// the paths whose mode a COPY --chmod sets, git metadata a `COPY .` sends, and what makes its inputs
// unknowable. Pure: the walk of the workspace comes in as data.
import { posix } from 'node:path'
import { cleanSource, hasWildcard, relativeTo, type LayerInputs, type SourceRule } from './derived-inputs.js'

/** What the walk of the contexts found besides files (repository-relative paths). */
export interface InputTree {
  files: readonly string[]
  folders: readonly string[]
  /** Link → its target as written. */
  links: Readonly<Record<string, string>>
  /** `.git` folders. */
  git: readonly string[]
}

export interface InputEntries {
  /** Folders the build copies, sorted. */
  folders: string[]
  /** Links that the build follows (named sources): they count by what they point to. */
  followed: string[]
  /** Files and folders whose mode COPY --chmod sets (the mode on disk does not count). */
  modeSet: string[]
  /** Files below a followed link to a folder → the reason (they are inputs too). */
  extra: Map<string, string>
  /** Why the inputs cannot be known at plan time, when so. */
  unknowable?: string
  /** A file the build cannot read, named: the layer has no input digest. */
  problems: string[]
  /** One line each, for the plan log. */
  warnings: string[]
}

/** The entries of one layer, given its resolved files and the walk. `unknowable`: from its Dockerfile. */
export function inputEntries(
  li: LayerInputs,
  files: ReadonlyMap<string, string>,
  tree: InputTree,
  unknowable: readonly string[]
): InputEntries {
  const out: InputEntries = {
    folders: [],
    followed: [],
    modeSet: [],
    extra: new Map(),
    problems: [],
    warnings: []
  }
  const reads = (rel: string): SourceRule | undefined =>
    li.ignored(rel) ? undefined : li.rules.find(r => r.test(rel))
  for (const f of tree.folders) {
    const rel = relativeTo(li.context, f)
    if (rel !== undefined && reads(rel)) out.folders.push(f)
  }
  followLinks(li, files, tree, out)
  out.folders = [...new Set(out.folders)].sort()
  if (li.rules.some(r => r.source.chmod !== undefined)) out.modeSet = modeSetBy(li, files, out.folders)
  const why = [...unknowable]
  for (const g of tree.git) {
    const rel = relativeTo(li.context, g)
    const rule = rel === undefined ? undefined : reads(rel)
    if (!rule) continue
    why.push(`${rule.reason} ${rule.source.source || '.'} sends ${g} (git metadata)`)
    out.warnings.push(
      `${rule.reason} ${rule.source.source || '.'} sends the git metadata ${g} into the build (${li.dockerignore} keeps it): ` +
        `add .git to ${li.dockerignore}`
    )
  }
  if (why.length) out.unknowable = why.join('; ')
  return out
}

/** Links a source names: followed; a link to a folder brings the folders and files below it. */
function followLinks(
  li: LayerInputs,
  files: ReadonlyMap<string, string>,
  tree: InputTree,
  out: InputEntries
): void {
  const allFolders = new Set(tree.folders)
  for (const [link, target] of Object.entries(tree.links)) {
    const rel = files.has(link) ? relativeTo(li.context, link) : undefined
    if (rel === undefined) continue
    const rule = li.rules.find(r => r.names(rel))
    if (!rule) continue
    out.followed.push(link)
    const to = linkTarget(li.context, link, target)
    if (to === undefined) {
      out.problems.push(
        `"${link}" is a link to ${JSON.stringify(target)}, outside the build context "${li.context || '.'}"`
      )
      continue
    }
    if (!allFolders.has(to)) continue
    // A folder behind a named link: BuildKit copies what it holds.
    for (const f of tree.folders) if (f.startsWith(`${to}/`)) out.folders.push(f)
    out.folders.push(to)
    for (const f of tree.files) if (f.startsWith(`${to}/`) && !files.has(f)) out.extra.set(f, rule.reason)
  }
}

/** The files and folders whose mode every source that copies them sets with --chmod. */
function modeSetBy(li: LayerInputs, files: ReadonlyMap<string, string>, folders: string[]): string[] {
  const out: string[] = []
  for (const p of [...files.keys(), ...folders]) {
    const rel = relativeTo(li.context, p)
    const matching = rel === undefined ? [] : li.rules.filter(r => r.test(rel))
    if (matching.length && matching.every(r => r.source.chmod !== undefined)) out.push(p)
  }
  return out
}

/**
 * Sources that name a file through a link to a folder (`COPY linkdir/a.txt`, linkdir → real): BuildKit
 * follows the links of the path and copies the file (confirmed on the stack by
 * __tests__/input-digest-differential.itg.test.ts), when neither a link nor the file is ignored; a
 * folder or a glob reached that way it does not copy. Each such rule → its inputs: every link on the
 * path (by its target path) and the file; repository-relative paths.
 */
export function linkedSources(
  li: LayerInputs,
  unmatched: readonly SourceRule[],
  tree: InputTree
): Map<SourceRule, string[]> {
  const out = new Map<SourceRule, string[]>()
  if (Object.keys(tree.links).length === 0) return out
  const files = new Set(tree.files)
  for (const rule of unmatched) {
    const source = cleanSource(rule.source.source)
    if (source === '' || hasWildcard(source) || source.startsWith('../')) continue
    const found = resolveThroughLinks(li, source, tree.links)
    if (found && files.has(found.path) && !tree.links[found.path] && !li.ignored(found.rel))
      out.set(rule, [...found.links, found.path])
  }
  return out
}

/** `source` (context-relative) with each link on its path replaced by its target, up to 40 links. */
function resolveThroughLinks(
  li: LayerInputs,
  source: string,
  links: Readonly<Record<string, string>>
): { path: string; rel: string; links: string[] } | undefined {
  const full = (rel: string): string => (li.context === '' ? rel : `${li.context}/${rel}`)
  let parts = source.split('/')
  const seen: string[] = []
  for (let i = 0; i < parts.length; i++) {
    const rel = parts.slice(0, i + 1).join('/')
    const target = links[full(rel)]
    if (target === undefined) continue
    if (seen.length >= 40 || li.ignored(rel)) return undefined
    seen.push(full(rel))
    const to = linkTarget(li.context, full(rel), target)
    if (to === undefined) return undefined
    const toRel = relativeTo(li.context, to) ?? (to === li.context ? '' : undefined)
    if (toRel === undefined) return undefined
    parts = [...(toRel === '' ? [] : toRel.split('/')), ...parts.slice(i + 1)]
    i = -1 // the new path may hold links again: walk it from the start
  }
  if (seen.length === 0) return undefined
  const rel = parts.join('/')
  return { path: full(rel), rel, links: seen }
}

/**
 * Where a link inside the context points, as BuildKit resolves a followed source: relative to the
 * link's folder, an absolute target from the context's root; undefined when it leaves the context.
 */
export function linkTarget(context: string, link: string, target: string): string | undefined {
  if (target === '') return undefined
  const ctxRel = relativeTo(context, link) ?? link
  const joined = target.startsWith('/')
    ? posix.normalize(target).slice(1)
    : posix.normalize(posix.join(posix.dirname(ctxRel), target))
  if (joined === '..' || joined.startsWith('../')) return undefined
  const clean = joined === '.' ? '' : joined.replace(/\/+$/, '')
  return context === '' ? clean : clean === '' ? context : `${context}/${clean}`
}

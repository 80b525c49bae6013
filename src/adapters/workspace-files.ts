// The workspace as BuildKit reads it: the files below a build context (what is on disk, generated
// files too, not only what git tracks), the files git tracks at HEAD, and the text of a Dockerfile or
// .dockerignore. Every path is repository-relative and must stay inside the repository.
import { readdirSync, readlinkSync, type Dirent } from 'node:fs'
import { readFile } from 'node:fs/promises'
import * as path from 'node:path'
import type { Git } from './git.js'

/** What a walk below a folder found, as repository-relative paths, sorted. */
export interface WorkspaceTree {
  /** Files, and links of any kind (not followed: BuildKit sends a link as a link). */
  files: string[]
  /** Folders (empty ones too), `.git` and pruned ones left out. */
  folders: string[]
  /** Link → its target as written. */
  links: Record<string, string>
  /** `.git` folders (the walk does not enter them) and `.git` files (listed as files too). */
  git: string[]
}

export interface WorkspaceFiles {
  /** The files, folders and links below `dir`, as list() walks them. */
  tree(dir: string, prune?: (relDir: string) => boolean): Promise<WorkspaceTree>
  /**
   * Files below `dir` (repository-relative, '' for the root), sorted, as repository-relative paths.
   * `.git` is skipped, and every folder that `prune` (given its repository-relative path) refuses.
   * Symbolic links are listed as files, not followed (BuildKit sends them as links).
   */
  list(dir: string, prune?: (relDir: string) => boolean): Promise<string[]>
  /** The files git tracks (`git ls-files`), sorted; undefined outside a git repository. */
  tracked(): Promise<string[] | undefined>
  /** The text of a repository-relative file; undefined when there is no such file. */
  read(file: string): Promise<string | undefined>
}

/** `git`: the workspace's git, asked for the tracked files. */
export function createWorkspaceFiles(workspace: string, git: Git): WorkspaceFiles {
  const root = path.resolve(workspace)
  const inside = (rel: string): string => {
    const full = path.resolve(root, rel)
    if (full !== root && !full.startsWith(root + path.sep)) {
      throw new Error(`${JSON.stringify(rel)} is outside the repository ${root}: give a path inside it`)
    }
    return full
  }
  return {
    async tree(dir, prune) {
      const start = inside(dir)
      const prefix = path.relative(root, start).split(path.sep).join('/')
      const out: WorkspaceTree = { files: [], folders: [], links: {}, git: [] }
      walk(start, prefix, prefix, out, prune, dir)
      out.files.sort(byPath)
      out.folders.sort(byPath)
      return out
    },
    async list(dir, prune) {
      return (await this.tree(dir, prune)).files
    },
    async tracked() {
      return (await git.tracked())?.sort(byPath)
    },
    async read(file) {
      try {
        return await readFile(inside(file), 'utf8')
      } catch (e) {
        const code = (e as NodeJS.ErrnoException).code
        if (code === 'ENOENT' || code === 'ENOTDIR') return undefined
        throw new Error(`${file}: cannot read it: ${(e as Error).message}`)
      }
    }
  }
}

/**
 * Everything below `full` (repository-relative `rel`) into `out`. Synchronous on purpose: thousands of
 * small readdir calls cost far less CPU without a promise each, and nothing else runs while the plan
 * reads the contexts.
 */
function walk(
  full: string,
  rel: string,
  top: string,
  out: WorkspaceTree,
  prune: ((relDir: string) => boolean) | undefined,
  dir: string
): void {
  let entries: Dirent[]
  try {
    entries = readdirSync(full, { withFileTypes: true })
  } catch (e) {
    if (rel === top) throw new Error(`${dir || '.'}: cannot list the build context: ${(e as Error).message}`)
    return // a folder that vanished or cannot be read: BuildKit would fail on it, not Strata's plan
  }
  for (const e of entries) {
    const child = rel === '' ? e.name : `${rel}/${e.name}`
    if (e.name === '.git') out.git.push(child)
    if (e.isDirectory()) {
      if (e.name === '.git' || prune?.(child)) continue
      out.folders.push(child)
      walk(`${full}/${e.name}`, child, top, out, prune, dir)
    } else {
      out.files.push(child)
      if (e.isSymbolicLink()) out.links[child] = linkTarget(`${full}/${e.name}`)
    }
  }
}

function linkTarget(full: string): string {
  try {
    return readlinkSync(full)
  } catch {
    return '' // vanished since the folder was read: the content ids say so
  }
}

function byPath(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0
}

// Changed files → the paths the plan matches (SPEC 3), and when an API list was cut off.
import type { ChangedFile } from './types.js'

/** Sorted, unique paths; a renamed or copied file counts under its old and new path, a deleted file counts. */
export function changedPaths(files: ChangedFile[]): string[] {
  const paths = new Set<string>()
  for (const f of files) {
    if (f.path) paths.add(f.path)
    if ((f.status === 'renamed' || f.status === 'copied') && f.previousPath) paths.add(f.previousPath)
  }
  // Code-unit order, not locale order: the same list on every machine.
  return [...paths].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0))
}

/** The most entries GitHub returns: pull request files stop at 3000, compare at 300. */
export const API_FILE_LIMIT = { pull: 3000, compare: 300 } as const

/**
 * Whether an API list of `count` entries may be cut off: it reached the endpoint's limit, or it holds
 * fewer than the event said changed (`pull_request.changed_files`).
 */
export function isTruncated(kind: 'pull' | 'compare', count: number, expected?: number): boolean {
  return count >= API_FILE_LIMIT[kind] || (expected !== undefined && count < expected)
}

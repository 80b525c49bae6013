// The `local` buildx cache (SPEC 6), kept between runs with @actions/cache. Never fatal: a cache
// that cannot be restored or saved only costs time, so its errors become warnings.
import { createHash } from 'node:crypto'
import { existsSync } from 'node:fs'
import { lstat, readdir, readFile, readlink, rename, rm } from 'node:fs/promises'
import { join } from 'node:path'
import { compilePatterns, matchPath } from '../core/patterns.js'
import type { LayerConfig, Logger } from '../core/types.js'

export interface LocalCacheKeys {
  /** `strata-local-<layer>-<branch>-<hash of the layer's input files>`. */
  key: string
  /** The same layer on this branch, then on the default branch. */
  restoreKeys: string[]
}

export interface LocalCache {
  /** Restores `dir`; the key that matched, or undefined (miss, no service, or an error: warned). */
  restore(dir: string, keys: LocalCacheKeys): Promise<string | undefined>
  /** Saves `dir` under `key`; true when saved. Skipped when `dir` was restored from that very key. */
  save(dir: string, key: string): Promise<boolean>
}

/** Folders never read for the hash: git's own data is no layer input (anything else the patterns match is). */
const SKIP_DIRS = new Set(['.git'])

/** Keys for the local cache of `layer`; `branch` and `defaultBranch` sanitized as tags are. */
export async function localCacheKeys(
  workspace: string,
  layer: LayerConfig,
  branch: string,
  defaultBranch: string
): Promise<LocalCacheKeys> {
  const files = await inputFiles(workspace, layer.paths)
  const hash = createHash('sha256')
  for (const f of files) {
    // Name and content, each length-prefixed, so that moving bytes between files changes the hash.
    const p = join(workspace, f)
    const content = (await lstat(p)).isSymbolicLink() ? Buffer.from(await readlink(p)) : await readFile(p)
    hash.update(`${f.length}:${f}\n${content.length}:`).update(content).update('\n')
  }
  const prefix = (b: string): string => `strata-local-${layer.name}-${b}-`
  const restoreKeys = [...new Set([prefix(branch), prefix(defaultBranch)])]
  return { key: `${prefix(branch)}${hash.digest('hex').slice(0, 32)}`, restoreKeys }
}

/** Workspace files (relative, `/`-separated, sorted) that `patterns` match, as SPEC 3 reads them. */
export async function inputFiles(workspace: string, patterns: string[]): Promise<string[]> {
  if (patterns.length === 0) return []
  const compiled = compilePatterns(patterns)
  const out: string[] = []
  const walk = async (rel: string): Promise<void> => {
    const entries = await readdir(join(workspace, rel), { withFileTypes: true })
    for (const e of entries) {
      const path = rel ? `${rel}/${e.name}` : e.name
      if (e.isDirectory()) {
        if (!SKIP_DIRS.has(e.name)) await walk(path)
      } else if ((e.isFile() || e.isSymbolicLink()) && matchPath(compiled, path) !== undefined) {
        out.push(path)
      }
    }
  }
  await walk('')
  return out.sort()
}

/**
 * buildx wrote the new cache to `dir-new` (it only ever appends to a local cache): put it in
 * place of the old one so that the saved cache does not grow forever. False when there is none.
 */
export async function swapLocalCache(dir: string): Promise<boolean> {
  const fresh = `${dir}-new`
  if (!existsSync(fresh)) return false
  try {
    await rm(dir, { recursive: true, force: true })
    await rename(fresh, dir)
    return true
  } catch {
    return false
  }
}

/**
 * @actions/cache (with its Azure storage client) is loaded only when a layer uses the `local` cache:
 * it is most of the bundle's start-up time, and most runs never need it.
 */
const actionsCache = (): Promise<typeof import('@actions/cache')> => import('@actions/cache')

/** The runner's cache service, as @actions/cache finds it. */
export function cacheServiceAvailable(env: Record<string, string | undefined> = process.env): boolean {
  return Boolean(env.ACTIONS_CACHE_URL || env.ACTIONS_RESULTS_URL)
}

export function createLocalCache(log: Logger): LocalCache {
  let told = false
  const available = (): boolean => {
    if (cacheServiceAvailable()) return true
    if (!told) {
      log.notice(
        'local cache not kept between runs: the Actions cache service is not available here ' +
          '(neither ACTIONS_CACHE_URL nor ACTIONS_RESULTS_URL is set); the builder still uses the cache it has'
      )
    }
    told = true
    return false
  }
  const restoredFrom = new Map<string, string>()

  return {
    async restore(dir, keys) {
      if (!available()) return undefined
      try {
        const hit = await (await actionsCache()).restoreCache([dir], keys.key, keys.restoreKeys)
        if (hit) restoredFrom.set(dir, hit)
        log.info(hit ? `local cache restored from ${hit}` : `local cache: no entry for ${keys.key} yet`)
        return hit
      } catch (e) {
        log.warning(`local cache not restored (${keys.key}): ${(e as Error).message}`)
        return undefined
      }
    },

    async save(dir, key) {
      if (!available() || !existsSync(dir)) return false
      // Same key: the inputs did not change, and an entry of a key cannot be replaced anyway.
      if (restoredFrom.get(dir) === key) return false
      try {
        const id = await (await actionsCache()).saveCache([dir], key)
        if (id === -1) return false
        log.info(`local cache saved as ${key}`)
        return true
      } catch (e) {
        log.warning(`local cache not saved (${key}): ${(e as Error).message}`)
        return false
      }
    }
  }
}

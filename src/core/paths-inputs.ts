// The layer's `paths` (SPEC 3a): the files they match add to what its Dockerfile reads, and a
// pattern that matches no file of the repository is likely a typo. Pure.
import { compilePatterns, matchPath } from './patterns.js'
import type { LayerConfig, StrataConfig } from './types.js'

/** Adds the files the layer's `paths` match (after the Dockerfile's own reasons), sorted. */
export function withPaths(
  layer: LayerConfig,
  derived: Map<string, string>,
  tracked: readonly string[]
): Map<string, string> {
  if (layer.paths.length === 0) return derived
  const compiled = compilePatterns(layer.paths)
  const all = new Map(derived)
  for (const f of tracked) {
    if (all.has(f)) continue
    const pattern = matchPath(compiled, f)
    if (pattern !== undefined) all.set(f, pattern)
  }
  return new Map([...all].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
}

/** A positive `paths` pattern that matches no tracked file is likely a typo. */
export function pathsWarnings(
  config: StrataConfig,
  layer: LayerConfig,
  tracked: readonly string[]
): string[] {
  const out: string[] = []
  for (const pattern of layer.paths) {
    if (pattern.startsWith('!')) continue
    let compiled
    try {
      compiled = compilePatterns([pattern])
    } catch {
      continue // decide() reports a bad pattern
    }
    if (tracked.some(f => matchPath(compiled, f) !== undefined)) continue
    const guess = pattern.replace(/\*\*(?=[^/])/g, '**/*')
    const hint = guess !== pattern ? `; did you mean \`${guess}\`?` : '; fix it or remove it'
    out.push(
      `${config.file}: layer "${layer.name}" paths pattern \`${pattern}\` matches no file of the repository${hint}`
    )
  }
  return out
}

// "Did you mean …?": the closest valid name to a mistyped one.

/** Closest candidate within a small edit distance (typos, `_` for `-`), else undefined. */
export function bestMatch(word: string, candidates: string[]): string | undefined {
  const w = word.toLowerCase()
  // A cut-short key (`max-age` for `max-age-days`) is a likely mistake too.
  if (w.length >= 4) {
    const prefix = candidates.find(c => c.toLowerCase().startsWith(w))
    if (prefix) return prefix
  }
  let best: string | undefined
  let bestD = Infinity
  for (const c of candidates) {
    const d = distance(w, c.toLowerCase())
    // Ties go to the candidate of the same length (`sha8` → `sha7`, not `sha`).
    if (d < bestD || (d === bestD && c.length === word.length)) [best, bestD] = [c, d]
  }
  return bestD <= Math.max(2, Math.floor(word.length / 3)) && bestD < word.length ? best : undefined
}

/** The fix for an unknown name: the closest valid one, else `otherwise`. */
export function suggest(word: string, candidates: string[], otherwise: string): string {
  const hint = bestMatch(word, candidates)
  return hint ? `did you mean "${hint}"?` : otherwise
}

/** Levenshtein distance. */
function distance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, i) => i)
  for (let i = 1; i <= a.length; i++) {
    const cur = [i]
    for (let j = 1; j <= b.length; j++)
      cur[j] = Math.min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1))
    prev = cur
  }
  return prev[b.length]
}

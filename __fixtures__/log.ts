import type { Logger } from '../src/core/types.js'

/** A Logger that keeps every line, prefixed with its level, for tests to read back. */
export function recordingLog(): Logger & { lines: string[] } {
  const lines: string[] = []
  return {
    lines,
    info: m => lines.push(`info: ${m}`),
    notice: m => lines.push(`notice: ${m}`),
    warning: m => lines.push(`warning: ${m}`),
    group: (_name, fn) => fn()
  }
}

/** A Logger that keeps info lines as they are (notices prefixed) and warnings apart, as cleanup tests read them. */
export function cleanupLog(): Logger & { lines: string[]; warnings: string[] } {
  const lines: string[] = []
  const warnings: string[] = []
  return {
    lines,
    warnings,
    info: m => lines.push(m),
    notice: m => lines.push(`notice: ${m}`),
    warning: m => warnings.push(m),
    group: (_name, fn) => fn()
  }
}

// The Logger of the local CLI: plain lines on stderr, so that stdout carries only the result
// (`--json` output stays parseable).
import { logLines, safeLine } from '../core/log-safe.js'
import type { Logger } from '../core/types.js'

export interface TerminalLogOptions {
  /** Where lines go (default: process.stderr). */
  write?: (line: string) => void
  /** Print info lines (groups' content included); notices and warnings always print. */
  verbose?: boolean
  /** In a workflow step: hide a secret from the job's log (`::add-mask::`); a terminal has none. */
  mask?: (secret: string) => void
}

export function createTerminalLogger(opts: TerminalLogOptions = {}): Logger {
  const write = opts.write ?? ((line: string) => void process.stderr.write(`${line}\n`))
  const verbose = opts.verbose ?? true
  let depth = 0
  const indent = (): string => '  '.repeat(depth)
  // The CLI may run in a workflow step, where stderr lines are read for workflow commands too: every
  // line is made safe, also the second line of a warning (SPEC 10).
  const lines = (prefix: string, m: string): void => {
    const [first, ...rest] = logLines(m).map(safeLine)
    write(`${indent()}${prefix}${first}`)
    rest.forEach(l => write(`${indent()}  ${l}`))
  }
  return {
    ...(opts.mask && { mask: opts.mask }),
    info: m => {
      // buildx separates its steps with blank lines: not worth a line each in a terminal.
      if (verbose) logLines(m).forEach(l => l.trim() && write(`${indent()}${safeLine(l)}`))
    },
    notice: m => lines('notice: ', m),
    warning: m => lines('warning: ', m),
    async group(name, fn) {
      if (verbose) lines('▸ ', name)
      depth++
      try {
        return await fn()
      } finally {
        depth--
      }
    }
  }
}

/** Row data for the CLI's table: one layer of the plan (and of the build, when there was one). */
export interface TableRow {
  layer: string
  action: string
  reasons: string
  ref: string
  time?: string
  cached?: string
}

/** A plain text table, columns padded to their widest cell; the last column is never padded. */
export function renderTable(rows: TableRow[]): string {
  const withBuild = rows.some(r => r.time !== undefined)
  const header: TableRow = { layer: 'LAYER', action: 'ACTION', reasons: 'REASONS', ref: 'REF' }
  if (withBuild) Object.assign(header, { time: 'TIME', cached: 'CACHED' })
  const keys: (keyof TableRow)[] = withBuild
    ? ['layer', 'action', 'time', 'cached', 'reasons', 'ref']
    : ['layer', 'action', 'reasons', 'ref']
  const all = [header, ...rows]
  const width = keys.map(k => Math.max(...all.map(r => (r[k] ?? '').length)))
  return all
    .map(r =>
      keys
        .map((k, i) => (i === keys.length - 1 ? (r[k] ?? '') : (r[k] ?? '').padEnd(width[i])))
        .join('  ')
        .trimEnd()
    )
    .join('\n')
}

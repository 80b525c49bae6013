// A config error says where (file:line:column), what, and the one fix.

const MAX_QUOTED = 300

export class ConfigError extends Error {
  file: string
  line: number
  column: number
  /** The problem, and the one-line fix, as in the message. */
  what: string
  fix: string
  constructor(file: string, line: number, column: number, problem: string, fix: string) {
    // A foreign file (the `config` input pointed elsewhere) can make any key or value huge: quote
    // at most MAX_QUOTED characters of it.
    const what = problem.length > MAX_QUOTED ? `${problem.slice(0, MAX_QUOTED)}…` : problem
    super(`${file}:${line}:${column}: ${what} (${fix})`)
    this.name = 'ConfigError'
    this.file = file
    this.line = line
    this.column = column
    this.what = what
    this.fix = fix
  }
}

export interface Position {
  line: number
  column: number
}

/** Where a layer's name and the keys that point at files were written (for the adapter's checks). */
export interface LayerPositions {
  name: Position
  /** The `dockerfile` key that set its Dockerfile (in the layer or in `defaults`); none: built-in. */
  dockerfile?: Position
  context?: Position
}

export interface ConfigPositions {
  layers: Record<string, LayerPositions>
}

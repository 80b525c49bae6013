// The types a parsed Dockerfile is made of (core/dockerfile.ts makes them; dockerfile-steps.ts and
// core/assemble*.ts read them), apart so that the parser and its step readers import one way only.

export interface Place {
  line: number
  column: number
}

/** A source read from the build context: a path or glob as BuildKit sees it after expansion. */
export interface ContextSource extends Place {
  keyword: 'COPY' | 'ADD' | 'RUN --mount'
  /** Expanded source, as written relative to the context (`.`, `src/`, `*.json`, `/etc/x`). */
  source: string
  /** `--exclude` patterns of this COPY/ADD, relative to the source. */
  excludes: string[]
  /** COPY/ADD with `--link` (always true for RUN --mount). */
  link: boolean
  /** Line of the instruction (for `Dockerfile:7 COPY`). */
  instructionLine: number
  /** `--chmod=` of COPY/ADD: the mode of what it copies is set, the mode on disk does not count. */
  chmod?: string
  /** Why it is read when not this Dockerfile's own line: `Dockerfile.base:5 ONBUILD COPY`. */
  origin?: string
}

/** An `ONBUILD` instruction of a parent layer's image, run at the start of a child's stage. */
export interface Trigger {
  /** The instruction after ONBUILD (`COPY src/ /app/`). */
  text: string
  /** `Dockerfile.base:5 ONBUILD COPY`. */
  origin: string
}

/** An image named by FROM, COPY --from or RUN --mount from= that is not a stage. */
export interface ImageUse extends Place {
  keyword: 'FROM' | 'COPY --from' | 'RUN --mount' | '# syntax'
  /** Expanded image reference. */
  image: string
  /** The layer whose build-arg the image came from, when it did (`FROM ${BASE_IMAGE}`). */
  layer?: string
}

export interface Stage extends Place {
  index: number
  /** Lower-cased `AS` name. */
  name?: string
  /** The FROM's image, or the stage it builds on. */
  base: { stage: number } | { image: ImageUse }
  /** Build-arg names the FROM line refers to (`FROM ${BASE_IMAGE}` → BASE_IMAGE). */
  fromArgs: string[]
  /** The FROM's image as written (`${BASE_IMAGE}`), before any ARG is expanded. */
  fromText: string
  /** Line of the stage's first RUN: a COPY after it cannot skip the parent's layers (--link or not). */
  firstRun?: number
  /** Stages this one needs besides its base: COPY --from, RUN --mount from=. */
  needs: number[]
  sources: ContextSource[]
  images: ImageUse[]
  /** COPY/ADD (any source) without --link: line and keyword. */
  unlinked: (Place & { keyword: string })[]
  /** Its own ONBUILD instructions (they run in images built FROM it). */
  onbuild: Trigger[]
  /** What it reads that cannot be known at plan time: `ADD https://… at Dockerfile:4`. */
  unknowable: string[]
  /** Every instruction after the FROM, as written (core/assemble.ts evaluates them). */
  instructions: RawInstruction[]
}

/** An instruction as written, for readers that evaluate it later (core/assemble.ts). */
export interface RawInstruction extends Place {
  /** Upper-case keyword. */
  keyword: string
  /** `--name=value` flags in order (value null for a bare `--link`). */
  flags: { name: string; value: string | null }[]
  /** The arguments after the flags on one line (continuations joined), as BuildKit's shell form reads them. */
  shell: string
  /** The JSON form's strings, when the arguments are a JSON array of strings. */
  json?: string[]
  /** Shell-form words as written (quotes kept). */
  words: string[]
  /** ENV/LABEL/ARG: each name and its value as written (quotes kept; null without `=`). */
  properties: { name: string; raw: string | null }[]
  /** Has a heredoc (`COPY <<EOF`). */
  heredoc: boolean
}

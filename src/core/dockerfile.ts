// Reads a Dockerfile with dockerfile-ast (the VS Code Docker parser) into what Strata needs (SPEC 3a):
// stages, the stages a target depends on, context sources of COPY/ADD and RUN --mount=type=bind, and
// the images that FROM / COPY --from / RUN --mount from= name. Build args are applied as BuildKit
// applies them: global ARGs in FROM lines, a stage's ARGs and ENVs in its instructions. Pure.
import { DockerfileParser, Keyword } from 'dockerfile-ast'
import type { Flag, Instruction } from 'dockerfile-ast'
import { expandWord } from './shell-words.js'

/** A Dockerfile that BuildKit would refuse (or that breaks the layer config), at file:line:column (1-based). */
export class DockerfileError extends Error {
  constructor(
    readonly file: string,
    readonly line: number,
    readonly column: number,
    what: string,
    fix: string
  ) {
    super(`${file}:${line}:${column}: ${what}: ${fix}`)
    this.name = 'DockerfileError'
  }
}

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
}

/** An image named by FROM, COPY --from or RUN --mount from= that is not a stage. */
export interface ImageUse extends Place {
  keyword: 'FROM' | 'COPY --from' | 'RUN --mount'
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
  /** Stages this one needs besides its base: COPY --from, RUN --mount from=. */
  needs: number[]
  sources: ContextSource[]
  images: ImageUse[]
  /** COPY/ADD (any source) without --link: line and keyword. */
  unlinked: (Place & { keyword: string })[]
}

export interface ParsedDockerfile {
  file: string
  stages: Stage[]
}

export interface ParseOptions {
  /** Build args (`--build-arg`): the layer's, then the step's, winning in that order. */
  buildArgs?: Record<string, string>
  /** Parent build-arg name → parent layer name: images made of them are layers, not externals. */
  layerArgs?: Record<string, string>
}

const KEYWORDS: ReadonlySet<string> = new Set(Object.values(Keyword))
// BuildKit sets these in the global scope (a linux/amd64 build unless the layer says otherwise).
const AUTOMATIC_ARGS: Record<string, string> = {
  TARGETPLATFORM: 'linux/amd64',
  TARGETOS: 'linux',
  TARGETARCH: 'amd64',
  TARGETVARIANT: '',
  BUILDPLATFORM: 'linux/amd64',
  BUILDOS: 'linux',
  BUILDARCH: 'amd64',
  BUILDVARIANT: ''
}
const LAYER_MARK = '\u0000layer:'
const URL_SOURCE = /^(https?:\/\/|git@|git:\/\/|ssh:\/\/)/i

/** Parses `text` (the Dockerfile at `file`); throws DockerfileError where BuildKit would not build it. */
export function parseDockerfile(text: string, file: string, opts: ParseOptions = {}): ParsedDockerfile {
  const doc = DockerfileParser.parse(text)
  const escape = doc.getEscapeCharacter()
  const buildArgs = opts.buildArgs ?? {}
  const layerValues: Record<string, string> = {}
  for (const [arg, layer] of Object.entries(opts.layerArgs ?? {}))
    layerValues[arg] = `${LAYER_MARK}${layer}\u0000`
  const given = (name: string): string | undefined => layerValues[name] ?? buildArgs[name]
  const fail = (at: Place, what: string, fix: string): never => {
    throw new DockerfileError(file, at.line, at.column, what, fix)
  }
  const lines = lineStarts(text)

  const global: Record<string, string> = { ...AUTOMATIC_ARGS }
  const stages: Stage[] = []
  let vars: Record<string, string> = {}
  const expand = (word: string, at: Place, scope = vars): string => {
    try {
      return expandWord(word, scope, escape)
    } catch (e) {
      return fail(at, (e as Error).message, 'fix the quoting or the ${…} expression')
    }
  }

  for (const ins of doc.getInstructions()) {
    const keyword = ins.getKeyword().toUpperCase()
    const at = place(ins.getRange().start)
    const current = stages[stages.length - 1]
    if (!KEYWORDS.has(keyword)) {
      fail(
        at,
        `unknown instruction ${JSON.stringify(ins.getKeyword())}`,
        'use a Dockerfile instruction such as FROM, RUN or COPY'
      )
    }
    if (keyword === 'ARG') {
      for (const p of argProperties(ins)) {
        const scope = current ? vars : global
        const fallback = p.value !== null ? expand(p.value, at, scope) : current ? global[p.name] : undefined
        const value = given(p.name) ?? fallback
        if (value !== undefined) scope[p.name] = value
        else delete scope[p.name]
      }
      continue
    }
    if (keyword === 'FROM') {
      stages.push(fromStage(ins, at, stages, global, expand, fail))
      vars = {}
      continue
    }
    if (!current)
      fail(
        at,
        `${keyword} comes before the first FROM`,
        'start the Dockerfile with FROM (only ARG may come before it)'
      )
    const stage = current as Stage
    if (keyword === 'ENV') {
      for (const p of envProperties(ins)) vars[p.name] = p.value === null ? '' : expand(p.value, at)
    } else if (keyword === 'COPY' || keyword === 'ADD') {
      readCopy(ins, keyword, at, stage, stages, { text, lines, expand, fail })
    } else if (keyword === 'RUN') {
      for (const flag of flagsOf(ins))
        if (flag.getName() === 'mount') readMount(flag, at, stage, stages, expand)
    }
  }
  if (stages.length === 0)
    fail({ line: 1, column: 1 }, 'no FROM instruction', 'add FROM <image> to say what the image builds on')
  return { file, stages }
}

/** The stage `target` names (or the last one) and every stage it needs, in Dockerfile order. */
export function neededStages(df: ParsedDockerfile, target?: string): Stage[] | undefined {
  const start =
    target === undefined
      ? df.stages.length - 1
      : stageIndex(df.stages, target.toLowerCase(), df.stages.length)
  if (start === undefined) return undefined
  const seen = new Set<number>()
  const visit = (i: number): void => {
    if (seen.has(i)) return
    seen.add(i)
    const s = df.stages[i]
    if ('stage' in s.base) visit(s.base.stage)
    s.needs.forEach(visit)
  }
  visit(start)
  return df.stages.filter(s => seen.has(s.index))
}

/** The FROM that a stage's image finally comes from (following FROM <stage>). */
export function rootOf(df: ParsedDockerfile, stage: Stage): Stage {
  let s = stage
  while ('stage' in s.base) s = df.stages[s.base.stage]
  return s
}

// ---------- instructions ----------

type Expand = (word: string, at: Place, scope?: Record<string, string>) => string
type Fail = (at: Place, what: string, fix: string) => never

function fromStage(
  ins: Instruction,
  at: Place,
  stages: Stage[],
  global: Record<string, string>,
  expand: Expand,
  fail: Fail
): Stage {
  const args = ins.getArguments()
  if (args.length === 0) fail(at, 'FROM names no image', 'write FROM <image>, e.g. FROM ubuntu:24.04')
  const raw = args[0].getValue()
  const image = expand(raw, place(args[0].getRange().start), global)
  let name: string | undefined
  if (args.length >= 3 && args[1].getValue().toUpperCase() === 'AS') name = args[2].getValue().toLowerCase()
  else if (args.length > 1)
    fail(
      place(args[1].getRange().start),
      `FROM ${raw} ${args[1].getValue()}: expected AS <name>`,
      'write FROM <image> AS <name>'
    )
  const where = place(args[0].getRange().start)
  const known = stageIndex(stages, image.toLowerCase(), stages.length)
  const base: Stage['base'] =
    known !== undefined && !/^\d+$/.test(image) ? { stage: known } : { image: imageUse('FROM', image, where) }
  if ('image' in base && base.image.image === '' && base.image.layer === undefined) {
    fail(
      where,
      `FROM ${raw} expands to an empty image name`,
      'give the build-arg a value, or an ARG default before FROM'
    )
  }
  return {
    index: stages.length,
    ...(name !== undefined && { name }),
    ...at,
    base,
    fromArgs: variablesIn(raw),
    needs: [],
    sources: [],
    images: [],
    unlinked: []
  }
}

interface CopyContext {
  text: string
  lines: number[]
  expand: Expand
  fail: Fail
}

function readCopy(
  ins: Instruction,
  keyword: 'COPY' | 'ADD',
  at: Place,
  stage: Stage,
  stages: Stage[],
  c: CopyContext
): void {
  const flags = flagsOf(ins)
  const flag = (n: string): Flag | undefined => flags.find(f => f.getName() === n)
  const link = flag('link')
  const linked = link !== undefined && (link.getValue() === null || link.getValue() === 'true')
  if (!linked) stage.unlinked.push({ ...at, keyword })
  const from = flag('from')
  if (from) {
    const value = c.expand(from.getValue() ?? '', place(from.getRange().start))
    if (value === '')
      c.fail(
        place(from.getRange().start),
        `${keyword} --from= names nothing`,
        'write --from=<stage or image>'
      )
    useStageOrImage(value, place(from.getRange().start), 'COPY --from', stage, stages)
    return
  }
  const excludes = flags.filter(f => f.getName() === 'exclude').map(f => c.expand(f.getValue() ?? '', at))
  const words = copyWords(ins, c)
  if (words.length < 2)
    c.fail(at, `${keyword} needs a source and a destination`, `write ${keyword} <source>… <destination>`)
  for (const w of words.slice(0, -1)) {
    if (w.heredoc) continue
    const source = w.json ? w.value : c.expand(w.value, w)
    if (keyword === 'ADD' && URL_SOURCE.test(source)) continue
    stage.sources.push({
      keyword,
      source,
      excludes,
      link: linked,
      line: w.line,
      column: w.column,
      instructionLine: at.line
    })
  }
}

interface Word extends Place {
  value: string
  json: boolean
  heredoc: boolean
}

/** COPY/ADD words after the flags: JSON form, shell form, heredoc bodies left out. */
function copyWords(ins: Instruction, c: CopyContext): Word[] {
  const json = ins as unknown as {
    getOpeningBracket?: () => { getRange(): { start: Pos } } | null
    getClosingBracket?: () => { getRange(): { end: Pos } } | null
  }
  const open = json.getOpeningBracket?.()
  const close = json.getClosingBracket?.()
  if (open && close) {
    const start = open.getRange().start
    const body = c.text
      .slice(offset(c.lines, start), offset(c.lines, close.getRange().end))
      .replace(/\\\r?\n/g, '')
    let list: unknown
    try {
      list = JSON.parse(body)
    } catch {
      list = undefined
    }
    if (Array.isArray(list) && list.every(v => typeof v === 'string')) {
      return (list as string[]).map(value => ({ value, json: true, heredoc: false, ...place(start) }))
    }
  }
  const heredocs =
    (ins as unknown as { getHeredocs?: () => { getStartRange(): { start: Pos } }[] }).getHeredocs?.() ?? []
  // Heredoc bodies follow the line that opens them: only words up to that line are sources or the destination.
  const lastLine = heredocs.length ? heredocs[0].getStartRange().start.line : Infinity
  return ins
    .getArguments()
    .filter(a => a.getRange().start.line <= lastLine)
    .map(a => ({
      value: a.getValue(),
      json: false,
      heredoc: a.getValue().startsWith('<<'),
      ...place(a.getRange().start)
    }))
}

function readMount(flag: Flag, at: Place, stage: Stage, stages: Stage[], expand: Expand): void {
  const opts = new Map<string, string>()
  for (const o of flag.getOptions()) opts.set(o.getName().toLowerCase(), o.getValue() ?? '')
  const type = opts.get('type') ?? 'bind'
  const where = place(flag.getRange().start)
  const from = opts.get('from')
  if (from !== undefined && from !== '') {
    useStageOrImage(expand(from, where), where, 'RUN --mount', stage, stages)
    return
  }
  if (type !== 'bind') return
  const source = expand(opts.get('source') ?? opts.get('src') ?? '.', where)
  stage.sources.push({
    keyword: 'RUN --mount',
    source,
    excludes: [],
    link: true,
    ...where,
    instructionLine: at.line
  })
}

function useStageOrImage(
  value: string,
  at: Place,
  keyword: 'COPY --from' | 'RUN --mount',
  stage: Stage,
  stages: Stage[]
): void {
  const known = stageIndex(stages, value.toLowerCase(), stages.length - 1)
  if (known !== undefined) stage.needs.push(known)
  else stage.images.push(imageUse(keyword, value, at))
}

function imageUse(keyword: ImageUse['keyword'], value: string, at: Place): ImageUse {
  const mark = value.indexOf(LAYER_MARK)
  if (mark >= 0) {
    // The image is what remains around the layer's mark (normally nothing: `FROM ${BASE_IMAGE}`).
    const end = value.indexOf('\u0000', mark + 1)
    const layer = value.slice(mark + LAYER_MARK.length, end)
    return { keyword, image: value.slice(0, mark) + value.slice(end + 1), layer, ...at }
  }
  return { keyword, image: value, ...at }
}

/** A stage by name, or by index (`--from=0`), among the first `before` stages. */
function stageIndex(stages: Stage[], ref: string, before: number): number | undefined {
  if (/^\d+$/.test(ref)) {
    const i = Number(ref)
    return i < before ? i : undefined
  }
  for (let i = 0; i < before && i < stages.length; i++) if (stages[i].name === ref) return i
  return undefined
}

function flagsOf(ins: Instruction): Flag[] {
  const f = (ins as unknown as { getFlags?: () => Flag[] }).getFlags
  return f ? f.call(ins) : []
}

function argProperties(ins: Instruction): { name: string; value: string | null }[] {
  const props = (
    ins as unknown as { getProperties(): { getName(): string; getValue(): string | null }[] }
  ).getProperties()
  return props.map(p => ({ name: p.getName(), value: p.getValue() }))
}

const envProperties = argProperties

/** `${NAME}` and `$NAME` references in a word. */
function variablesIn(word: string): string[] {
  const out: string[] = []
  for (const m of word.matchAll(/\$(?:\{([A-Za-z_][A-Za-z0-9_]*)|([A-Za-z_][A-Za-z0-9_]*))/g))
    out.push(m[1] ?? m[2])
  return [...new Set(out)]
}

interface Pos {
  line: number
  character: number
}

function place(p: Pos): Place {
  return { line: p.line + 1, column: p.character + 1 }
}

function lineStarts(text: string): number[] {
  const starts = [0]
  for (let i = 0; i < text.length; i++) if (text.charCodeAt(i) === 10) starts.push(i + 1)
  return starts
}

function offset(lines: number[], p: Pos): number {
  return (lines[p.line] ?? 0) + p.character
}

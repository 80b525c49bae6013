// The COPY/ADD and RUN --mount readers of parseDockerfile() (dockerfile.ts): context sources, the
// stages they need, the images they name, and the helpers for positions. Pure.
import type { Flag, Instruction } from 'dockerfile-ast'
import type { ImageUse, Place, RawInstruction, Stage } from './dockerfile-types.js'

export type Expand = (word: string, at: Place, scope?: Record<string, string>) => string
export type Fail = (at: Place, what: string, fix: string) => never

/** Marks a parent layer's build-arg value, so that an image made of it is known as that layer. */
export const LAYER_MARK = '\u0000layer:'
const URL_SOURCE = /^(https?:\/\/|git@|git:\/\/|ssh:\/\/)/i
/** BuildKit's ADD reads these as git repositories (cloned at build time, whatever the plan saw). */
const GIT_URL =
  /^(git@|git:\/\/|ssh:\/\/)|\.git(#|$)|^https?:\/\/(github\.com|gitlab\.com|bitbucket\.org)\/[^/]+\/[^/]+\/?(#|$)/i

export interface CopyContext {
  /** The Dockerfile's path, for `ADD https://… at Dockerfile:4`. */
  file: string
  text: string
  lines: number[]
  expand: Expand
  fail: Fail
  /** `Dockerfile.base:5 ONBUILD COPY`: the reason of sources that a parent's ONBUILD adds. */
  origin?: string
}

export function readCopy(
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
  const chmod = flag('chmod')?.getValue() ?? undefined
  const words = copyWords(ins, c)
  if (words.length < 2)
    c.fail(at, `${keyword} needs a source and a destination`, `write ${keyword} <source>… <destination>`)
  for (const w of words.slice(0, -1)) {
    if (w.heredoc) continue
    // BuildKit expands variables in the JSON form too (`COPY ["${SRC}", "/app/"]`).
    const source = c.expand(w.value, w)
    if (keyword === 'ADD' && URL_SOURCE.test(source)) {
      // A download pinned by --checksum is known by the Dockerfile's bytes; anything else is not.
      const pinned = flag('checksum') !== undefined && /^https?:\/\//i.test(source) && !GIT_URL.test(source)
      if (!pinned) stage.unknowable.push(`ADD ${source} at ${c.origin ?? `${c.file}:${at.line}`}`)
      continue
    }
    stage.sources.push({
      keyword,
      source,
      excludes,
      link: linked,
      line: w.line,
      column: w.column,
      instructionLine: at.line,
      ...(chmod !== undefined && chmod !== '' && { chmod }),
      ...(c.origin !== undefined && { origin: c.origin })
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

export function readMount(
  flag: Flag,
  at: Place,
  stage: Stage,
  stages: Stage[],
  expand: Expand,
  origin?: string
): void {
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
    instructionLine: at.line,
    ...(origin !== undefined && { origin })
  })
}

export function useStageOrImage(
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

export function imageUse(keyword: ImageUse['keyword'], value: string, at: Place): ImageUse {
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
export function stageIndex(stages: Stage[], ref: string, before: number): number | undefined {
  if (/^\d+$/.test(ref)) {
    const i = Number(ref)
    return i < before ? i : undefined
  }
  for (let i = 0; i < before && i < stages.length; i++) if (stages[i].name === ref) return i
  return undefined
}

export function flagsOf(ins: Instruction): Flag[] {
  const f = (ins as unknown as { getFlags?: () => Flag[] }).getFlags
  return f ? f.call(ins) : []
}

export interface Pos {
  line: number
  character: number
}

export function place(p: Pos): Place {
  return { line: p.line + 1, column: p.character + 1 }
}

export function lineStarts(text: string): number[] {
  const starts = [0]
  for (let i = 0; i < text.length; i++) if (text.charCodeAt(i) === 10) starts.push(i + 1)
  return starts
}

export function offset(lines: number[], p: Pos): number {
  return (lines[p.line] ?? 0) + p.character
}

export function rawInstruction(ins: Instruction, keyword: string, at: Place, c: CopyContext): RawInstruction {
  const shell = ins.getArgumentsContent() ?? ''
  let json: string[] | undefined
  if (shell.trimStart().startsWith('[')) {
    try {
      const list: unknown = JSON.parse(shell)
      if (Array.isArray(list) && list.every(v => typeof v === 'string')) json = list as string[]
    } catch {
      json = undefined // BuildKit reads it as the shell form
    }
  }
  const props = (ins as unknown as { getProperties?: () => PropertyLike[] }).getProperties?.call(ins) ?? []
  const heredocs = (ins as unknown as { getHeredocs?: () => unknown[] }).getHeredocs?.call(ins) ?? []
  return {
    ...at,
    keyword,
    flags: flagsOf(ins).map(f => ({ name: f.getName(), value: f.getValue() })),
    shell,
    ...(json && { json }),
    words: ins.getArguments().map(a => a.getValue()),
    properties: props.map(p => {
      const r = p.getValueRange()
      return {
        name: p.getName(),
        raw: r ? c.text.slice(offset(c.lines, r.start), offset(c.lines, r.end)) : null
      }
    }),
    heredoc: heredocs.length > 0
  }
}

interface PropertyLike {
  getName(): string
  getValueRange(): { start: Pos; end: Pos } | null
}

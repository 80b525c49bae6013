// Reads a Dockerfile with dockerfile-ast (the VS Code Docker parser) into what Strata needs (SPEC 3a):
// stages, the stages a target depends on, context sources of COPY/ADD and RUN --mount=type=bind, and
// the images that FROM / COPY --from / RUN --mount from= name. Build args are applied as BuildKit
// applies them: global ARGs in FROM lines, a stage's ARGs and ENVs in its instructions. Pure.
import { DockerfileParser, Keyword } from 'dockerfile-ast'
import type { Instruction, Onbuild } from 'dockerfile-ast'
import {
  flagsOf,
  imageUse,
  lineStarts,
  offset,
  place,
  rawInstruction,
  readCopy,
  readMount,
  stageIndex,
  LAYER_MARK,
  type Expand,
  type Fail
} from './dockerfile-steps.js'
import type { ImageUse, Place, Stage, Trigger } from './dockerfile-types.js'

export type { ContextSource, ImageUse, Place, RawInstruction, Stage, Trigger } from './dockerfile-types.js'
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

export interface ParsedDockerfile {
  file: string
  stages: Stage[]
  /** Every name an ARG declares (any stage): a build arg no ARG declares changes nothing. */
  declared: string[]
  /** The frontend image of `# syntax=` (or the BUILDKIT_SYNTAX build arg), an external image. */
  frontend?: ImageUse
  /** The escape character (`# escape=`). */
  escape: string
  /** Global ARG values before the first FROM (build args applied, BuildKit's automatic ones included). */
  globals: Record<string, string>
  /** The `# syntax=` frontend, when the Dockerfile names one. */
  syntax?: string
}

export interface ParseOptions {
  /** Build args (`--build-arg`): the layer's, then the step's, winning in that order. */
  buildArgs?: Record<string, string>
  /** Parent build-arg name → parent layer name: images made of them are layers, not externals. */
  layerArgs?: Record<string, string>
  /** The target platform (`linux/arm64`), for TARGETARCH and its kin; default: the build platform. */
  platform?: string
  /** The builder's platform, for BUILDPLATFORM and its kin; default linux/amd64. */
  buildPlatform?: string
  /** Parent layer → the ONBUILD instructions of its image: they run where a stage is built FROM it. */
  onbuild?: Record<string, Trigger[]>
}

const KEYWORDS: ReadonlySet<string> = new Set(Object.values(Keyword))
/** BuildKit sets these in the global scope: the target platform's and the builder's. */
function automaticArgs(build = 'linux/amd64', platform = build): Record<string, string> {
  const [os = 'linux', arch = 'amd64', variant = ''] = platform.split('/')
  const [bos = 'linux', barch = 'amd64', bvariant = ''] = build.split('/')
  return {
    TARGETPLATFORM: platform,
    TARGETOS: os,
    TARGETARCH: arch,
    TARGETVARIANT: variant,
    BUILDPLATFORM: build,
    BUILDOS: bos,
    BUILDARCH: barch,
    BUILDVARIANT: bvariant
  }
}

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

  const global: Record<string, string> = automaticArgs(opts.buildPlatform, opts.platform)
  const stages: Stage[] = []
  const declared = new Set<string>()
  let vars: Record<string, string> = {}
  // Each stage's variables: a stage built FROM another starts with its ENV and ARGs, as BuildKit does
  // (confirmed on the stack by __tests__/derived-inputs.itg.test.ts).
  const stageVars: Record<string, string>[] = []
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
      argProperties(ins).forEach(p => declared.add(p.name))
      current?.instructions.push(rawInstruction(ins, keyword, at, { file, text, lines, expand, fail }))
      declareArgs(ins, at, current ? vars : global, current ? global : undefined, given, expand)
      continue
    }
    if (keyword === 'FROM') {
      const stage = fromStage(ins, at, stages, global, expand, fail)
      stages.push(stage)
      vars = 'stage' in stage.base ? { ...stageVars[stage.base.stage] } : {}
      stageVars.push(vars)
      const parent = 'image' in stage.base ? stage.base.image.layer : undefined
      for (const t of parent ? (opts.onbuild?.[parent] ?? []) : [])
        runTrigger(t, at, stage, stages, file, expand)
      continue
    }
    if (!current)
      fail(
        at,
        `${keyword} comes before the first FROM`,
        'start the Dockerfile with FROM (only ARG may come before it)'
      )
    const stage = current as Stage
    stage.instructions.push(rawInstruction(ins, keyword, at, { file, text, lines, expand, fail }))
    if (keyword === 'ENV') {
      for (const p of envProperties(ins)) vars[p.name] = p.value === null ? '' : expand(p.value, at)
    } else if (keyword === 'COPY' || keyword === 'ADD') {
      readCopy(ins, keyword, at, stage, stages, { file, text, lines, expand, fail })
    } else if (keyword === 'ONBUILD') {
      const trigger = (ins as Onbuild).getTriggerInstruction()
      if (trigger) {
        const body = text.slice(offset(lines, trigger.getRange().start), offset(lines, ins.getRange().end))
        stage.onbuild.push({
          text: body.replace(/\\\r?\n/g, ' '),
          origin: `${file}:${at.line} ONBUILD ${trigger.getKeyword().toUpperCase()}`
        })
      }
    } else if (keyword === 'RUN') {
      stage.firstRun ??= at.line
      for (const flag of flagsOf(ins))
        if (flag.getName() === 'mount') readMount(flag, at, stage, stages, expand)
    }
  }
  if (stages.length === 0)
    fail({ line: 1, column: 1 }, 'no FROM instruction', 'add FROM <image> to say what the image builds on')
  const frontend = syntaxImage(doc, buildArgs)
  const syntax = doc
    .getDirectives()
    .find(d => d.getName().toLowerCase() === 'syntax')
    ?.getValue()
  return {
    file,
    stages,
    escape,
    globals: { ...global },
    declared: [...declared].sort(),
    ...(syntax && { syntax }),
    ...(frontend && { frontend })
  }
}

/** The `# syntax=` frontend (BUILDKIT_SYNTAX wins over it, as in BuildKit). */
function syntaxImage(doc: ReturnType<typeof DockerfileParser.parse>, buildArgs: Record<string, string>) {
  if (buildArgs.BUILDKIT_SYNTAX)
    return imageUse('# syntax', buildArgs.BUILDKIT_SYNTAX, { line: 1, column: 1 })
  const d = doc.getDirectives().find(x => x.getName().toLowerCase() === 'syntax')
  const value = d?.getValue()
  return d && value ? imageUse('# syntax', value, place(d.getRange().start)) : undefined
}

/**
 * A parent's ONBUILD instruction, read where the child's stage starts: its sources come from the
 * child's context, with the child's variables.
 */
function runTrigger(
  t: Trigger,
  at: Place,
  stage: Stage,
  stages: Stage[],
  file: string,
  expand: Expand
): void {
  const ins = DockerfileParser.parse(t.text).getInstructions()[0]
  if (!ins) return
  const keyword = ins.getKeyword().toUpperCase()
  const here: Expand = (word, _at, scope) => expand(word, at, scope)
  const fail: Fail = (_p, what, fix) => {
    throw new DockerfileError(file, at.line, at.column, `${t.origin}: ${what}`, fix)
  }
  const c = { file, text: t.text, lines: lineStarts(t.text), expand: here, fail, origin: t.origin }
  if (keyword === 'COPY' || keyword === 'ADD') readCopy(ins, keyword, at, stage, stages, c)
  else if (keyword === 'RUN')
    for (const flag of flagsOf(ins))
      if (flag.getName() === 'mount') readMount(flag, at, stage, stages, here, t.origin)
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

// ---------- FROM, ARG, ENV ----------

/** `ARG NAME[=default] …`: a build-arg wins, then the default, then (in a stage) the global ARG's value. */
function declareArgs(
  ins: Instruction,
  at: Place,
  scope: Record<string, string>,
  global: Record<string, string> | undefined,
  given: (name: string) => string | undefined,
  expand: Expand
): void {
  for (const p of argProperties(ins)) {
    const fallback = p.value !== null ? expand(p.value, at, scope) : global?.[p.name]
    const value = given(p.name) ?? fallback
    if (value !== undefined) scope[p.name] = value
    else delete scope[p.name]
  }
}

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
    fromText: raw,
    needs: [],
    sources: [],
    images: [],
    unlinked: [],
    onbuild: [],
    unknowable: [],
    instructions: []
  }
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

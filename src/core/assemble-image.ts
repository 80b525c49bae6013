// SPEC 7a: an eligible stage's instructions evaluated on its parent's image config, as BuildKit's
// Dockerfile frontend evaluates them: words expanded with the parent's ENV and the stage's ARG/ENV,
// each COPY --link one layer (its sources, destination, mode and owner), the config changed by ENV,
// LABEL, USER, EXPOSE, CMD, ENTRYPOINT, STOPSIGNAL, HEALTHCHECK, VOLUME and WORKDIR. Pure.
import { posix } from 'node:path'
import { goDuration, type Assembly } from './assemble.js'
import type { RawInstruction } from './dockerfile-types.js'
import { expandWord } from './shell-words.js'

/** One COPY --link: its own layer, written from the build context. */
export interface CopyLayer {
  kind: 'copy'
  line: number
  /** Context-relative sources as written after expansion (`app/`, `*.sh`, `.`). */
  sources: string[]
  /** Absolute destination; a trailing `/` (or several sources) makes it a folder. */
  dest: string
  /** `--chmod`, applied to every copied file and folder but the destination folder itself. */
  mode?: number
  uid: number
  gid: number
  createdBy: string
}

/** WORKDIR of a folder that exists (an earlier COPY --link made it, or the parent has it): an empty layer. */
export interface EmptyLayer {
  kind: 'empty'
  line: number
  createdBy: string
}

export type LayerSpec = CopyLayer | EmptyLayer

export interface HistoryEntry {
  created_by: string
  comment: string
  empty_layer?: boolean
}

/** The parts of an image config this module reads and writes; the rest is carried as it is. */
export interface ImageConfigDoc {
  config?: ContainerConfig
  rootfs?: { type?: string; diff_ids?: string[] }
  history?: (HistoryEntry & { created?: string })[]
  [key: string]: unknown
}

export interface ContainerConfig {
  Env?: string[]
  Cmd?: string[] | null
  Entrypoint?: string[] | null
  WorkingDir?: string
  User?: string
  Labels?: Record<string, string>
  ExposedPorts?: Record<string, object>
  Volumes?: Record<string, object>
  StopSignal?: string
  Healthcheck?: Record<string, unknown>
  Shell?: string[]
  OnBuild?: string[] | null
  ArgsEscaped?: boolean
  [key: string]: unknown
}

export interface Evaluated {
  layers: LayerSpec[]
  config: ContainerConfig
  /** One entry an instruction that BuildKit records, layers and config changes in order. */
  history: HistoryEntry[]
}

const COMMENT = 'buildkit.dockerfile.v0'

interface State {
  config: ContainerConfig
  scope: Record<string, string>
  envKeys: Set<string>
  cmdSet: boolean
  created: Set<string>
  out: Evaluated
}

/**
 * Evaluates the assembly's instructions on the parent's config; `labels` (SPEC 4a and 7) go on last.
 * `parentFolders`: folders the parent image is known to have (foldersOf()), where a WORKDIR adds nothing.
 */
export function evaluate(
  a: Assembly,
  parent: ContainerConfig,
  labels: Record<string, string>,
  parentFolders: Iterable<string> = []
): Evaluated {
  const config: ContainerConfig = structuredClone(parent)
  const scope: Record<string, string> = {}
  for (const e of config.Env ?? []) {
    const eq = e.indexOf('=')
    if (eq > 0) scope[e.slice(0, eq)] = e.slice(eq + 1)
  }
  const s: State = {
    config,
    scope,
    envKeys: new Set(Object.keys(scope)),
    cmdSet: false,
    created: new Set(['/', ...parentFolders]),
    out: { layers: [], config, history: [] }
  }
  for (const ins of a.instructions) apply(s, a, ins)
  if (Object.keys(labels).length) config.Labels = { ...config.Labels, ...labels }
  return s.out
}

/**
 * Folders an image is known to have from its config alone: its working folder and those its history's
 * WORKDIRs made (BuildKit and the classic builder create them), with their parents.
 */
export function foldersOf(doc: ImageConfigDoc): string[] {
  const dirs = [doc.config?.WorkingDir ?? '']
  for (const h of doc.history ?? []) {
    const m = /(?:^|#\(nop\)\s+)WORKDIR\s+(\/.*)$/.exec(h.created_by ?? '')
    if (m) dirs.push(m[1])
  }
  const out = new Set<string>()
  for (const dir of dirs.filter(d => d.startsWith('/') && !d.includes('$')))
    for (let d = posix.normalize(dir).replace(/(.)\/+$/, '$1'); d !== '/'; d = posix.dirname(d)) out.add(d)
  return [...out]
}

type Expand = (w: string) => string
type Handler = (s: State, a: Assembly, ins: RawInstruction, x: Expand) => void

/** One history entry; `layer`: the instruction made a layer (else `empty_layer`). */
function note(s: State, createdBy: string, layer = false): void {
  s.out.history.push({ created_by: createdBy, comment: COMMENT, ...(!layer && { empty_layer: true }) })
}

function apply(s: State, a: Assembly, ins: RawInstruction): void {
  const handler = HANDLERS[ins.keyword]
  if (!handler) throw new Error(`${a.dockerfile}:${ins.line}: ${ins.keyword} cannot be assembled`)
  handler(s, a, ins, w => expandWord(w, s.scope, a.escape))
}

const HANDLERS: Record<string, Handler> = {
  ARG(s, a, ins, x) {
    for (const p of ins.properties) {
      const v = a.buildArgs[p.name] ?? (p.raw !== null ? x(p.raw) : a.globals[p.name])
      if (v !== undefined && !s.envKeys.has(p.name)) s.scope[p.name] = v
    }
  },
  ENV(s, _a, ins, x) {
    const pairs = ins.properties.map(p => [p.name, p.raw === null ? '' : x(p.raw)] as const)
    for (const [k, v] of pairs) {
      s.scope[k] = v
      s.envKeys.add(k)
      const env = s.config.Env ?? []
      const i = env.findIndex(e => e.startsWith(`${k}=`))
      if (i >= 0) env[i] = `${k}=${v}`
      else env.push(`${k}=${v}`)
      s.config.Env = env
    }
    note(s, `ENV ${pairs.map(([k, v]) => `${k}=${v}`).join(' ')}`)
  },
  LABEL(s, _a, ins, x) {
    const pairs = ins.properties.map(p => [x(p.name), p.raw === null ? '' : x(p.raw)] as const)
    s.config.Labels = { ...s.config.Labels, ...Object.fromEntries(pairs) }
    note(s, `LABEL ${pairs.map(([k, v]) => `${k}=${v}`).join(' ')}`)
  },
  USER(s, _a, ins, x) {
    s.config.User = x(ins.words.join(' '))
    note(s, `USER ${s.config.User}`)
  },
  EXPOSE(s, _a, ins, x) {
    const ports = ins.words.map(w => x(w).toLowerCase()).map(p => (p.includes('/') ? p : `${p}/tcp`))
    s.config.ExposedPorts = { ...s.config.ExposedPorts, ...Object.fromEntries(ports.map(p => [p, {}])) }
    note(s, `EXPOSE map[${ports.map(p => `${p}:{}`).join(' ')}]`)
  },
  CMD(s, _a, ins) {
    s.config.Cmd = ins.json ?? [...shellOf(s.config), ins.shell]
    s.config.ArgsEscaped = true
    s.cmdSet = true
    note(s, `CMD ${JSON.stringify(s.config.Cmd)}`)
  },
  ENTRYPOINT(s, _a, ins) {
    s.config.Entrypoint = ins.json ?? [...shellOf(s.config), ins.shell]
    if (!s.cmdSet) s.config.Cmd = null
    note(s, `ENTRYPOINT ${JSON.stringify(s.config.Entrypoint)}`)
  },
  STOPSIGNAL(s, _a, ins, x) {
    s.config.StopSignal = x(ins.words[0] ?? '')
    note(s, `STOPSIGNAL ${s.config.StopSignal}`)
  },
  HEALTHCHECK(s, _a, ins) {
    s.config.Healthcheck = healthcheck(ins)
    note(s, `HEALTHCHECK ${JSON.stringify(s.config.Healthcheck)}`)
  },
  VOLUME(s, _a, ins, x) {
    const list = (ins.json ?? ins.words).map(x)
    s.config.Volumes = { ...s.config.Volumes, ...Object.fromEntries(list.map(v => [v, {}])) }
    note(s, `VOLUME ${JSON.stringify(list)}`)
  },
  WORKDIR(s, a, ins, x) {
    // As BuildKit keeps it: an absolute path as written (`/srv/` stays), a relative one joined and cleaned.
    const requested = x(ins.words.join(' '))
    const wd = requested.startsWith('/') ? requested : posix.join('/', s.config.WorkingDir || '/', requested)
    s.config.WorkingDir = wd
    const dir = posix.normalize(wd).replace(/(.)\/+$/, '$1')
    if (dir === '/') return note(s, `WORKDIR ${wd}`)
    if (!s.created.has(dir)) {
      throw new Error(
        `${a.dockerfile}:${ins.line}: WORKDIR ${wd} is no folder this stage made or the parent image has`
      )
    }
    s.out.layers.push({ kind: 'empty', line: ins.line, createdBy: `WORKDIR ${wd}` })
    note(s, `WORKDIR ${wd}`, true)
  },
  COPY(s, a, ins, x) {
    const layer = copyLayer(s, a, ins, x)
    s.out.layers.push(layer)
    note(s, layer.createdBy, true)
  }
}

function copyLayer(s: State, a: Assembly, ins: RawInstruction, x: Expand): CopyLayer {
  const words = (ins.json ?? ins.words).map(w => (ins.json ? w : x(w)))
  const sources = words.slice(0, -1)
  let dest = words[words.length - 1]
  const dir = dest.endsWith('/') || dest === '.' || sources.length > 1
  dest = absolute(s.config.WorkingDir, dest)
  dest = dest.length > 1 ? dest.replace(/\/+$/, '') : dest
  const flag = (n: string): string | undefined => ins.flags.find(f => f.name === n)?.value ?? undefined
  const chmod = flag('chmod')
  const [uid, gid] = (flag('chown') ?? '0').split(':').map(Number)
  const made = dir ? dest : posix.dirname(dest)
  for (let d = made; d !== '/'; d = posix.dirname(d)) s.created.add(d)
  const flags = [
    ...(flag('chown') ? [`--chown=${flag('chown')}`] : []),
    ...(chmod ? [`--chmod=${chmod}`] : [])
  ]
  return {
    kind: 'copy',
    line: ins.line,
    sources,
    dest: dir && dest !== '/' ? `${dest}/` : dest,
    ...(chmod !== undefined && { mode: parseInt(chmod, 8) }),
    uid,
    gid: gid ?? uid,
    createdBy: `COPY ${[...flags, ...words].join(' ')} # buildkit`
  }
}

/** A path as BuildKit resolves it against the working folder: absolute ones as they are. */
function absolute(workdir: string | undefined, path: string): string {
  return posix.normalize(path.startsWith('/') ? path : posix.join(workdir || '/', path))
}

function shellOf(c: ContainerConfig): string[] {
  return c.Shell && c.Shell.length ? c.Shell : ['/bin/sh', '-c']
}

/** HEALTHCHECK NONE | [--flags] CMD …, as the image config holds it (durations in nanoseconds). */
function healthcheck(ins: RawInstruction): Record<string, unknown> {
  if (ins.words[0]?.toUpperCase() === 'NONE') return { Test: ['NONE'] }
  const rest = ins.shell.replace(/^\s*CMD\s*/i, '')
  let test: string[] = ['CMD-SHELL', rest]
  if (rest.startsWith('[')) {
    try {
      const list: unknown = JSON.parse(rest)
      if (Array.isArray(list) && list.every(v => typeof v === 'string')) test = ['CMD', ...(list as string[])]
    } catch {
      test = ['CMD-SHELL', rest]
    }
  }
  const out: Record<string, unknown> = { Test: test }
  const names: Record<string, string> = {
    interval: 'Interval',
    timeout: 'Timeout',
    'start-period': 'StartPeriod',
    'start-interval': 'StartInterval'
  }
  for (const f of ins.flags) {
    if (f.name === 'retries') out.Retries = Number(f.value)
    else if (names[f.name] && f.value) {
      const ns = goDuration(f.value)
      if (ns) out[names[f.name]] = ns
    }
  }
  if (out.Retries === 0) delete out.Retries
  return out
}

/** The new image's config: the parent's, with the evaluated config, the new layers and their history. */
export function imageConfig(
  parent: ImageConfigDoc,
  e: Evaluated,
  diffIds: string[],
  created: string
): ImageConfigDoc {
  return {
    ...parent,
    created,
    config: e.config,
    rootfs: { type: 'layers', diff_ids: [...(parent.rootfs?.diff_ids ?? []), ...diffIds] },
    history: [...(parent.history ?? []), ...e.history.map(h => ({ created, ...h }))]
  }
}

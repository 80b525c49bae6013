// Reading `--progress=plain` output: steps, cached steps, bytes pulled and pushed, cache exports
// (ProgressCounter), and a bake session's output split by the target each vertex belongs to
// (BakeProgress). Pure: lines in, figures out.

// A size as the plain progress prints it (`946B`, `3.50kB`, `64.02MB`): decimal units, 2 decimals.
const SIZE = String.raw`(\d+(?:\.\d+)?)(B|kB|MB|GB|TB)`
const UNIT: Record<string, number> = { B: 1, kB: 1e3, MB: 1e6, GB: 1e9, TB: 1e12 }
// `<current>`, `<current> / <total>` or `/ <total>` (a zero current is not printed), then time, done.
const AMOUNT = String.raw`(?: ${SIZE})?(?: / ${SIZE})?(?: \d+(?:\.\d+)?s)?(?: done)?\s*$`
// A blob fetched from a registry: a parent's layers under its FROM step, cache blobs under the
// step they serve (`#5 sha256:<hex> 15.73MB / 64.02MB 0.2s`, then `… 64.02MB / 64.02MB 0.5s done`).
const PULL = new RegExp(String.raw`^#\d+ sha256:([0-9a-f]{64})${AMOUNT}`)
// The engine's own push (docker driver, classic image store): `#8 pushing layer ede921545ab2 5.64MB / 6.00MB 0.3s`.
const PUSH = new RegExp(String.raw`^#\d+ pushing layer ([0-9a-f]{12})${AMOUNT}`)

// A cache export's vertex and the blobs it writes (a size shows only while an upload is under way).
const EXPORT = /^#(\d+) (?:\[[^\]]*\] )?exporting cache to (.*)$/
const WRITE = new RegExp(String.raw`^#\d+ writing layer sha256:([0-9a-f]{64})${AMOUNT}`)

/** One `--cache-to` export as the progress showed it. */
export interface CacheExport {
  kind: 'registry' | 'local' | 'gha'
  seconds?: number
  /** Blobs written (layers; the config and cache manifest are not counted). */
  blobs: number
  /** Bytes of those blobs where the progress printed a size (large uploads); 0 when it printed none. */
  bytes: number
}

const bytesOf = (n?: string, unit?: string): number => (n && unit ? Math.round(Number(n) * UNIT[unit]) : 0)

/**
 * Reads `--progress=plain` output: `[n/m]` steps and the ones reported `CACHED`, and the bytes
 * pulled and pushed, each blob counted once at the largest size shown for it.
 */
export class ProgressCounter {
  private steps = new Set<string>()
  private cachedIds = new Set<string>()
  private pulled = new Map<string, number>()
  private pushed = new Map<string, number>()
  private exports = new Map<
    string,
    { kind: CacheExport['kind']; blobs: Map<string, number>; seconds?: number }
  >()

  add(line: string): void {
    this.addExport(line)
    const step = /^#(\d+) \[(?:[^\]]* )?\d+\/\d+\] /.exec(line)
    if (step) this.steps.add(step[1])
    const cached = /^#(\d+) CACHED\s*$/.exec(line)
    if (cached) this.cachedIds.add(cached[1])
    for (const [re, seen] of [
      [PULL, this.pulled],
      [PUSH, this.pushed]
    ] as const) {
      const m = re.exec(line)
      if (!m) continue
      const size = Math.max(bytesOf(m[2], m[3]), bytesOf(m[4], m[5]))
      if (size > 0) seen.set(m[1], Math.max(size, seen.get(m[1]) ?? 0))
    }
  }

  /** `#N [target] exporting cache to registry`, its `writing layer` blobs and its `DONE <s>`. */
  private addExport(line: string): void {
    const head = EXPORT.exec(line)
    if (head) {
      const kind = /registry/.test(head[2]) ? 'registry' : /client directory/.test(head[2]) ? 'local' : 'gha'
      if (!this.exports.has(head[1])) this.exports.set(head[1], { kind, blobs: new Map() })
      return
    }
    const id = /^#(\d+) /.exec(line)?.[1]
    const e = id ? this.exports.get(id) : undefined
    if (!e) return
    const done = /^#\d+ DONE (\d+(?:\.\d+)?)s\s*$/.exec(line)
    if (done) e.seconds = Number(done[1])
    const blob = WRITE.exec(line)
    if (blob)
      e.blobs.set(
        blob[1],
        Math.max(bytesOf(blob[2], blob[3]), bytesOf(blob[4], blob[5]), e.blobs.get(blob[1]) ?? 0)
      )
  }

  /** Each cache export of the build: its kind, seconds, blobs written and the bytes the progress showed. */
  get cacheExports(): CacheExport[] {
    return [...this.exports.values()].map(e => ({
      kind: e.kind,
      ...(e.seconds !== undefined && { seconds: e.seconds }),
      blobs: e.blobs.size,
      bytes: sum(e.blobs)
    }))
  }

  get total(): number {
    return this.steps.size
  }

  get cached(): number {
    return [...this.steps].filter(id => this.cachedIds.has(id)).length
  }

  /** Always a number: BuildKit prints every blob it fetches, with its size. */
  get bytesPulled(): number {
    return sum(this.pulled)
  }

  /** Undefined when no push line showed a size (BuildKit's own push prints none). */
  get bytesPushed(): number | undefined {
    return this.pushed.size ? sum(this.pushed) : undefined
  }
}

function sum(sizes: Map<string, number>): number {
  return [...sizes.values()].reduce((a, b) => a + b, 0)
}

/** A target of the session: its parents in the session and its Dockerfile's text (to tell whose a step is). */
export interface ProgressTarget {
  name: string
  parents: string[]
  dockerfile?: string
}

/** Whitespace runs (and line continuations) as one space: progress prints an instruction on one line. */
const squash = (text: string): string =>
  text
    .replace(/\\\r?\n/g, ' ')
    .replace(/\s+/g, ' ')
    .trim()

/** How one target's image export ended, as the progress showed it. */
export interface TargetExport {
  /** `DONE`: the image was exported (pushed or loaded); `CANCELED`/`ERROR`: it was not. */
  state: 'done' | 'canceled' | 'error' | 'running'
  /** The pushed (else exported) manifest or index digest. */
  digest?: string
}

/**
 * A bake session's plain progress, split by target. With several targets, buildx names each vertex
 * `[<target> …]`; a vertex that two targets share is named after whichever asked for it, so the
 * split follows BuildKit's naming. A one-target session carries no prefix: everything is that target's.
 */
export class BakeProgress {
  private readonly byTarget = new Map<string, { lines: string[]; counter: ProgressCounter }>()
  private readonly owner = new Map<string, string>()
  private readonly exportsOf = new Map<string, TargetExport>()
  private readonly exportVertex = new Map<string, string>()
  private readonly spans = new Map<string, { first: number; last: number }>()
  private prevId?: string
  private prevBlank = true
  /** Lines of no target: the session's own vertices and the error summary after the last vertex. */
  readonly session: string[] = []
  /** The target whose vertex printed `ERROR:`, and the `<Dockerfile>:<line>` of the error summary. */
  private errorTarget?: string
  private summaryTarget?: string
  errorDockerfile?: string
  /** The last `ERROR:` line (the summary's), else the last vertex error. */
  lastError?: string

  private readonly targets: string[]
  private readonly info: Map<string, ProgressTarget>

  /** Targets in build order (parents first). */
  constructor(targets: (string | ProgressTarget)[]) {
    const list = targets.map(t => (typeof t === 'string' ? { name: t, parents: [] } : t))
    this.targets = list.map(t => t.name)
    this.info = new Map(list.map(t => [t.name, t]))
    for (const t of this.targets) this.byTarget.set(t, { lines: [], counter: new ProgressCounter() })
  }

  /**
   * The target a step belongs to: BuildKit names a step that a child's session also asked for after
   * either target, so the step goes to the first of the named target and its ancestors (parents
   * first) whose Dockerfile has that instruction.
   */
  private ownerOf(label: string, step: string): string {
    const lineage: string[] = []
    const add = (n: string): void => {
      if (lineage.includes(n) || !this.info.has(n)) return
      this.info.get(n)?.parents.forEach(add)
      lineage.push(n)
    }
    add(label)
    const instruction = squash(step)
    return lineage.find(n => squash(this.info.get(n)?.dockerfile ?? '').includes(instruction)) ?? label
  }

  /** One output line; `at` (ms, any clock) times each target from its first line to its last. */
  add(line: string, at?: number): void {
    const vertex = /^#(\d+) (.*)$/.exec(line)
    if (!vertex) {
      this.addOther(line)
      return
    }
    const [, id, rest] = vertex
    // A vertex block starts after a blank line or another vertex's line, with the vertex's name.
    if (this.prevBlank || this.prevId !== id) {
      const named = /^\[([^\] ]+)(?: \d+\/\d+\] (.*)|[\] ])/.exec(rest)
      const label = named?.[1]
      const known = label !== undefined && this.byTarget.has(label)
      const single = this.targets.length === 1 ? this.targets[0] : undefined
      // A line without a `[…]` name keeps the vertex's owner: only a name says whose it is.
      const kept = label === undefined ? this.owner.get(id) : undefined
      const target = known ? (named?.[2] ? this.ownerOf(label, named[2]) : label) : (single ?? kept)
      if (target) this.owner.set(id, target)
      else this.owner.delete(id)
      if (
        target &&
        /^(?:\[[^\]]*\] )?exporting to (?:image|docker image format|oci image format)/.test(rest)
      ) {
        this.exportVertex.set(id, target)
        if (!this.exportsOf.has(target)) this.exportsOf.set(target, { state: 'running' })
      }
    }
    this.prevId = id
    this.prevBlank = false
    const target = this.owner.get(id)
    if (target) {
      const t = this.byTarget.get(target) as { lines: string[]; counter: ProgressCounter }
      t.lines.push(line)
      t.counter.add(line)
      if (at !== undefined) {
        const span = this.spans.get(target)
        this.spans.set(target, { first: span?.first ?? at, last: at })
      }
    } else this.session.push(line)
    // A target that bake stopped because another failed reports `context canceled`: not the cause.
    if (rest.startsWith('ERROR:') && !/context canceled/.test(rest)) {
      this.errorTarget ??= target
      this.lastError = rest
    }
    this.addExportLine(id, rest)
  }

  private addOther(line: string): void {
    this.prevBlank = line.trim() === ''
    if (this.prevBlank) return
    this.session.push(line)
    const file = /^(\S+):(\d+)$/.exec(line.trim())
    if (file && !this.errorDockerfile) this.errorDockerfile = file[1]
    // The error summary names the failing step: ` > [tooling 1/2] RUN …:`.
    const step = /^ > \[([^\] ]+) \d+\/\d+\] (.*):$/.exec(line)
    if (step && this.info.has(step[1])) this.summaryTarget ??= this.ownerOf(step[1], step[2])
    if (line.startsWith('ERROR:')) this.lastError = line
  }

  private addExportLine(id: string, rest: string): void {
    const target = this.exportVertex.get(id)
    const e = target ? this.exportsOf.get(target) : undefined
    if (!e) return
    const pushed = /^pushing manifest for \S+@(sha256:[0-9a-f]{64})/.exec(rest)
    const exported = /^exporting manifest(?: list)? (sha256:[0-9a-f]{64})/.exec(rest)
    if (pushed) e.digest = pushed[1]
    else if (exported && !/^exporting manifest (sha256)/.test(rest)) e.digest = exported[1]
    else if (exported) e.digest ??= exported[1]
    if (/^DONE\b/.test(rest)) e.state = 'done'
    else if (/^CANCELED\b/.test(rest)) e.state = 'canceled'
    else if (/^ERROR\b/.test(rest)) e.state = 'error'
  }

  /** The target of the failing step: the error summary's, else the first vertex that printed `ERROR:`. */
  get failedStep(): string | undefined {
    return this.summaryTarget ?? this.errorTarget
  }

  /** ms from `target`'s first line to its last (targets of a session overlap); undefined without times. */
  durationOf(target: string): number | undefined {
    const span = this.spans.get(target)
    return span && span.last - span.first
  }

  /** The lines of `target`'s vertices, in the order they came. */
  lines(target: string): string[] {
    return this.byTarget.get(target)?.lines ?? []
  }

  counter(target: string): ProgressCounter {
    return this.byTarget.get(target)?.counter ?? new ProgressCounter()
  }

  /** How `target`'s image export ended; undefined when it never started. */
  exportOf(target: string): TargetExport | undefined {
    return this.exportsOf.get(target)
  }
}

// The docker driver reaches dockerd's BuildKit over one hijacked connection that cannot be dialled
// again: when it drops, gRPC's redial fails with this, before or between the session's steps.
const BUILDER_CONNECTION_LOST =
  /rpc error: code = Unavailable desc = .*(only one connection allowed|transport: Error while dialing)/

// A step that failed on its own: BuildKit's error summary (` > [tooling 2/2] RUN …:`) or a RUN's exit.
const STEP_FAILED = /^ > \[[^\]]+ \d+\/\d+\] |did not complete successfully: exit code/

/**
 * Whether a failed session's output says the connection to the builder was lost and no step failed
 * on its own: then no step can be blamed, and the session is worth running once more (no moving tag
 * was moved; the build is the same). A connection that drops as bake stops after a failed step is
 * not the cause: running again would fail the same way.
 */
export function builderConnectionLost(lines: readonly string[]): boolean {
  return causedOnlyBy(BUILDER_CONNECTION_LOST, lines)
}

/** Some line matches `cause` and no step failed on its own (which would fail a second run the same way). */
function causedOnlyBy(cause: RegExp, lines: readonly string[]): boolean {
  return lines.some(l => cause.test(l)) && !lines.some(l => STEP_FAILED.test(l))
}

// A registry's server error as BuildKit reports a push or a look-up of it; Distribution answers a HEAD
// of a tag that a PUT is writing at that moment with 500 ("invalid checksum digest format").
const SERVER_ERROR_STATUS =
  /\b50[0-4] (Internal Server Error|Bad Gateway|Service Unavailable|Gateway Timeout)\b/
const REGISTRY_SERVER_ERROR = new RegExp(`^(#\\d+ )?ERROR: .*${SERVER_ERROR_STATUS.source}`)

/**
 * Whether a failed session's output says a registry answered with a server error (5xx) and no step
 * failed on its own: worth running once more (the built results are cached, the pushes are the same
 * bytes, no moving tag was moved). A registry that stays down fails the retry the same way.
 */
export function registryServerError(lines: readonly string[]): boolean {
  return causedOnlyBy(REGISTRY_SERVER_ERROR, lines)
}

/**
 * Whether `docker push` failed on a registry's server error (its last error line names a 5xx status):
 * the same race as in a session, worth one more push of the same bytes.
 */
export function pushServerError(lastErrorLine: string | undefined): boolean {
  return SERVER_ERROR_STATUS.test(lastErrorLine ?? '')
}

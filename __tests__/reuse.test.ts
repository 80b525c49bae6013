// SPEC 4a end to end over a real git work tree: a pull request builds tooling, the merge push reuses
// it, a revert reuses the older image, a scheduled run builds nothing until an external image moves.
// The registry is an in-memory `Registry` (tags → digest and labels); a tiny build step stands in for
// the bake: it pushes each built layer's versioned tags (input tag among them) with SPEC 4a's labels,
// then moves the moving tags, as SPEC 7 says.
import { afterAll, beforeAll, expect, test } from '@jest/globals'
import { createHash } from 'node:crypto'
import { commitFiles, makeRepo } from '../__fixtures__/github-api-server.js'
import { config, eventContext, from, IMAGE, layer } from '../__fixtures__/layers.js'
import { createContentIds } from '../src/adapters/content-ids.js'
import { createGit } from '../src/adapters/git.js'
import { decide } from '../src/core/plan.js'
import { inputLabels, sameInputsRetags } from '../src/core/same-inputs.js'
import type {
  ChangeSet,
  DecisionDraft,
  EventContext,
  ImageInfo,
  LayerConfig,
  Logger,
  Plan,
  Registry,
  StrataConfig
} from '../src/core/types.js'
import { applySameInputs, levels } from '../src/plan/reuse.js'
import type { LayerMaterial } from '../src/plan/reuse.js'

const MISE = 'docker/scripts/install-mise.sh'
let repo: ReturnType<typeof makeRepo>
beforeAll(() => {
  repo = makeRepo({
    files: {
      'Dockerfile.base': 'FROM busybox:1\n',
      'Dockerfile.tooling': 'ARG BASE_IMAGE\nFROM ${BASE_IMAGE}\nCOPY docker/scripts/ /s/\n',
      Dockerfile: 'ARG TOOLING_IMAGE\nFROM ${TOOLING_IMAGE}\nCOPY app.txt /\n',
      [MISE]: 'echo mise 1\n',
      'app.txt': 'app\n'
    }
  })
})
afterAll(() => repo.cleanup())

function cfg(over: Partial<Record<string, Partial<LayerConfig>>> = {}): StrataConfig {
  return config([
    // `paths` as issue 11 would derive them from the Dockerfiles.
    layer('base', { paths: ['Dockerfile.base'], ...over.base }),
    layer('tooling', {
      from: from('base'),
      paths: ['Dockerfile.tooling', 'docker/scripts/'],
      ...over.tooling
    }),
    layer('app', {
      dockerfile: 'Dockerfile',
      from: from('tooling'),
      paths: ['Dockerfile', 'app.txt'],
      ...over.app
    })
  ])
}
const BUSYBOX = { old: 'sha256:' + 'b'.repeat(64), moved: 'sha256:' + 'c'.repeat(64) }
const material = (busybox = BUSYBOX.old): Record<string, LayerMaterial> => ({
  base: { files: ['Dockerfile.base'], externals: { 'busybox:1': busybox } },
  tooling: { files: ['Dockerfile.tooling', MISE], externals: {} },
  app: { files: ['Dockerfile', 'app.txt'], externals: {} }
})

/** tags (`image:tag`) → image; digests made up from what was built. */
class MemoryRegistry implements Registry {
  images = new Map<string, { digest: string; labels: Record<string, string> }>()
  async inspect(ref: string): Promise<ImageInfo | null> {
    const i = this.images.get(ref)
    return i ? { digest: i.digest } : null
  }
  async retag(source: string, targets: string[]): Promise<void> {
    const digest = source.slice(source.lastIndexOf('@') + 1)
    const image = [...this.images.values()].find(i => i.digest === digest)
    if (!image) throw new Error(`no ${source}`)
    for (const t of targets) this.images.set(t, image)
  }
  async labels(ref: string): Promise<Record<string, string> | null> {
    return this.images.get(ref)?.labels ?? null
  }
  async putIndex(): Promise<string> {
    throw new Error('the reuse flow puts no index')
  }
}

const log: Logger = {
  info: () => undefined,
  notice: () => undefined,
  warning: m => {
    throw new Error(`unexpected warning: ${m}`)
  },
  group: (_n, fn) => fn()
}
let counter = 0

async function plan(
  registry: MemoryRegistry,
  c: StrataConfig,
  ctx: EventContext,
  changes: ChangeSet,
  busybox?: string
): Promise<Plan> {
  const stableExists: Record<string, boolean> = {}
  const decided = decide({ config: c, ctx, changes, force: [], stableExists: {} })
  for (const [n, d] of Object.entries(decided.layers)) stableExists[n] = registry.images.has(d.stable!)
  const p = decide({ config: c, ctx, changes, force: [], stableExists })
  for (const d of Object.values(p.layers) as DecisionDraft[]) {
    const found = registry.images.get(d.stable!)
    if (!d.build && found) d.ref = `${d.stable}@${found.digest}`
  }
  return applySameInputs(
    p,
    c,
    ctx,
    material(busybox),
    { workspace: repo.dir, buildArgs: {} },
    {
      registry,
      contentIds: createContentIds(repo.dir, createGit(repo.dir)),
      log
    }
  )
}

/** What the build step does with the plan: build parents first, push versioned, then move moving tags. */
async function build(
  registry: MemoryRegistry,
  c: StrataConfig,
  ctx: EventContext,
  p: Plan,
  busybox?: string
) {
  const layers = { ...p.layers }
  const built: string[] = []
  for (const name of levels(c).flat()) {
    const d = layers[name]
    if (!d.build) continue
    // The plan knows every input digest (a parent counts by its own), and its input tag is versioned.
    const inputs = d.inputs!
    expect(d.versioned).toContain(`${IMAGE}:${name}-inputs-${inputs.slice(7, 23)}`)
    const digest = `sha256:${createHash('sha256').update(`${name} ${inputs} ${counter++}`).digest('hex')}`
    const image = { digest, labels: inputLabels(inputs, material(busybox)[name].externals, ctx) }
    const t = d
    for (const tag of t.versioned!) registry.images.set(tag, image)
    layers[name] = { ...t, build: false, ref: `${t.versioned![0]}@${digest}` }
    built.push(name)
  }
  for (const [name, d] of Object.entries(layers)) {
    if (built.includes(name)) await registry.retag(d.ref!, d.moving ?? [])
  }
  for (const r of sameInputsRetags(p.layers)) await registry.retag(r.source, r.targets)
  return built
}

const MAIN = eventContext()
const PR = eventContext({
  eventName: 'pull_request',
  ref: 'refs/pull/42/merge',
  branch: 'mise-2',
  isDefaultBranch: false,
  pr: {
    number: 42,
    headSha: 'f'.repeat(40),
    headRef: 'mise-2',
    baseSha: 'e'.repeat(40),
    baseRef: 'main',
    fork: false
  }
})
const SCHEDULE = eventContext({ eventName: 'schedule' })
const changed = (...paths: string[]): ChangeSet => ({
  source: 'api',
  files: paths.map(path => ({ path, status: 'modified' as const }))
})
const NONE: ChangeSet = { source: 'none', files: [] }
const summary = (p: Plan): Record<string, [boolean, string[], string | undefined]> =>
  Object.fromEntries(Object.entries(p.layers).map(([n, d]) => [n, [d.build, d.reasons, d.sameInputs]]))
const tagged = (r: MemoryRegistry, tag: string): string | undefined => r.images.get(`${IMAGE}:${tag}`)?.digest

test('PR builds tooling; the merge reuses it; a schedule builds nothing; a revert reuses the older image; a moved external rebuilds', async () => {
  const r = new MemoryRegistry()
  // SPEC 4a's label-based reuse on an in-memory registry (no attestations there): `reuse: any`.
  // The signed flow (SPEC 4b) is __tests__/same-inputs.itg.test.ts and __tests__/trust.itg.test.ts.
  const any = { reuse: 'any' as const }
  const c = cfg({ base: any, tooling: any, app: any })
  // Bootstrap on main: nothing in the registry.
  expect(await build(r, c, MAIN, await plan(r, c, MAIN, NONE))).toEqual(['base', 'tooling', 'app'])
  const tooling1 = tagged(r, 'tooling-stable')!

  // The pull request changes install-mise.sh: tooling and app build, no stable tag moves.
  commitFiles(repo.dir, { [MISE]: 'echo mise 2\n' }, 'mise 2')
  const pr = await plan(r, c, PR, changed(MISE))
  expect(summary(pr)).toEqual({
    base: [false, [], undefined],
    tooling: [true, ['1 changed file matches'], undefined],
    app: [true, ['parent tooling rebuilt'], undefined]
  })
  expect(pr.layers.base.inputs).toMatch(/^sha256:[0-9a-f]{64}$/)
  expect(pr.layers.app.inputs).toMatch(/^sha256:[0-9a-f]{64}$/) // its parent counts by its input digest
  await build(r, c, PR, pr)
  expect(tagged(r, 'tooling-stable')).toBe(tooling1)
  const toolingPr = tagged(r, 'tooling-pr-42-3f2a9c1')!

  // The merge push: same files. Nothing builds; tooling-stable and latest move to the PR's images.
  const merge = await plan(r, c, MAIN, changed(MISE))
  expect(summary(merge)).toEqual({
    base: [false, [], undefined],
    tooling: [
      false,
      ['1 changed file matches'],
      `${IMAGE}:tooling-inputs-${merge.layers.tooling.inputs!.slice(7, 23)}@${toolingPr}`
    ],
    app: [
      false,
      ['inputs changed since latest'],
      `${IMAGE}:app-inputs-${merge.layers.app.inputs!.slice(7, 23)}@${tagged(r, 'pr-42-3f2a9c1')}`
    ]
  })
  expect(merge.layers.tooling.ref).toBe(merge.layers.tooling.sameInputs)
  expect(await build(r, c, MAIN, merge)).toEqual([])
  expect(tagged(r, 'tooling-stable')).toBe(toolingPr)
  expect(tagged(r, 'latest')).toBe(tagged(r, 'pr-42-3f2a9c1'))

  // A scheduled run with nothing moved builds nothing.
  const quiet = await plan(r, c, SCHEDULE, NONE)
  expect(Object.values(quiet.layers).map(d => d.build)).toEqual([false, false, false])

  // A revert: the first tooling image had exactly these inputs; it is reused, not rebuilt.
  commitFiles(repo.dir, { [MISE]: 'echo mise 1\n' }, 'revert')
  const revert = await plan(r, c, MAIN, changed(MISE))
  expect(revert.layers.tooling.build).toBe(false)
  expect(revert.layers.tooling.sameInputs).toBe(
    `${IMAGE}:tooling-inputs-${revert.layers.tooling.inputs!.slice(7, 23)}@${tooling1}`
  )
  await build(r, c, MAIN, revert)
  expect(tagged(r, 'tooling-stable')).toBe(tooling1)

  // busybox:1 moved: the schedule rebuilds base and, through it, its children.
  const moved = await plan(r, c, SCHEDULE, NONE, BUSYBOX.moved)
  expect(summary(moved)).toEqual({
    base: [true, ['inputs changed since base-stable (busybox:1 moved)'], undefined],
    tooling: [true, ['parent base rebuilt'], undefined],
    app: [true, ['parent tooling rebuilt'], undefined]
  })
})

test('reuse: default-branch does not take a pull request’s image; an always layer still builds', async () => {
  const r = new MemoryRegistry()
  const c = cfg({ tooling: { reuse: 'default-branch' }, app: { always: true } })
  commitFiles(repo.dir, { [MISE]: 'echo mise 3\n' }, 'mise 3 base')
  await build(r, c, MAIN, await plan(r, c, MAIN, NONE))
  commitFiles(repo.dir, { [MISE]: 'echo mise 4\n' }, 'mise 4')
  await build(r, c, PR, await plan(r, c, PR, changed(MISE)))
  const merge = await plan(r, c, MAIN, changed(MISE))
  expect(summary(merge)).toEqual({
    base: [false, [], undefined],
    tooling: [true, ['1 changed file matches'], undefined],
    app: [true, ['parent tooling rebuilt', 'always'], undefined]
  })
})

// Issue 17: a file that cannot be read takes the digest of its own layer (and of the layers built on
// it) only; this test said every layer lost its digest, a needless give-up.
test('an input file that cannot be read: one warning naming it; that layer and its children have no digest, others keep theirs', async () => {
  const r = new MemoryRegistry()
  const c = cfg()
  const warnings: string[] = []
  const p = decide({ config: c, ctx: MAIN, changes: changed(MISE), force: [], stableExists: {} })
  const out = await applySameInputs(
    p,
    c,
    MAIN,
    { ...material(), tooling: { files: ['missing.sh'], externals: {} } },
    { workspace: repo.dir, buildArgs: {} },
    {
      registry: r,
      contentIds: createContentIds(repo.dir, createGit(repo.dir)),
      log: { ...log, warning: m => void warnings.push(m) }
    }
  )
  const missing = `input file "missing.sh" does not exist in the workspace (${repo.dir})`
  expect(warnings).toEqual([`tooling: no input digest: ${missing}`])
  expect(out.layers.base.inputs).toMatch(/^sha256:[0-9a-f]{64}$/)
  expect([out.layers.tooling.inputs, out.layers.tooling.noDigest]).toEqual([
    undefined,
    `no input digest: ${missing}`
  ])
  expect([out.layers.app.inputs, out.layers.app.noDigest]).toEqual([
    undefined,
    'no input digest: parent tooling has none'
  ])
  expect(Object.values(out.layers).map(d => d.build)).toEqual(Object.values(p.layers).map(d => d.build))
})

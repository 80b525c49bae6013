import {
  decideSameInputs,
  syncParentReasons,
  inputLabels,
  refLabel,
  reusableReasons,
  sameInputsRetags,
  withInputTag
} from '../../src/core/same-inputs.js'
import type { FoundImage, SameInputsFacts, SameInputsOptions } from '../../src/core/same-inputs.js'
import type { LayerDecision } from '../../src/core/types.js'
import { eventContext, from, IMAGE, layer, SHA } from '../../__fixtures__/layers.js'

const INPUTS = 'sha256:3f2a9c1d4e5f6a7b' + '1'.repeat(48)
const OTHER = 'sha256:' + '9'.repeat(64)
const FOUND_DIGEST = 'sha256:' + 'f'.repeat(64)
const STABLE_DIGEST = 'sha256:' + 'e'.repeat(64)
const STABLE = `${IMAGE}:tooling-stable`
const SAME = `${IMAGE}:tooling-inputs-3f2a9c1d4e5f6a7b@${FOUND_DIGEST}`
const LINE = (reasons: string): string =>
  `tooling: reuse — ${reasons}, but tooling-inputs-3f2a9c1d4e5f6a7b has the same inputs`

const labels = (
  inputs: string,
  ref = 'main',
  externals = '{"ubuntu:24.04":"sha256:aa"}'
): Record<string, string> => ({
  'dev.strata.inputs': inputs,
  'dev.strata.ref': ref,
  'dev.strata.externals': externals
})
const found = (l: Record<string, string> | null = labels(INPUTS)): FoundImage => ({
  digest: FOUND_DIGEST,
  labels: l
})
const stable = (l: Record<string, string> | null): FoundImage => ({ digest: STABLE_DIGEST, labels: l })

function decision(reasons: string[]): LayerDecision {
  const build = reasons.length > 0
  return {
    build,
    reasons,
    matches: [],
    tags: [`${IMAGE}:tooling-${SHA.slice(0, 7)}`, STABLE],
    selected: true,
    stable: STABLE,
    ...(!build && { ref: `${STABLE}@${STABLE_DIGEST}` })
  }
}
const OPTS: SameInputsOptions = { reuse: 'any', defaultBranch: 'main', stable: STABLE, image: IMAGE }
const FACTS: SameInputsFacts = {
  inputs: INPUTS,
  stable: stable(labels(OTHER)),
  found: found(),
  externals: { 'ubuntu:24.04': 'sha256:aa' }
}

interface Row {
  reasons: string[]
  facts?: Partial<SameInputsFacts>
  opts?: Partial<SameInputsOptions>
  build: boolean
  wantReasons?: string[]
  sameInputs?: string
  line?: string
}

test.each<[string, Row]>([
  // Reasons that same inputs answer: reused when the input tag exists.
  [
    '1 changed file matches',
    {
      reasons: ['1 changed file matches'],
      build: false,
      sameInputs: SAME,
      line: LINE('1 changed file matches')
    }
  ],
  [
    '3 changed files match',
    {
      reasons: ['3 changed files match'],
      build: false,
      sameInputs: SAME,
      line: LINE('3 changed files match')
    }
  ],
  [
    'changes unknown',
    { reasons: ['changes unknown'], build: false, sameInputs: SAME, line: LINE('changes unknown') }
  ],
  [
    'no stable tag in registry',
    {
      reasons: ['no tooling-stable in registry'],
      build: false,
      sameInputs: SAME,
      line: LINE('no tooling-stable in registry')
    }
  ],
  [
    'several answered reasons',
    {
      reasons: ['2 changed files match', 'changes unknown'],
      build: false,
      sameInputs: SAME,
      line: LINE('2 changed files match, changes unknown')
    }
  ],
  // Reasons that always build.
  ['forced', { reasons: ['forced'], build: true }],
  ['always', { reasons: ['always'], build: true }],
  [
    'parent rebuilt (inputs unknown)',
    { reasons: ['parent base rebuilt'], facts: { inputs: undefined }, build: true }
  ],
  ['a change and always', { reasons: ['1 changed file matches', 'always'], build: true }],
  ['a change and forced', { reasons: ['forced', '1 changed file matches'], build: true }],
  // The input tag and whom to trust.
  [
    'no input tag in the registry',
    { reasons: ['1 changed file matches'], facts: { found: null }, build: true }
  ],
  [
    'input tag not looked up',
    { reasons: ['1 changed file matches'], facts: { found: undefined }, build: true }
  ],
  ['reuse: off', { reasons: ['1 changed file matches'], opts: { reuse: 'off' }, build: true }],
  [
    'reuse: default-branch, built on main',
    {
      reasons: ['1 changed file matches'],
      opts: { reuse: 'default-branch' },
      build: false,
      sameInputs: SAME,
      line: LINE('1 changed file matches')
    }
  ],
  [
    'reuse: default-branch, built for a pull request',
    {
      reasons: ['1 changed file matches'],
      facts: { found: found(labels(INPUTS, 'pr-42')) },
      opts: { reuse: 'default-branch' },
      build: true
    }
  ],
  [
    'reuse: default-branch, labels unknown',
    {
      reasons: ['1 changed file matches'],
      facts: { found: found(null) },
      opts: { reuse: 'default-branch' },
      build: true
    }
  ],
  [
    'reuse: any, built for a pull request',
    {
      reasons: ['1 changed file matches'],
      facts: { found: found(labels(INPUTS, 'pr-42')) },
      build: false,
      sameInputs: SAME,
      line: LINE('1 changed file matches')
    }
  ],
  [
    'reuse: any, labels unknown: the tag is taken at its word',
    {
      reasons: ['1 changed file matches'],
      facts: { found: found(null) },
      build: false,
      sameInputs: SAME,
      line: LINE('1 changed file matches')
    }
  ],
  [
    'the input tag holds another digest (16 hex collide, or pushed by hand)',
    { reasons: ['1 changed file matches'], facts: { found: found(labels(OTHER)) }, build: true }
  ],
  // No reason builds: the stable image's inputs label decides.
  ['stable label matches', { reasons: [], facts: { stable: stable(labels(INPUTS)) }, build: false }],
  ['stable image without label: trusted', { reasons: [], facts: { stable: stable({}) }, build: false }],
  ['stable labels unknown: trusted', { reasons: [], facts: { stable: stable(null) }, build: false }],
  [
    'stable label differs, no input tag',
    { reasons: [], facts: { found: null }, build: true, wantReasons: ['inputs changed since tooling-stable'] }
  ],
  [
    'stable label differs because an external image moved',
    {
      reasons: [],
      facts: { found: null, externals: { 'ubuntu:24.04': 'sha256:bb', 'node:22': 'sha256:cc' } },
      build: true,
      wantReasons: ['inputs changed since tooling-stable (ubuntu:24.04 moved)']
    }
  ],
  [
    'stable label differs, the same inputs were built elsewhere',
    {
      reasons: [],
      build: false,
      wantReasons: ['inputs changed since tooling-stable'],
      sameInputs: SAME,
      line: LINE('inputs changed since tooling-stable')
    }
  ],
  [
    'stable label differs, reuse: off',
    { reasons: [], opts: { reuse: 'off' }, build: true, wantReasons: ['inputs changed since tooling-stable'] }
  ],
  [
    'another reason builds: no inputs-changed reason added',
    { reasons: ['forced'], facts: { found: null }, build: true, wantReasons: ['forced'] }
  ]
])('%s', (_name, row) => {
  const d = decision(row.reasons)
  const { decision: got, line } = decideSameInputs(
    'tooling',
    d,
    { ...FACTS, ...row.facts },
    { ...OPTS, ...row.opts }
  )
  expect(got.build).toBe(row.build)
  expect(got.reasons).toEqual(row.wantReasons ?? row.reasons)
  expect(got.sameInputs).toBe(row.sameInputs)
  expect(line).toBe(row.line)
  expect(got.inputs).toBe(row.facts && 'inputs' in row.facts ? row.facts.inputs : INPUTS)
  // A reused layer's ref is the image it reuses; a built one has none; an untouched one keeps its stable ref.
  const ref = row.sameInputs ?? (row.build ? undefined : `${STABLE}@${STABLE_DIGEST}`)
  expect(got.ref).toBe(ref)
  expect(d.reasons).toEqual(row.reasons) // the input is not changed
})

test.each<[string[], boolean]>([
  [[], false],
  [['1 changed file matches'], true],
  [['12 changed files match'], true],
  [['inputs changed since latest (node:22 moved)'], true],
  [['no latest in registry', 'changes unknown'], true],
  [['always'], false],
  [['parent base rebuilt'], false],
  [['forced', 'changes unknown'], false],
  [['1 changed files match'], false]
])('reusableReasons(%j) = %s', (reasons, want) => {
  expect(reusableReasons(reasons)).toBe(want)
})

describe('syncParentReasons', () => {
  const APP = layer('app', { from: from('tooling'), always: false })
  const base = (reasons: string[]): LayerDecision => ({ ...decision(reasons), stable: `${IMAGE}:latest` })
  test.each<[string, string[], boolean, string[], boolean, string | undefined]>([
    [
      'parent reused by inputs: reason goes, stable reused',
      ['parent tooling rebuilt'],
      false,
      [],
      false,
      `${IMAGE}:latest@${STABLE_DIGEST}`
    ],
    [
      'parent still builds: kept',
      ['parent tooling rebuilt'],
      true,
      ['parent tooling rebuilt'],
      true,
      undefined
    ],
    [
      'other reasons stay',
      ['parent tooling rebuilt', '1 changed file matches'],
      false,
      ['1 changed file matches'],
      true,
      undefined
    ],
    [
      'parent now builds (inputs changed): the reason comes after forced, the ref goes',
      ['forced', 'always'],
      true,
      ['forced', 'parent tooling rebuilt', 'always'],
      true,
      undefined
    ],
    ['parent now builds, no other reason', [], true, ['parent tooling rebuilt'], true, undefined]
  ])('%s', (_n, reasons, parentBuilds, want, build, ref) => {
    const got = syncParentReasons(base(reasons), APP, () => parentBuilds, stable({}))
    expect(got.reasons).toEqual(want)
    expect(got.build).toBe(build)
    expect(got.ref).toBe(ref)
  })
})

test.each([
  [eventContext(), 'main'],
  [eventContext({ branch: 'feat/x', ref: 'refs/heads/feat/x', isDefaultBranch: false }), 'feat/x'],
  [
    eventContext({
      eventName: 'pull_request',
      branch: 'main',
      pr: { number: 42, headSha: SHA, headRef: 'main', baseSha: SHA, baseRef: 'main', fork: true }
    }),
    'pr-42'
  ],
  [eventContext({ branch: undefined, tag: 'v1.2.3', ref: 'refs/tags/v1.2.3' }), 'refs/tags/v1.2.3']
])('refLabel: %#', (ctx, want) => {
  expect(refLabel(ctx)).toBe(want)
})

test('inputLabels: the three labels, externals as sorted JSON', () => {
  expect(
    inputLabels(INPUTS, { 'ubuntu:24.04': 'sha256:aa', 'node:22': 'sha256:bb' }, eventContext())
  ).toEqual({
    'dev.strata.inputs': INPUTS,
    'dev.strata.externals': '{"node:22":"sha256:bb","ubuntu:24.04":"sha256:aa"}',
    'dev.strata.ref': 'main'
  })
})

describe('withInputTag', () => {
  const short = '3f2a9c1d4e5f6a7b'
  test.each<
    [string, Parameters<typeof layer>[1], boolean, ReturnType<typeof eventContext>, string[], string[]]
  >([
    [
      'a parent layer on main',
      {},
      false,
      eventContext(),
      ['tooling-3f2a9c1', `tooling-inputs-${short}`],
      ['tooling-stable']
    ],
    [
      'a leaf on a pull request',
      {},
      true,
      eventContext({
        eventName: 'pull_request',
        branch: 'feat',
        isDefaultBranch: false,
        pr: { number: 42, headSha: SHA, headRef: 'feat', baseSha: SHA, baseRef: 'main', fork: false }
      }),
      ['pr-42-3f2a9c1', `tooling-inputs-${short}`],
      ['pr-42']
    ],
    [
      'custom tags with {inputs}',
      { tags: ['{layer}-{inputs}', '{layer}-edge'] },
      false,
      eventContext(),
      [`tooling-${short}`, `tooling-inputs-${short}`],
      ['tooling-edge', 'tooling-stable']
    ]
  ])('%s', (_n, over, isLeaf, ctx, versioned, moving) => {
    const l = layer('tooling', over)
    const got = withInputTag(decision(['forced']), l, ctx, { isLeaf, inputs: INPUTS })
    expect(got.inputs).toBe(INPUTS)
    expect(got.versioned).toEqual(versioned.map(t => `${IMAGE}:${t}`))
    expect(got.moving).toEqual(moving.map(t => `${IMAGE}:${t}`))
    expect(got.tags).toEqual([...versioned, ...moving].map(t => `${IMAGE}:${t}`))
  })
})

test('sameInputsRetags: the reused layers, their versioned and moving tags onto the found digest', () => {
  const reused: LayerDecision = {
    ...withInputTag(decision(['1 changed file matches']), layer('tooling'), eventContext(), {
      isLeaf: false,
      inputs: INPUTS
    }),
    build: false,
    sameInputs: SAME
  }
  expect(
    sameInputsRetags({
      tooling: reused,
      app: { ...decision(['always']) },
      other: { ...reused, selected: false }
    })
  ).toEqual([
    { layer: 'tooling', source: SAME, targets: [`${IMAGE}:tooling-3f2a9c1`, `${IMAGE}:tooling-stable`] }
  ])
})

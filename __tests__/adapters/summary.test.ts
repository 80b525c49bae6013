// The job summary: rows read as the user reads them, and the write to GITHUB_STEP_SUMMARY.
import { mkdtemp, readFile, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { renderSummary, writeSummary } from '../../src/adapters/summary.js'
import type { BuildResult } from '../../src/core/types.js'
import type { Plan } from '../../src/core/types.js'

const IMG = 'ghcr.io/acme/sindri'
const D1 = `sha256:${'1'.repeat(64)}`
const D2 = `sha256:${'2'.repeat(64)}`

const plan: Plan = {
  event: 'pull_request',
  base: 'a'.repeat(40),
  head: 'b'.repeat(40),
  changes: { source: 'api', count: 3 },
  layers: {
    base: {
      build: false,
      reasons: [],
      matches: [],
      tags: [`${IMG}:base-pr-42-bbbbbbb`],
      ref: `${IMG}:base-stable@${D1}`,
      selected: true
    },
    tooling: {
      build: true,
      reasons: ['2 changed files match'],
      matches: [],
      tags: [`${IMG}:tooling-pr-42-bbbbbbb`],
      selected: true
    },
    app: {
      build: true,
      reasons: ['parent tooling rebuilt', 'always'],
      matches: [],
      tags: [`${IMG}:pr-42-bbbbbbb`, `${IMG}:pr-42`],
      selected: true
    }
  }
}

const rows = (md: string): string[] =>
  md.split('\n').filter(l => l.startsWith('| ') && !l.startsWith('| ---'))

test('a successful run: one row a layer, reused with its pinned digest, built with tags, time and cache hits', () => {
  const result: BuildResult = {
    commands: [],
    layers: {
      base: { name: 'base', status: 'reused', ref: `${IMG}:base-stable@${D1}`, reasons: [] },
      tooling: {
        name: 'tooling',
        status: 'built',
        ref: `${IMG}:tooling-pr-42-bbbbbbb@${D2}`,
        digest: D2,
        durationMs: 4230,
        cachedSteps: 1,
        totalSteps: 3,
        reasons: ['2 changed files match']
      },
      app: {
        name: 'app',
        status: 'built',
        digest: D1,
        durationMs: 65000,
        cachedSteps: 0,
        totalSteps: 2,
        reasons: ['parent tooling rebuilt', 'always']
      }
    }
  }
  const md = renderSummary(plan, result, { event: 'pull_request #42' })
  expect(md.split('\n').slice(0, 3)).toEqual([
    '### Strata',
    '',
    'pull_request #42 aaaaaaa…bbbbbbb: 3 changed files (from the GitHub API)'
  ])
  expect(rows(md)).toEqual([
    '| Layer | Status | Reasons | Tags | Digest | Duration | Cached steps |',
    '| base | ♻️ reused | no matching change | — | `sha256:111111111111…` | — | — |',
    '| tooling | ✅ built | 2 changed files match | `tooling-pr-42-bbbbbbb` | `sha256:222222222222…` | 4.2 s | 1 / 3 |',
    '| app | ✅ built | parent tooling rebuilt<br>always | `pr-42-bbbbbbb`<br>`pr-42` | `sha256:111111111111…` | 1 min 5 s | 0 / 2 |'
  ])
  expect(md).not.toContain('moving tag')
})

test('a failed layer: its row and error, descendants skipped with the reason, and no moving tag moved', () => {
  const result: BuildResult = {
    commands: [],
    failed: 'tooling',
    layers: {
      base: { name: 'base', status: 'reused', reasons: [] },
      tooling: {
        name: 'tooling',
        status: 'failed',
        durationMs: 1500,
        error: 'buildx failed with: ERROR: process "/bin/sh -c false" did not complete | exit code: 1',
        reasons: ['2 changed files match']
      },
      app: {
        name: 'app',
        status: 'skipped',
        error: 'parent tooling failed',
        reasons: ['parent tooling rebuilt', 'always', 'parent tooling failed']
      }
    }
  }
  const md = renderSummary(plan, result, {})
  expect(rows(md).slice(2)).toEqual([
    '| tooling | ❌ failed | 2 changed files match | `tooling-pr-42-bbbbbbb` | — | 1.5 s | — |',
    '| app | ⏭️ skipped | parent tooling rebuilt<br>always<br>parent tooling failed | `pr-42-bbbbbbb`<br>`pr-42` | — | — | — |'
  ])
  expect(md).toContain(
    '**tooling** failed: buildx failed with: ERROR: process "/bin/sh -c false" did not complete \\| exit code: 1'
  )
  expect(md).toContain('**app** skipped: parent tooling failed')
  expect(md).toContain('No moving tag (stable, `latest`, `pr-N`, branch) was moved.')
})

test('a moving tag that could not be moved: that layer says so, and no claim that nothing moved', () => {
  const result: BuildResult = {
    commands: [],
    failed: 'app',
    layers: {
      base: { name: 'base', status: 'reused', reasons: [] },
      tooling: { name: 'tooling', status: 'built', digest: D2, reasons: ['2 changed files match'] },
      app: {
        name: 'app',
        status: 'built',
        digest: D1,
        error: 'moving tags not moved: cannot tag x as y: denied',
        reasons: ['always']
      }
    }
  }
  const md = renderSummary(plan, result)
  expect(md).toContain('**app** built: moving tags not moved: cannot tag x as y: denied')
  expect(md).not.toContain('No moving tag')
})

test.each([
  [{ dryRun: true }, 'would build', ', dry run'],
  [{ push: false }, 'to build', ', not pushed'],
  [{}, 'to build', '']
])('a plan without a result (%o) says what the plan would do', (ctx, status, mode) => {
  const md = renderSummary({ ...plan, changes: { source: 'none', count: 0 } }, undefined, ctx)
  expect(md).toContain(`pull_request aaaaaaa…bbbbbbb: no diff for this event${mode}\n`)
  expect(rows(md)[2]).toBe(
    `| tooling | ${status} | 2 changed files match | \`tooling-pr-42-bbbbbbb\` | — | — | — |`
  )
})

test('a layer that another step builds, and untrusted text kept inside its cell', () => {
  const p: Plan = {
    ...plan,
    changes: { source: 'unknown', count: 0 },
    layers: {
      'my|layer': { ...plan.layers.tooling, reasons: ['<b>x</b>\nnext'], selected: false }
    }
  }
  expect(rows(renderSummary(p, undefined))[1]).toBe(
    '| my\\|layer | built by another step | &lt;b&gt;x&lt;/b&gt; next | `tooling-pr-42-bbbbbbb` | — | — | — |'
  )
})

test('each cache export: its layer, kind, time, blobs and bytes (SPEC 6: an export must pay for itself)', () => {
  const result: BuildResult = {
    commands: [],
    layers: {
      base: { name: 'base', status: 'reused', reasons: [] },
      tooling: { name: 'tooling', status: 'built', reasons: [], cacheExports: [] },
      app: {
        name: 'app',
        status: 'built',
        reasons: [],
        cacheExports: [
          { kind: 'registry', seconds: 0.34, blobs: 2, bytes: 1_200_000 },
          { kind: 'gha', blobs: 1, bytes: 0 }
        ]
      }
    }
  }
  const md = renderSummary(plan, result, { order: ['base', 'tooling', 'app'] })
  expect(md.split('\n').filter(l => l.startsWith('| app | registry') || l.startsWith('| app | gha'))).toEqual(
    ['| app | registry | 0.3 s | 2 | 1.2 MB |', '| app | gha | — | 1 | — |']
  )
  expect(md).toContain('| Layer | Cache export | Time | Blobs | Bytes |')
  expect(renderSummary(plan, undefined, { order: ['base', 'tooling', 'app'] })).not.toContain('Cache export')
})

describe('writeSummary', () => {
  const saved = process.env.GITHUB_STEP_SUMMARY
  afterEach(() => {
    if (saved === undefined) delete process.env.GITHUB_STEP_SUMMARY
    else process.env.GITHUB_STEP_SUMMARY = saved
  })

  test('appends to the file that GITHUB_STEP_SUMMARY names', async () => {
    const file = join(await mkdtemp(join(tmpdir(), 'strata-summary-')), 'summary.md')
    await writeFile(file, 'before\n')
    process.env.GITHUB_STEP_SUMMARY = file
    const md = renderSummary(plan, undefined)
    expect(await writeSummary(md)).toBe(true)
    expect(await readFile(file, 'utf8')).toBe(`before\n${md}\n`)
  })

  test('is skipped, without a throw, where there is no job summary (a terminal)', async () => {
    delete process.env.GITHUB_STEP_SUMMARY
    expect(await writeSummary('x')).toBe(false)
  })
})

describe('the layer graph (Mermaid)', () => {
  const graphOf = (md: string): string[] => {
    const lines = md.split('\n')
    const start = lines.indexOf('```mermaid')
    return lines.slice(start + 1, lines.indexOf('```', start + 1))
  }

  test('one node a layer with its status and first reason; parents above; externals as their own nodes', () => {
    const result: BuildResult = {
      layers: {
        base: { name: 'base', status: 'reused', reasons: [] },
        tooling: { name: 'tooling', status: 'built', reasons: ['2 changed files match'] },
        app: { name: 'app', status: 'failed', reasons: ['parent tooling rebuilt', 'always'], error: 'exit 1' }
      },
      failed: 'app',
      commands: []
    }
    const md = renderSummary(plan, result, {
      order: ['base', 'tooling', 'app'],
      graph: {
        parents: { base: [], tooling: ['base'], app: ['tooling'] },
        externals: { base: ['localhost:5000/ubuntu:24.04'], app: ['localhost:5000/ubuntu:24.04'] }
      }
    })
    expect(graphOf(md)).toEqual([
      'flowchart TD',
      '  L0["base<br/>#9851;#65039; reused<br/><small>no matching change</small>"]',
      '  L1["tooling<br/>#9989; built<br/><small>2 changed files match</small>"]',
      '  L2["app<br/>#10060; failed<br/><small>parent tooling rebuilt +1</small>"]',
      '  E0(["localhost:5000/ubuntu:24.04"])',
      '  E0 -.-> L0',
      '  L0 --> L1',
      '  E0 -.-> L2',
      '  L1 --> L2',
      '  classDef built fill:#dafbe1,stroke:#1a7f37',
      '  classDef reused fill:#ddf4ff,stroke:#0969da',
      '  classDef failed fill:#ffebe9,stroke:#cf222e',
      '  classDef external fill:#f6f8fa,stroke:#8c959f,stroke-dasharray:3',
      '  class L0 reused',
      '  class L1 built',
      '  class L2 failed',
      '  class E0 external'
    ])
  })

  test('untrusted text cannot end a label or add a statement', () => {
    const evil = 'x"]\nclick L0 "javascript:alert(1)"\n%%{init}%%<b>`'
    const md = renderSummary(plan, undefined, {
      order: ['base', 'tooling', 'app'],
      graph: { parents: {}, externals: { base: [evil] } }
    })
    const node = graphOf(md).find(l => l.startsWith('  E0'))
    expect(node).toBe(
      '  E0(["x#34;#93;#10;click L0 #34;javascript:alert(1)#34;#10;#37;#37;#123;init#125;#37;#37;#60;b#62;#96;"])'
    )
    expect(graphOf(md).filter(l => l.includes('click'))).toEqual([node])
  })

  test('a 20-layer monorepo stays readable: left to right, one node each, one node per shared image', () => {
    const names = Array.from({ length: 20 }, (_, i) => `svc-${i}`)
    const big: Plan = {
      ...plan,
      layers: Object.fromEntries(
        names.map((n, i) => [
          n,
          {
            build: i % 3 === 0,
            reasons: i % 3 === 0 ? ['3 changed files match', 'always'] : [],
            matches: [],
            tags: [`${IMG}:${n}-x`],
            selected: true
          }
        ])
      )
    }
    // Two roots; every other service builds on one of them; all read the same two images.
    const parents = Object.fromEntries(names.map((n, i) => [n, i < 2 ? [] : [names[i % 2]]]))
    const externals = Object.fromEntries(names.map(n => [n, ['node:22', 'localhost:5000/tools:1']]))
    const g = graphOf(renderSummary(big, undefined, { order: names, graph: { parents, externals } }))
    expect(g[0]).toBe('flowchart LR')
    expect(g.filter(l => /^ {2}L\d+\["/.test(l))).toHaveLength(20)
    expect(g.filter(l => /^ {2}E\d+\(\["/.test(l))).toEqual([
      '  E0(["node:22"])',
      '  E1(["localhost:5000/tools:1"])'
    ])
    expect(g.filter(l => l.includes(' --> '))).toHaveLength(18)
    // Labels stay short: a name, a status and at most 40 characters of reason.
    const longest = Math.max(
      ...g.filter(l => l.includes('<small>')).map(l => /<small>(.*)<\/small>/.exec(l)?.[1].length ?? 0)
    )
    expect(longest).toBeLessThanOrEqual(40)
    expect(g.find(l => l.startsWith('  L0['))).toBe(
      '  L0["svc-0<br/>to build<br/><small>3 changed files match +1</small>"]'
    )
  })

  test('no graph unless asked; changed inputs and warnings are listed', () => {
    const withMatches: Plan = {
      ...plan,
      layers: {
        ...plan.layers,
        tooling: {
          ...plan.layers.tooling,
          matches: [{ path: 'docker/a|b.sh', pattern: 'Dockerfile.tooling:7 COPY' }]
        }
      }
    }
    const md = renderSummary(withMatches, undefined, {
      order: ['base', 'tooling', 'app'],
      warnings: ['Dockerfile:3:1: leaf layer "app" has COPY without --link']
    })
    expect(md).not.toContain('```mermaid')
    expect(md).toContain('**tooling**\n\n- `docker/a\\|b.sh` (Dockerfile.tooling:7 COPY)\n')
    expect(md).toContain('> ⚠️ Dockerfile:3:1: leaf layer "app" has COPY without --link\n')
  })
})

test('SPEC 8: a reused layer says why, and a plan colours no layer built', () => {
  const D = `sha256:${'1'.repeat(64)}`
  const plan: Plan = {
    layers: {
      base: { build: false, reasons: [], matches: [], tags: [], selected: true, ref: `r:base-stable@${D}` },
      tooling: {
        build: false,
        reasons: ['1 changed file matches'],
        matches: [],
        tags: [],
        selected: true,
        sameInputs: `r:tooling-inputs-0123456789abcdef@${D}`,
        sameInputsBy: 'pr-7'
      },
      app: { build: true, reasons: ['always'], matches: [], tags: ['r:main-abc1234'], selected: true }
    },
    changes: { source: 'api', count: 1 },
    event: 'push'
  }
  const md = renderSummary(plan, undefined, {
    graph: { parents: { base: [], tooling: ['base'], app: ['tooling'] } }
  })
  expect(md).toContain('| base | ♻️ reused | no matching change |')
  expect(md).toContain(
    '| tooling | ♻️ reused | same inputs as tooling-inputs-0123456789abcdef, built by pr-7 |'
  )
  expect(md).toContain('  class L2 planned')
  expect(md).not.toContain('class L2 built')
})

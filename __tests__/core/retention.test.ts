import {
  classifyTag,
  decideRetention,
  tagScheme,
  type PrState,
  type RetentionVersion
} from '../../src/core/retention.js'
import type { LayerConfig, RetentionConfig, StrataConfig } from '../../src/core/types.js'
import { config as baseConfig, from, IMAGE, layer as baseLayer } from '../../__fixtures__/layers.js'

const NOW = new Date('2026-11-22T12:00:00Z')

const layer = (name: string, parents: string[] = [], extra: Partial<LayerConfig> = {}): LayerConfig =>
  baseLayer(name, { from: from(...parents), ...extra })

// The seed guides' policy, as docs/retention.md shows it.
const SEED: RetentionConfig = {
  minKeep: 3,
  rules: { pr: { maxAgeDays: 7, deleteWhenClosed: true }, branch: { keep: 10 }, untagged: { maxAgeDays: 0 } },
  layers: { base: { versioned: { keepForever: true } }, tooling: { versioned: { keep: 3 } } }
}

const config = (
  retention: RetentionConfig | null = SEED,
  layers = [layer('base'), layer('tooling', ['base']), layer('app', ['tooling'])]
): StrataConfig => baseConfig(layers, { retention: retention ?? undefined })

const daysAgo = (n: number): Date => new Date(NOW.getTime() - n * 86_400_000)
let seq = 0
const v = (tags: string[], ageDays: number, extra: Partial<RetentionVersion> = {}): RetentionVersion => ({
  digest: `sha256:${(++seq).toString(16).padStart(64, '0')}`,
  tags,
  created: daysAgo(ageDays),
  ...extra
})

function decide(
  versions: RetentionVersion[],
  opts: { prs?: Record<number, 'open' | 'closed' | 'merged'>; max?: number; cfg?: StrataConfig } = {}
) {
  const d = decideRetention({
    config: opts.cfg ?? config(),
    image: IMAGE,
    versions,
    prs: opts.prs ?? {},
    now: NOW,
    maxDeletions: opts.max ?? 100
  })
  const deleted = d.rows.filter(r => r.action === 'delete').map(r => r.tag ?? r.digest)
  const kept = d.rows.filter(r => r.action === 'keep').map(r => r.tag ?? r.digest)
  const rule = (tag: string): string => d.rows.find(r => r.tag === tag)?.rule ?? '(no row)'
  return { ...d, deleted: deleted.sort(), kept: kept.sort(), rule }
}

describe('classifyTag', () => {
  const scheme = tagScheme(config(), IMAGE)
  test.each([
    ['base-stable', 'stable', 'base', undefined],
    ['tooling-stable', 'stable', 'tooling', undefined],
    ['latest', 'stable', 'app', undefined],
    ['base-3f2a9c1', 'versioned', 'base', undefined],
    ['tooling-pr-42-3f2a9c1', 'pr', 'tooling', 42],
    ['cache-tooling', 'cache', 'tooling', undefined],
    ['cache-app', 'cache', 'app', undefined],
    ['pr-42', 'pr', 'app', 42],
    ['pr-42-3f2a9c1', 'pr', 'app', 42],
    ['main-3f2a9c1', 'versioned', 'app', undefined],
    ['feature-x-3f2a9c1', 'versioned', 'app', undefined],
    ['nightly-20261122', 'versioned', 'app', undefined],
    ['feature-x', 'branch', 'app', undefined],
    ['1.2.3', 'other', 'app', undefined],
    ['v1.2', 'other', 'app', undefined],
    ['tooling-debug', 'other', '', undefined]
  ])('%s is %s of layer %s', (tag, kind, owner, pr) => {
    expect(classifyTag(tag, scheme)).toEqual(
      pr === undefined ? { kind, layer: owner } : { kind, layer: owner, pr }
    )
  })

  test('a literal stable-tag replaces {layer}-stable; latest stays stable', () => {
    const cfg = config(SEED, [layer('base', [], { stableTag: '{layer}-main' }), layer('app', ['base'])])
    const s = tagScheme(cfg, IMAGE)
    expect(classifyTag('base-main', s)).toEqual({ kind: 'stable', layer: 'base' })
    expect(classifyTag('latest', s)).toEqual({ kind: 'stable', layer: 'app' })
  })

  test.each([
    // A second leaf on the same repository: its own stable tag is a stable tag, not a branch tag.
    [
      'worker-latest',
      [layer('base'), layer('worker', ['base'], { stableTag: '{layer}-latest' }), layer('app', ['base'])]
    ],
    // A stable-tag with a variable: every tag it can render to is stable.
    ['stable-main', [layer('base', [], { stableTag: 'stable-{branch}' }), layer('app', ['base'])]],
    ['main-app', [layer('base'), layer('app', ['base'], { stableTag: '{branch}-{layer}' })]]
  ])('%s is a stable tag of its layer, never deleted by a branch rule', (tag, layers) => {
    const cfg = config(SEED, layers)
    const owner = tag.startsWith('worker') ? 'worker' : tag.startsWith('stable') ? 'base' : 'app'
    expect(classifyTag(tag, tagScheme(cfg, IMAGE))).toEqual({ kind: 'stable', layer: owner })
    const d = decide([v([tag], 400), ...Array.from({ length: 11 }, (_, i) => v([`b-${i}`], i))], { cfg })
    expect(d.rule(tag)).toBe('stable tag: always kept')
  })

  test('layers pushed elsewhere own no tag here', () => {
    const cfg = config(SEED, [layer('base', [], { image: 'ghcr.io/acme/base' }), layer('app', ['base'])])
    const s = tagScheme(cfg, IMAGE)
    expect(s.layers).toEqual(['app'])
    expect(classifyTag('base-3f2a9c1', s)).toEqual({ kind: 'versioned', layer: 'app' })
  })
})

describe('decideRetention', () => {
  test('tooling keeps its newest 3 versions; base versions are kept forever', () => {
    const d = decide([
      v(['base-stable', 'base-0000001'], 1),
      ...[2, 3, 4, 5, 6].map(n => v([`base-000000${n}`], 10 * n)),
      v(['tooling-stable', 'tooling-1000001'], 1),
      ...[2, 3, 4, 5, 6].map(n => v([`tooling-100000${n}`], n))
    ])
    expect(d.deleted).toEqual(['tooling-1000004', 'tooling-1000005', 'tooling-1000006'])
    expect(d.rule('tooling-1000004')).toBe('versioned: beyond the newest 3')
    expect(d.rule('base-0000006')).toBe('versioned: keep-forever')
    expect(d.rule('tooling-1000003')).toBe('versioned: within keep 3')
    expect(d.deletions).toHaveLength(3)
  })

  test.each([
    ['open and young', 'open', 2, 'keep', 'pr: within max-age-days 7, delete-when-closed'],
    ['open but older than 7 days', 'open', 8, 'delete', 'pr: older than 7 days'],
    ['merged', 'merged', 1, 'delete', 'pr: PR #5 merged'],
    ['closed', 'closed', 1, 'delete', 'pr: PR #5 closed'],
    ['unknown state (counts as open)', undefined, 1, 'keep', 'pr: within max-age-days 7, delete-when-closed']
  ])('a PR image that is %s', (_name, state, age, action, rule) => {
    const prs: Record<number, PrState> = state ? { 5: state as PrState } : {}
    const d = decide(
      [v(['latest', 'main-aaaaaaa'], 1), v(['pr-5', 'pr-5-bbbbbbb'], age), v(['tooling-pr-5-bbbbbbb'], age)],
      { prs }
    )
    for (const tag of ['pr-5', 'pr-5-bbbbbbb', 'tooling-pr-5-bbbbbbb']) {
      expect(d.rows.find(r => r.tag === tag)).toMatchObject({ action, rule, pr: 5 })
    }
  })

  test('the newest 10 branch images stay', () => {
    const d = decide([v(['latest'], 0), ...Array.from({ length: 12 }, (_, i) => v([`branch-${i}`], i + 1))])
    expect(d.deleted).toEqual(['branch-10', 'branch-11'])
  })

  test('a digest shared by a deleted PR tag and a kept tag survives, and so does the PR tag', () => {
    const shared = v(['pr-9-ccccccc', 'feature-ccccccc'], 1)
    const d = decide([v(['latest'], 0), shared, v(['pr-9'], 1)], { prs: { 9: 'merged' } })
    expect(d.deleted).toEqual(['pr-9'])
    expect(d.rule('pr-9-ccccccc')).toBe(
      'shares its digest with kept tag feature-ccccccc (else pr: PR #9 merged)'
    )
    expect(d.deletions).not.toContain(shared.digest)
  })

  test('a stable tag or latest on a PR digest keeps it', () => {
    const d = decide([v(['latest', 'pr-3'], 20), v(['tooling-stable', 'tooling-pr-3-ddddddd'], 20)], {
      prs: { 3: 'closed' }
    })
    expect(d.deleted).toEqual([])
    expect(d.rule('pr-3')).toBe(
      'shares its digest with kept tag latest (else pr: older than 7 days, PR #3 closed)'
    )
  })

  test('min-keep holds back the newest versions a rule would delete', () => {
    const cfg = config({ ...SEED, layers: { tooling: { versioned: { keep: 1 } } } })
    const d = decide(
      [
        v(['tooling-2000001'], 1),
        v(['tooling-2000002'], 2),
        v(['tooling-2000003'], 3),
        v(['tooling-2000004'], 4)
      ],
      { cfg }
    )
    expect(d.deleted).toEqual(['tooling-2000004'])
    expect(d.rule('tooling-2000002')).toBe('min-keep 3')
    expect(d.rule('tooling-2000003')).toBe('min-keep 3')
  })

  test('the cap deletes the oldest first and warns about the rest', () => {
    const d = decide([v(['latest'], 0), ...Array.from({ length: 5 }, (_, i) => v([`pr-${i + 1}`], 10 + i))], {
      max: 2
    })
    expect(d.deleted).toEqual(['pr-4', 'pr-5'])
    expect(d.capped).toBe(3)
    expect(d.rule('pr-1')).toBe('cap: max-deletions 2 reached (else pr: older than 7 days)')
    expect(d.warnings).toEqual([
      `${IMAGE}: 5 digests are due for deletion but max-deletions is 2: deleting the 2 oldest; the other 3 wait for a later run (raise max-deletions to delete more at once)`
    ])
  })

  test('untagged digests go, except the manifests of a kept index', () => {
    const child = v([], 3)
    const orphan = v([], 3)
    const index = v(['latest'], 3, { children: [child.digest, 'sha256:notlisted'] })
    const d = decide([index, child, orphan])
    expect(d.deletions).toEqual([orphan.digest])
    expect(d.rows.find(r => r.digest === child.digest)?.rule).toBe(
      `referenced by kept index ${index.digest.slice(7, 19)}`
    )
    expect(d.rows.find(r => r.digest === orphan.digest)).toMatchObject({
      kind: 'untagged',
      layer: '',
      rule: 'untagged: older than 0 days'
    })
  })

  test('no retention section, release tags, foreign tags and unknown ages delete nothing', () => {
    expect(decide([v(['pr-1'], 30), v([], 30)], { cfg: config(null) }).deleted).toEqual([])
    const d = decide([
      v(['1.2.3'], 400),
      v(['tooling-debug'], 400),
      { digest: 'sha256:nodate', tags: ['pr-77'] }
    ])
    expect(d.deleted).toEqual([])
    expect(d.rule('1.2.3')).toBe('release tag: always kept')
    expect(d.rule('tooling-debug')).toBe('not a Strata tag: kept')
  })

  test('a layer rule replaces the default for that kind only', () => {
    const cfg = config({
      minKeep: 0,
      rules: { pr: { maxAgeDays: 7 } },
      layers: { tooling: { pr: { keep: 1 } } }
    })
    const d = decide([v(['tooling-pr-1-1111111'], 30), v(['tooling-pr-2-2222222'], 20), v(['pr-3'], 30)], {
      cfg
    })
    expect(d.deleted).toEqual(['pr-3', 'tooling-pr-1-1111111'])
  })

  test('rows are sorted by layer, kind, newest first', () => {
    const d = decide([
      v(['pr-1'], 1),
      v(['base-0000001'], 2),
      v(['tooling-stable'], 1),
      v(['base-stable'], 1),
      v([], 1)
    ])
    expect(d.rows.map(r => r.tag ?? 'untagged')).toEqual([
      'base-stable',
      'base-0000001',
      'tooling-stable',
      'pr-1',
      'untagged'
    ])
  })
})

// Retention of SPEC 4a's input tags, and a leaf's branch images told apart from the default branch's.
import { classifyTag, decideRetention, tagScheme, type RetentionVersion } from '../../src/core/retention.js'
import type { RetentionConfig, StrataConfig } from '../../src/core/types.js'
import { config as baseConfig, from, IMAGE, layer } from '../../__fixtures__/layers.js'

const NOW = new Date('2026-11-22T12:00:00Z')
const SEED: RetentionConfig = {
  minKeep: 3,
  rules: { pr: { maxAgeDays: 7, deleteWhenClosed: true }, branch: { keep: 10 }, untagged: { maxAgeDays: 0 } },
  layers: { base: { versioned: { keepForever: true } }, tooling: { versioned: { keep: 3 } } }
}
const config = (retention: RetentionConfig = SEED): StrataConfig =>
  baseConfig(
    [layer('base'), layer('tooling', { from: from('base') }), layer('app', { from: from('tooling') })],
    {
      retention
    }
  )
const hex16 = (n: number): string => n.toString(16).padStart(16, '0')
let seq = 0
const v = (tags: string[], ageDays: number): RetentionVersion => ({
  digest: `sha256:${(++seq).toString(16).padStart(64, '0')}`,
  tags,
  created: new Date(NOW.getTime() - ageDays * 86_400_000)
})
function decide(versions: RetentionVersion[], cfg = config(), defaultBranch: string | undefined = 'main') {
  const d = decideRetention({
    config: cfg,
    image: IMAGE,
    versions,
    prs: { 7: 'merged' },
    now: NOW,
    maxDeletions: 100,
    defaultBranch
  })
  const rule = (tag: string): string => d.rows.find(r => r.tag === tag)?.rule ?? '(no row)'
  return {
    deleted: d.rows
      .filter(r => r.action === 'delete')
      .map(r => r.tag)
      .sort(),
    rule,
    rows: d.rows
  }
}

describe('classifyTag', () => {
  test.each<[string, string | undefined, string, string]>([
    [`tooling-inputs-${hex16(1)}`, 'main', 'inputs', 'tooling'],
    [`base-inputs-${hex16(2)}`, 'main', 'inputs', 'base'],
    [`app-inputs-${hex16(3)}`, 'main', 'inputs', 'app'],
    ['main-abc1234', 'main', 'versioned', 'app'],
    ['feature-x-abc1234', 'main', 'branch', 'app'],
    ['feature-x', 'main', 'branch', 'app'],
    ['renovate-node-22-abc1234', 'main', 'branch', 'app'],
    ['sha-abc1234', 'main', 'versioned', 'app'],
    ['nightly-20261122', 'main', 'versioned', 'app'],
    ['master-abc1234', 'master', 'versioned', 'app'],
    ['main-abc1234', 'master', 'branch', 'app'],
    // Default branch unknown: as before, every {branch}-{sha7} is a version (never deleted by a branch rule).
    ['feature-x-abc1234', undefined, 'versioned', 'app'],
    // A default branch with characters that tags sanitize.
    ['release-2.x-abc1234', 'Release/2.x', 'versioned', 'app'],
    ['tooling-abc1234', 'main', 'versioned', 'tooling'],
    [`tooling-inputs-${hex16(1)}0`, 'main', 'other', '']
  ])('%s (default branch %s) is %s of %s', (tag, defaultBranch, kind, owner) => {
    const c = classifyTag(tag, tagScheme(config(), IMAGE, defaultBranch))
    expect([c.kind, c.layer]).toEqual([kind, owner])
  })
})

test("the seed's policy: branch images of other branches (even deleted ones) keep the newest 10, main's versions stay", () => {
  const branchImages = Array.from({ length: 13 }, (_, i) =>
    v(
      [`gone-${String(i).padStart(2, '0')}-abc${String(1000 + i)}`, `gone-${String(i).padStart(2, '0')}`],
      1 + i
    )
  )
  const mainImages = Array.from({ length: 15 }, (_, i) => v([`main-def${String(1000 + i)}`], 1 + i))
  const { deleted, rule } = decide([v(['latest'], 0), ...branchImages, ...mainImages])
  expect(deleted).toEqual([
    'gone-10',
    'gone-10-abc1010',
    'gone-11',
    'gone-11-abc1011',
    'gone-12',
    'gone-12-abc1012'
  ])
  expect(rule('gone-12-abc1012')).toBe('branch: beyond the newest 10')
  expect(rule('main-def1014')).toBe('versioned: no rule')
})

describe('input tags', () => {
  test('alone on a digest: the newest 10 per layer by default', () => {
    const versions = Array.from({ length: 12 }, (_, i) => v([`tooling-inputs-${hex16(i)}`], i + 1))
    const { deleted, rule } = decide(versions, config({ minKeep: 0, rules: {}, layers: {} }))
    expect(deleted).toEqual([`tooling-inputs-${hex16(10)}`, `tooling-inputs-${hex16(11)}`])
    expect(rule(`tooling-inputs-${hex16(11)}`)).toBe('inputs: beyond the newest 10')
    expect(rule(`tooling-inputs-${hex16(0)}`)).toBe('inputs: within keep 10')
  })

  test('a rule of their own replaces the default', () => {
    const versions = Array.from({ length: 4 }, (_, i) => v([`app-inputs-${hex16(i)}`], i + 1))
    const cfg = config({ minKeep: 0, rules: {}, layers: { app: { inputs: { keep: 2 } } } })
    expect(decide(versions, cfg).deleted).toEqual([`app-inputs-${hex16(2)}`, `app-inputs-${hex16(3)}`])
  })

  test('never one whose digest a kept tag points to, and never keeping an image the other rules delete', () => {
    // tooling: last 3 versions, each pushed with its input tag; a merged PR's image with its input tag.
    const versions = [
      ...Array.from({ length: 5 }, (_, i) => v([`tooling-aaaaaa${i}`, `tooling-inputs-${hex16(i)}`], i + 1)),
      v(['tooling-pr-7-bbbbbb1', `tooling-inputs-${hex16(9)}`], 2),
      v(['base-stable', 'base-ccccccc', `base-inputs-${hex16(8)}`], 40)
    ]
    const { deleted, rule } = decide(versions)
    expect(deleted).toEqual(
      [
        'tooling-aaaaaa3',
        'tooling-aaaaaa4',
        `tooling-inputs-${hex16(3)}`,
        `tooling-inputs-${hex16(4)}`,
        'tooling-pr-7-bbbbbb1',
        `tooling-inputs-${hex16(9)}`
      ].sort()
    )
    expect(rule(`tooling-inputs-${hex16(0)}`)).toBe('inputs: its image is kept (tooling-aaaaaa0)')
    expect(rule(`tooling-inputs-${hex16(4)}`)).toBe('inputs: its image goes with its other tags')
    expect(rule(`base-inputs-${hex16(8)}`)).toBe('inputs: its image is kept (base-stable)')
  })
})

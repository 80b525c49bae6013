// Bytes pulled and pushed, read from `--progress=plain` output captured from real builds on the
// stack (see __fixtures__/progress/README.md for the commands). Every expected figure is the sum
// of sizes printed in the capture named on the row.
import { readFile } from 'node:fs/promises'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { ProgressCounter } from '../../src/adapters/buildx.js'
import { humanBytes, renderSummary } from '../../src/adapters/summary.js'
import type { BuildResult } from '../../src/core/types.js'
import type { Plan } from '../../src/core/types.js'

const dir = join(dirname(fileURLToPath(import.meta.url)), '../../__fixtures__/progress')

async function parse(name: string): Promise<ProgressCounter> {
  const p = new ProgressCounter()
  for (const line of (await readFile(join(dir, name), 'utf8')).split('\n')) p.add(line)
  return p
}

// The 64 MB parent of the --link captures: its config (3.50kB), busybox (1.06MB), 64.02MB of random data.
const LARGE_PARENT = 3.5e3 + 1.06e6 + 64.02e6

test.each([
  // containerd image store: BuildKit pushes, and its push prints no sizes.
  ['parent-push.txt', 0, undefined],
  ['child-by-digest-warm.txt', 0, undefined], // the parent is already in the engine's store
  ['child-by-digest-fresh.txt', LARGE_PARENT, undefined], // an empty engine pulls the whole parent
  ['link-push-fresh.txt', LARGE_PARENT, undefined], // --push unpacks into the image store: still pulls
  ['nolink-straight-push-fresh.txt', LARGE_PARENT, undefined], // store=false, but COPY needs the parent
  ['link-straight-push-fresh.txt', 0, undefined], // store=false and COPY --link: nothing pulled
  ['cache-from-fresh.txt', 1.06e6 + 5e6 + 3.5e3, undefined], // cache blobs pulled for CACHED steps
  // classic image store: the engine pushes and shows sizes while a layer moves.
  ['classic-parent-push.txt', 0, 6e6 + 140.29e3 + 1.98e6],
  ['classic-child-by-digest-fresh.txt', 946 + 864 + 1.06e6 + 3.52e3 + 6e6, undefined]
])('%s: %d bytes pulled, %s bytes pushed', async (file, pulled, pushed) => {
  const p = await parse(file)
  expect(p.bytesPulled).toBe(Math.round(pulled))
  expect(p.bytesPushed).toBe(pushed === undefined ? undefined : Math.round(pushed))
})

test('a blob shown in several lines (progress, done, a FROM step printed again) counts once, at its size', async () => {
  const p = new ProgressCounter()
  const lines = (await readFile(join(dir, 'child-by-digest-fresh.txt'), 'utf8')).split('\n')
  const big = lines.filter(l => l.startsWith('#5 sha256:de373397cc1e'))
  expect(big).toHaveLength(4) // 15.73MB, 35.65MB, 58.72MB of 64.02MB, then done
  for (const l of big) p.add(l)
  expect(p.bytesPulled).toBe(64.02e6)
  for (const l of big) p.add(l)
  expect(p.bytesPulled).toBe(64.02e6)
  // `extracting sha256:…`, `exporting manifest sha256:…`, `resolve …` are no transfers.
  const other = lines.filter(l => / (extracting|exporting manifest|resolve) /.test(l))
  expect(other.length).toBeGreaterThan(3)
  const q = new ProgressCounter()
  for (const l of other) q.add(l)
  expect(q.bytesPulled).toBe(0)
})

test('steps are still counted in the same captures', async () => {
  const p = await parse('cache-from-fresh.txt')
  expect([p.cached, p.total]).toEqual([3, 3])
  const c = await parse('classic-child-by-digest-fresh.txt')
  expect([c.cached, c.total]).toEqual([0, 3])
})

test.each([
  [undefined, '—'],
  [0, '0 B'],
  [946, '946 B'],
  [3500, '3.5 kB'],
  [65083500, '65.1 MB'],
  [999960, '1.0 MB'],
  [1.2e9, '1.2 GB']
])('humanBytes(%p) is %p', (n, text) => {
  expect(humanBytes(n)).toBe(text)
})

test('the summary shows the bytes of a parsed build in their own column', async () => {
  const fresh = await parse('child-by-digest-fresh.txt')
  const linked = await parse('link-straight-push-fresh.txt')
  const classic = await parse('classic-parent-push.txt')
  const plan: Plan = {
    event: 'push',
    changes: { source: 'api', count: 1 },
    layers: Object.fromEntries(
      ['base', 'tooling', 'app', 'docs'].map(n => [
        n,
        {
          build: n !== 'docs',
          reasons: n === 'docs' ? [] : ['forced'],
          matches: [],
          tags: [],
          selected: true
        }
      ])
    )
  }
  const built = (name: string, p: ProgressCounter) => ({
    name,
    status: 'built' as const,
    reasons: ['forced'],
    bytesPulled: p.bytesPulled,
    bytesPushed: p.bytesPushed
  })
  const result: BuildResult = {
    commands: [],
    layers: {
      base: built('base', classic),
      tooling: built('tooling', fresh),
      app: built('app', linked),
      docs: { name: 'docs', status: 'reused', reasons: [] }
    }
  }
  const rows = renderSummary(plan, result)
    .split('\n')
    .filter(l => l.startsWith('|'))
  expect(rows[0]).toBe(
    '| Layer | Status | Reasons | Tags | Digest | Duration | Cached steps | Pulled / pushed |'
  )
  expect(rows[1]).toBe('| --- | --- | --- | --- | --- | --- | --- | --- |')
  expect(rows.slice(2).map(r => r.split(' | ').at(-1))).toEqual([
    '0 B / 8.1 MB |',
    '65.1 MB / — |',
    '0 B / — |',
    '— |'
  ])
})

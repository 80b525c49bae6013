import type { Plan } from '../../src/core/types.js'
import { minimatch } from 'minimatch'

test('toolchain runs ESM TypeScript with real deps', () => {
  const plan: Plan = { layers: {}, changes: { source: 'none', count: 0 }, event: 'push' }
  expect(plan.changes.count).toBe(0)
  expect(minimatch('.github/x.yml', '**/*.yml', { dot: true })).toBe(true)
})

// A config with thousands of layers must not hang (issue 13 item 11): parse + decide stays linear.
// The figures are printed for the report; the test holds the growth, not a machine-dependent time.
import { expect, test } from '@jest/globals'
import { loadEvent } from '../../__fixtures__/events/index.js'
import { parseConfig } from '../../src/core/config/index.js'
import { readEvent } from '../../src/core/event.js'
import { checkPlan } from '../../src/core/plan-check.js'
import { decide, describePlan, parsePlanInput, planToJson } from '../../src/core/plan.js'

/** `n` layers: a chain of parents, each with a few paths, and every fifth a leaf off the chain. */
function bigConfig(n: number): string {
  const lines = ['version: 1', 'image: ghcr.io/acme/big', 'layers:']
  let previous: string | undefined
  for (let i = 0; i < n; i++) {
    const name = `layer-${i}`
    const leaf = i % 5 === 4
    lines.push(
      `  ${name}:`,
      `    dockerfile: docker/${name}/Dockerfile`,
      `    paths: ['docker/${name}/**', '!docker/${name}/*.md']`
    )
    if (previous) lines.push(`    from: ${previous}`)
    if (leaf) lines.push(`    image: ghcr.io/acme/big-${name}`)
    else previous = name
  }
  return lines.join('\n')
}

function measure(n: number): number {
  const text = bigConfig(n)
  const { eventName, payload, env } = loadEvent('push')
  const ctx = readEvent(eventName, payload, env, new Date('2025-06-01T12:00:00Z'))
  const files = Array.from({ length: 200 }, (_, i) => ({
    path: `docker/layer-${i * 7}/x.sh`,
    status: 'modified' as const
  }))
  const started = performance.now()
  const config = parseConfig(text, '.github/strata.yml')
  const plan = decide({ config, ctx, changes: { source: 'api', files }, force: [], stableExists: {} })
  describePlan(plan, config)
  checkPlan(parsePlanInput(JSON.stringify(planToJson(plan))), config, ctx)
  const ms = performance.now() - started
  expect(config.order).toHaveLength(n)
  expect(Object.keys(plan.layers)).toHaveLength(n)
  return ms
}

test('2,000 and 5,000 layers: parse, decide, describe and check a plan in linear time', () => {
  measure(200) // warm up the JIT
  const small = measure(2000)
  const large = measure(5000)
  process.stdout.write(`scale: 2000 layers ${small.toFixed(0)} ms, 5000 layers ${large.toFixed(0)} ms\n`)
  // Linear work grows 2.5×; quadratic would grow 6.25×. Leave room for a shared, noisy machine.
  expect(large / small).toBeLessThan(4.5)
  expect(large).toBeLessThan(30_000)
})

// Issue 17: externals reach the build pinned (SPEC 7), and an image with the same inputs is reused
// for a child only when it was built on the parent images this run uses (SPEC 4a).
import { contextNameOf, pinExternals } from '../../src/core/build-steps.js'
import { parentMismatch } from '../../src/core/same-inputs.js'

const D = (c: string): string => `sha256:${c.repeat(64)}`

test.each([
  ['ubuntu:24.04', 'ubuntu:24.04'],
  ['docker.io/library/ubuntu:24.04', 'ubuntu:24.04'],
  ['docker.io/acme/tool:1', 'acme/tool:1'],
  ['node:latest', 'node'],
  ['localhost:5000/strata/ext:1', 'localhost:5000/strata/ext:1'],
  ['ghcr.io/acme/base:latest', 'ghcr.io/acme/base']
])('the named context of %s is %s', (ref, name) => {
  expect(contextNameOf(ref)).toBe(name)
})

test('externals become named contexts by digest; the frontend goes through BUILDKIT_SYNTAX; pinned ones stay', () => {
  const contexts: Record<string, string> = { 'strata-layer-base': 'target:base' }
  const args: Record<string, string> = {}
  pinExternals(
    [
      { ref: 'ubuntu:24.04', digest: D('1') },
      { ref: 'docker/dockerfile:1.7', digest: D('2'), frontend: true },
      { ref: `node:22@${D('3')}`, digest: D('3') }
    ],
    contexts,
    args
  )
  expect(contexts).toEqual({
    'strata-layer-base': 'target:base',
    'ubuntu:24.04': `docker-image://ubuntu:24.04@${D('1')}`
  })
  expect(args).toEqual({ BUILDKIT_SYNTAX: `docker/dockerfile:1.7@${D('2')}` })
  const given = { BUILDKIT_SYNTAX: 'acme/frontend:2' }
  pinExternals([{ ref: 'docker/dockerfile:1.7', digest: D('2'), frontend: true }], {}, given)
  expect(given.BUILDKIT_SYNTAX).toBe('acme/frontend:2') // the user's build arg wins, as in BuildKit
})

const BASE = { 'linux/amd64': [D('a'), D('b')], 'linux/arm64': [D('c')] }
test.each<[string, Record<string, string[]>, Record<string, Record<string, string[]>>, string | undefined]>([
  [
    'built on the parent, every platform',
    { 'linux/amd64': [D('a'), D('b'), D('e')], 'linux/arm64': [D('c'), D('f')] },
    { base: BASE },
    undefined
  ],
  [
    'built on the parent, the same layers (an empty child layer)',
    { 'linux/amd64': [D('a'), D('b')] },
    { base: BASE },
    undefined
  ],
  [
    'the parent was rebuilt with the same inputs (other layers)',
    { 'linux/amd64': [D('9'), D('b'), D('e')] },
    { base: BASE },
    'was built on another base image (linux/amd64)'
  ],
  [
    'right on amd64, another base on arm64',
    { 'linux/amd64': [D('a'), D('b'), D('e')], 'linux/arm64': [D('d'), D('f')] },
    { base: BASE },
    'was built on another base image (linux/arm64)'
  ],
  [
    'a platform the parent has not',
    { 'linux/riscv64': [D('a')] },
    { base: BASE },
    'has a linux/riscv64 image, which the base image this run uses has not'
  ],
  [
    'shorter than the parent',
    { 'linux/amd64': [D('a')] },
    { base: BASE },
    'was built on another base image (linux/amd64)'
  ],
  ['no platform at all', {}, { base: BASE }, 'has no image to compare']
])('%s', (_name, image, parents, why) => {
  expect(parentMismatch(image, parents)).toBe(why)
})

test('an image with the same inputs built on another parent image is not reused; the decision says why', async () => {
  const { decideSameInputs } = await import('../../src/core/same-inputs.js')
  const inputs = D('1')
  const d = { build: true, reasons: ['1 changed file matches'], matches: [], tags: [], selected: true }
  const found = { digest: D('2'), labels: { 'dev.strata.inputs': inputs } }
  const opts = { reuse: 'any' as const, defaultBranch: 'main', stable: 'r:tooling-stable', image: 'r' }
  const facts = { inputs, found, externals: {} }
  expect(decideSameInputs('tooling', d, facts, opts).decision.sameInputs).toBe(
    `r:tooling-inputs-${'1'.repeat(16)}@${D('2')}`
  )
  const stale = decideSameInputs(
    'tooling',
    d,
    { ...facts, notOnParents: 'was built on another base image (linux/amd64)' },
    opts
  )
  expect([stale.decision.build, stale.decision.sameInputs, stale.decision.notReused]).toEqual([
    true,
    undefined,
    `tooling-inputs-${'1'.repeat(16)} was built on another base image (linux/amd64)`
  ])
})

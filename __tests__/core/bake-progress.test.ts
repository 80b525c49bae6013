// A bake session's plain progress split by target, from output captured on the stack (buildx
// 0.13.1, docker driver, containerd store): __fixtures__/bake/*.txt, the __fixtures__/images Dockerfiles.
import { readFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { descendants, failedTarget } from '../../src/core/bake.js'
import type { ProgressTarget } from '../../src/core/progress.js'
import {
  BakeProgress,
  builderConnectionLost,
  pushServerError,
  registryServerError
} from '../../src/core/progress.js'

const root = join(dirname(fileURLToPath(import.meta.url)), '../../__fixtures__')
const dockerfile = (name: string): string => readFileSync(join(root, 'images', name), 'utf8')

function replay(capture: string, targets: ProgressTarget[]): BakeProgress {
  const p = new BakeProgress(targets)
  for (const line of readFileSync(join(root, 'bake', capture), 'utf8').split('\n')) p.add(line)
  return p
}

const chain = (tooling: string): ProgressTarget[] => [
  { name: 'base', parents: [], dockerfile: dockerfile('Dockerfile.base') },
  { name: 'tooling', parents: ['base'], dockerfile: dockerfile(tooling) },
  { name: 'app', parents: ['tooling'], dockerfile: dockerfile('Dockerfile.app') }
]

const D = (hex: string): string => `sha256:${hex}`

test('three layers pushed: each step goes to the layer whose Dockerfile has it, each export to its target', () => {
  const p = replay('three-layers-push.txt', chain('Dockerfile.tooling'))
  // BuildKit printed tooling's `COPY tooling.txt` as `[app 1/3]`: it is tooling's.
  expect(p.lines('tooling')).toContain('#15 [app 1/3] COPY tooling.txt /etc/tooling.txt')
  expect(p.lines('app')).not.toContain('#15 [app 1/3] COPY tooling.txt /etc/tooling.txt')
  expect(['base', 'tooling', 'app'].map(t => [p.counter(t).total, p.counter(t).cached])).toEqual([
    [3, 2], // COPY busybox and RUN --install cached, COPY base.txt built
    [2, 0],
    [2, 0]
  ])
  expect(['base', 'tooling', 'app'].map(t => p.exportOf(t))).toEqual([
    { state: 'done', digest: D('5eadeb0177ac3c5e0406e3ea79f5b3219ad14ad7709ad942710bae8b3c7971b6') },
    { state: 'done', digest: D('c28db1a638e8acc7ed47f9f26eb74d05ab31565fa09bf2604ffa00aacefaed4b') },
    { state: 'done', digest: D('75f40bc31a17e06eda3d8622504787a794e767ccff05c7d6c34bdf08031d2e03') }
  ])
  expect(p.failedStep).toBeUndefined()
  expect(p.session[0]).toBe('#0 building with "default" instance using docker driver')
})

test.each<[string, ProgressTarget[], string, Record<string, string | undefined>]>([
  [
    'fail-named-after-target.txt',
    chain('Dockerfile.fail'),
    'tooling',
    { base: 'canceled', tooling: undefined, app: undefined }
  ],
  [
    // tooling's failing RUN printed as `[app 1/2]`; `other` builds beside them on a reused base.
    'fail-named-after-child.txt',
    [
      ...chain('Dockerfile.fail'),
      { name: 'other', parents: [], dockerfile: dockerfile('Dockerfile.tooling') }
    ],
    'tooling',
    { base: 'canceled', tooling: undefined, app: undefined, other: 'canceled' }
  ]
])('%s: the failed target, and what bake cancelled', (capture, targets, failed, exports) => {
  const p = replay(capture, targets)
  const session = targets.map(t => ({
    name: t.name,
    parents: t.parents,
    dockerfile: `/ws/${t.name}.Dockerfile`
  }))
  session[1].dockerfile = '/ws/Dockerfile.fail'
  expect(failedTarget(session, { target: p.failedStep, dockerfile: p.errorDockerfile })).toBe(failed)
  expect(p.errorDockerfile).toBe('Dockerfile.fail')
  expect(p.lastError).toBe(
    'ERROR: failed to solve: process "/bin/sh -c echo \\"this layer fails on purpose\\" && false" did not complete successfully: exit code: 1'
  )
  expect(Object.fromEntries(targets.map(t => [t.name, p.exportOf(t.name)?.state]))).toEqual(exports)
})

const S = (name: string, dockerfile: string, parents: string[] = []) => ({ name, dockerfile, parents })
test.each<[string, ReturnType<typeof S>[], { target?: string; dockerfile?: string }, string | undefined]>([
  ['the named target when no Dockerfile is named', [S('a', 'A'), S('b', 'B', ['a'])], { target: 'b' }, 'b'],
  [
    'an ancestor whose Dockerfile it is',
    [S('a', '/w/A'), S('b', '/w/B', ['a'])],
    { target: 'b', dockerfile: 'A' },
    'a'
  ],
  // Same Dockerfile for parent and child: the parent, which the child's failure follows from.
  [
    'the first in build order of a shared Dockerfile',
    [S('a', 'C'), S('b', 'C', ['a'])],
    { target: 'b', dockerfile: 'C' },
    'a'
  ],
  ['never an unrelated target', [S('a', 'A'), S('b', 'B')], { target: 'b', dockerfile: 'A' }, 'b'],
  ['by Dockerfile alone when no step was named', [S('a', 'A'), S('b', 'B')], { dockerfile: 'B' }, 'b'],
  ['nothing known', [S('a', 'A')], {}, undefined]
])('failedTarget: %s', (_why, targets, error, expected) => {
  expect(failedTarget(targets, error)).toBe(expected)
})

test('descendants: direct and indirect children, in build order; not siblings', () => {
  const t = [S('base', 'B'), S('tooling', 'T', ['base']), S('docs', 'D'), S('app', 'A', ['tooling', 'docs'])]
  expect(descendants(t, 'base')).toEqual(['tooling', 'app'])
  expect(descendants(t, 'docs')).toEqual(['app'])
  expect(descendants(t, 'app')).toEqual([])
})

test('each target is timed from its first line to its last', () => {
  const p = new BakeProgress(['base', 'app'])
  const at: [string, number][] = [
    ['#1 [base 1/1] COPY a /a', 100],
    ['#2 [app 1/1] COPY b /b', 150],
    ['#1 DONE 0.2s', 300],
    ['', 310],
    ['#3 [app] exporting to image', 400],
    ['#3 DONE 0.1s', 650]
  ]
  for (const [line, t] of at) p.add(line, t)
  expect([p.durationOf('base'), p.durationOf('app')]).toEqual([200, 500])
})

test('a one-target session carries no prefix: every vertex is that target’s, its cache export measured', () => {
  const p = new BakeProgress(['app'])
  for (const line of [
    '#8 [1/2] COPY app.txt /app.txt',
    '#8 CACHED',
    '',
    '#10 exporting cache to registry',
    '#10 preparing build cache for export 0.1s done',
    `#10 writing layer sha256:${'a'.repeat(64)} 1.50MB / 3.00MB 0.2s`,
    `#10 writing layer sha256:${'a'.repeat(64)} 3.00MB / 3.00MB 0.4s done`,
    `#10 writing layer sha256:${'b'.repeat(64)} done`,
    '#10 DONE 0.6s',
    '',
    '#11 exporting cache to client directory',
    '#11 DONE 0.1s'
  ]) {
    p.add(line)
  }
  expect(p.durationOf('app')).toBeUndefined() // no times given
  expect(p.counter('app').total).toBe(1)
  expect(p.counter('app').cached).toBe(1)
  expect(p.counter('app').cacheExports).toEqual([
    { kind: 'registry', seconds: 0.6, blobs: 2, bytes: 3e6 },
    { kind: 'local', seconds: 0.1, blobs: 0, bytes: 0 }
  ])
})

test.each([
  [
    "the docker driver's one connection, dialled again",
    'ERROR: failed to solve: Unavailable: rpc error: code = Unavailable desc = connection error: desc = "transport: Error while dialing: only one connection allowed"',
    true
  ],
  [
    'a dial that failed',
    '#5 ERROR: rpc error: code = Unavailable desc = connection error: desc = "transport: Error while dialing: dial unix /run/buildkit.sock: connect: no such file"',
    true
  ],
  [
    'a step that failed',
    'ERROR: failed to solve: process "/bin/sh -c exit 1" did not complete successfully: exit code: 1',
    false
  ],
  ['a registry that is unavailable', 'ERROR: failed to push: 503 Service Unavailable', false]
])('builderConnectionLost: %s → %s', (_, line, want) => {
  expect(builderConnectionLost(['#1 [internal] load build definition', line])).toBe(want)
})

test.each([
  ['a RUN that exited', '#20 ERROR: process "/bin/sh -c false" did not complete successfully: exit code: 1'],
  ['the error summary naming a step', ' > [tooling 2/2] COPY missing.txt /x:']
])('builderConnectionLost: the connection dropped after %s → false (the step is the cause)', (_, step) => {
  const lost =
    'ERROR: failed to solve: Unavailable: rpc error: code = Unavailable desc = connection error: desc = "transport: Error while dialing: only one connection allowed"'
  expect(builderConnectionLost(['#1 [internal] load build definition', lost])).toBe(true)
  expect(builderConnectionLost(['#1 [internal] load build definition', step, lost])).toBe(false)
})

test.each([
  [
    'a HEAD of a tag Distribution is writing (seen in CI)',
    'ERROR: unexpected status from HEAD request to http://localhost:5000/v2/x/manifests/main-40d3f9d: 500 Internal Server Error',
    true
  ],
  ['a push through a proxy', '#12 ERROR: failed to push localhost:5000/x:t: 502 Bad Gateway', true],
  ['a registry that is unavailable', 'ERROR: failed to push: 503 Service Unavailable', true],
  ['a denied push (not a server error)', 'ERROR: failed to push localhost:5000/x:t: 401 Unauthorized', false],
  ['a missing base image', 'ERROR: failed to solve: localhost:5000/nope:1: not found', false],
  ["a 500 in a RUN step's own output", '#9 0.412 HTTP/1.1 500 Internal Server Error', false]
])('registryServerError: %s → %s', (_, line, want) => {
  expect(registryServerError(['#1 [internal] load build definition', line])).toBe(want)
})

test('registryServerError: after a step that failed on its own → false (the step is the cause)', () => {
  const push = 'ERROR: failed to push: 503 Service Unavailable'
  const step = '#20 ERROR: process "/bin/sh -c false" did not complete successfully: exit code: 1'
  expect(registryServerError(['#1 x', step, push])).toBe(false)
})

test.each([
  [
    "docker push's HEAD of a tag Distribution is writing",
    'unexpected status from HEAD request to http://localhost:5000/v2/x/manifests/t: 500 Internal Server Error\n',
    true
  ],
  ['a gateway in front of the registry', 'received unexpected HTTP status: 502 Bad Gateway', true],
  ['a denied push', 'denied: requested access to the resource is denied', false],
  ['an unauthorized push', 'unexpected status: 401 Unauthorized', false],
  ['no error line', undefined, false]
])('pushServerError: %s → %s', (_, line, want) => {
  expect(pushServerError(line)).toBe(want)
})

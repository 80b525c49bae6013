import {
  parseImageRef,
  pinnedDigest,
  registryHost,
  splitImageRef,
  withoutDigest
} from '../../src/core/image-ref.js'

const D = `sha256:${'a'.repeat(64)}`

describe('parseImageRef', () => {
  test.each([
    ['ubuntu', { host: 'docker.io', name: 'library/ubuntu' }],
    ['ubuntu:24.04', { host: 'docker.io', name: 'library/ubuntu', tag: '24.04' }],
    ['acme/app:1', { host: 'docker.io', name: 'acme/app', tag: '1' }],
    ['ghcr.io/acme/sindri:tooling-stable', { host: 'ghcr.io', name: 'acme/sindri', tag: 'tooling-stable' }],
    [`localhost:5000/a/b:t@${D}`, { host: 'localhost:5000', name: 'a/b', tag: 't', digest: D }],
    [`localhost:5000/a@${D}`, { host: 'localhost:5000', name: 'a', digest: D }],
    ['localhost/x', { host: 'localhost', name: 'x' }],
    ['127.0.0.1:5000/x:y', { host: '127.0.0.1:5000', name: 'x', tag: 'y' }]
  ])('%s', (ref, want) => {
    expect(parseImageRef(ref)).toEqual(want)
  })

  test.each([
    ['--help', /repository must be lower-case/],
    ['Acme/App', /repository must be lower-case/],
    ['a/b:bad tag', /tag "bad tag"/],
    ['a/b@sha256:xyz', /digest must be/],
    ['', /repository must be/],
    ['ghcr.io/', /repository must be/],
    ['ghcr.io/a/-x', /repository must be/]
  ])('%s is refused', (ref, why) => {
    expect(() => parseImageRef(ref)).toThrow(why)
  })
})

test.each([
  ['ubuntu', 'docker.io'],
  ['acme/app', 'docker.io'],
  ['ghcr.io/a/b', 'ghcr.io'],
  ['localhost:5000/a', 'localhost:5000']
])('registryHost(%s) is %s', (ref, host) => {
  expect(registryHost(ref)).toBe(host)
})

// The split every module uses on references Strata made (tags to move, reused images, summary cells):
// a registry port is no tag, and nothing is added (no docker.io, no library/).
describe('splitImageRef', () => {
  test.each([
    ['ghcr.io/acme/app:tooling-3f2a9c1', { repository: 'ghcr.io/acme/app', tag: 'tooling-3f2a9c1' }],
    ['localhost:5000/a/b', { repository: 'localhost:5000/a/b' }],
    [`localhost:5000/a/b:t@${D}`, { repository: 'localhost:5000/a/b', tag: 't', digest: D }],
    [`localhost:5000/a@${D}`, { repository: 'localhost:5000/a', digest: D }],
    ['ubuntu:24.04', { repository: 'ubuntu', tag: '24.04' }]
  ])('%s', (ref, want) => {
    expect(splitImageRef(ref)).toEqual(want)
  })

  test.each([
    [`localhost:5000/a/b:t@${D}`, 'localhost:5000/a/b:t', D],
    [`localhost:5000/a@${D}`, 'localhost:5000/a', D],
    ['localhost:5000/a:t', 'localhost:5000/a:t', undefined],
    ['localhost:5000/a@sha256:short', 'localhost:5000/a', undefined]
  ])('%s: without its digest %s, pinned to %s', (ref, bare, pinned) => {
    expect(withoutDigest(ref)).toBe(bare)
    expect(pinnedDigest(ref)).toBe(pinned)
  })
})

import { parseImageRef, registryHost } from '../../src/core/image-ref.js'

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

// A registry's server error during a bake session's push is passing: the session runs once more and the
// step succeeds (bake-session.ts bakeWithRetry). A proxy on loopback in front of the real registry answers
// the engine's first HEAD of a manifest tag with 500, as Distribution does when it reads a tag that a PUT
// is writing at that moment ("invalid checksum digest format", seen in CI); every other request passes.
import { copyFileSync, mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { jest } from '@jest/globals'
import { git } from '../__fixtures__/github-api-server.js'
import { uniqueRepo } from '../__fixtures__/images/index.js'
import { startPassThroughProxy, type PassThroughProxy } from '../__fixtures__/registry-proxy.js'
import { cli } from '../src/cli.js'

jest.setTimeout(300_000)

const images = join(dirname(fileURLToPath(import.meta.url)), '../__fixtures__/images')
const failed: string[] = []
let proxy: PassThroughProxy

/** Forwards every request to the registry, except the engine's first HEAD of a tag: 500. */
function startProxy(): Promise<PassThroughProxy> {
  return startPassThroughProxy(5000, (req, res) => {
    // The engine's own push of the session's image (after BuildKit's, on the docker driver), as in CI.
    const builder = /^docker\//.test(req.headers['user-agent'] ?? '')
    if (!builder || req.method !== 'HEAD' || !/\/manifests\/(?!sha256:)/.test(req.url ?? '') || failed.length)
      return false
    failed.push(`${req.method} ${req.url}`)
    res.writeHead(500, { 'content-type': 'application/json' }).end()
    return true
  })
}

afterAll(() => proxy.close())

test('a 500 from the registry during the session: one warning, the session once more, the image pushed', async () => {
  proxy = await startProxy()
  const host = proxy.host
  const image = uniqueRepo('bake-retry').replace('localhost:5000', host)
  const repo = mkdtempSync(join(tmpdir(), 'strata-bake-retry-'))
  copyFileSync(join(images, 'Dockerfile.copy'), join(repo, 'Dockerfile.copy'))
  writeFileSync(join(repo, 'app.txt'), `app ${Date.now()}\n`)
  // Two platforms: BuildKit pushes the index itself, inside the session (one platform would be pushed
  // by the engine after it).
  writeFileSync(
    join(repo, 'strata.yml'),
    [
      'version: 1',
      `image: ${image}`,
      'defaults:',
      '  platforms: [linux/amd64, linux/arm64]',
      'layers:',
      '  app:',
      '    dockerfile: Dockerfile.copy'
    ].join('\n')
  )
  git(repo, 'init', '-q', '-b', 'main')
  git(repo, 'add', '-A')
  git(repo, 'commit', '-q', '-m', 'one layer')
  const head = git(repo, 'rev-parse', 'HEAD')
  let out = ''
  let err = ''
  const code = await cli(
    ['build', '--push', '--json', '--base', head, '-C', repo, '--config', 'strata.yml'],
    {
      out: t => void (out += t),
      err: t => void (err += t)
    }
  )
  expect(failed).toHaveLength(1)
  expect({
    code,
    err: err.includes('the registry answered the session with a server error (5xx); running it once more')
  }).toEqual({ code: 0, err: true })
  expect((JSON.parse(out) as { layers: { app: { build: boolean } } }).layers.app.build).toBe(true)
  // Pushed: the versioned tag and the moving tag name the same index.
  const name = image.slice(host.length + 1)
  const digest = async (tag: string): Promise<string | null> =>
    (
      await fetch(`http://127.0.0.1:5000/v2/${name}/manifests/${tag}`, {
        method: 'HEAD',
        headers: { accept: 'application/vnd.oci.image.index.v1+json' }
      })
    ).headers.get('docker-content-digest')
  const latest = await digest('latest')
  expect(latest).toMatch(/^sha256:[0-9a-f]{64}$/)
  expect(await digest(`main-${head.slice(0, 7)}`)).toBe(latest)
})

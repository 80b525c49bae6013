// A registry's server error while Strata pushes is passing: the push runs once more and the step
// succeeds. Two places push: the bake session itself (several platforms: BuildKit pushes the index,
// then the engine again; bake-session.ts bakeWithRetry) and `docker push` of an image the session
// stored in the engine (one platform on the docker driver; bake-session.ts pushOne). A proxy on
// loopback in front of the real registry answers the engine's first HEAD of a manifest tag with 500,
// as Distribution does when it reads a tag that a PUT is writing at that moment ("invalid checksum
// digest format", seen in CI); every other request passes.
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
const proxies: PassThroughProxy[] = []
afterAll(() => Promise.all(proxies.map(p => p.close())))

/** Forwards every request to the registry, except the engine's first HEAD of a tag: 500, noted in `failed`. */
async function startProxy(failed: string[]): Promise<PassThroughProxy> {
  const proxy = await startPassThroughProxy(5000, (req, res) => {
    // The engine's own push (after BuildKit's, or `docker push`), as in CI.
    const engine = /^docker\//.test(req.headers['user-agent'] ?? '')
    if (!engine || req.method !== 'HEAD' || !/\/manifests\/(?!sha256:)/.test(req.url ?? '') || failed.length)
      return false
    failed.push(`${req.method} ${req.url}`)
    res.writeHead(500, { 'content-type': 'application/json' }).end()
    return true
  })
  proxies.push(proxy)
  return proxy
}

/** `strata build --push` of a one-layer repository for `platforms`, through `proxy`. */
async function buildThrough(
  proxy: PassThroughProxy,
  platforms: string[]
): Promise<{ code: number; out: string; err: string; name: string; head: string }> {
  const image = uniqueRepo('bake-retry').replace('localhost:5000', proxy.host)
  const repo = mkdtempSync(join(tmpdir(), 'strata-bake-retry-'))
  copyFileSync(join(images, 'Dockerfile.copy'), join(repo, 'Dockerfile.copy'))
  writeFileSync(join(repo, 'app.txt'), `app ${Date.now()}\n`)
  writeFileSync(
    join(repo, 'strata.yml'),
    [
      'version: 1',
      `image: ${image}`,
      'defaults:',
      `  platforms: [${platforms.join(', ')}]`,
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
  return { code, out, err, name: image.slice(proxy.host.length + 1), head }
}

/** The digest the registry gives for `name:tag`, read directly (not through the proxy). */
async function digestOf(name: string, tag: string): Promise<string | null> {
  const res = await fetch(`http://127.0.0.1:5000/v2/${name}/manifests/${tag}`, {
    method: 'HEAD',
    headers: {
      accept: ['application/vnd.oci.image.index.v1+json', 'application/vnd.oci.image.manifest.v1+json'].join(
        ', '
      )
    }
  })
  return res.headers.get('docker-content-digest')
}

/** Pushed: the versioned tag and the moving tag name the same image. */
async function expectPushed(r: { name: string; head: string }): Promise<void> {
  const latest = await digestOf(r.name, 'latest')
  expect(latest).toMatch(/^sha256:[0-9a-f]{64}$/)
  expect(await digestOf(r.name, `main-${r.head.slice(0, 7)}`)).toBe(latest)
}

test('a 500 from the registry during the session: one warning, the session once more, the image pushed', async () => {
  const failed: string[] = []
  const r = await buildThrough(await startProxy(failed), ['linux/amd64', 'linux/arm64'])
  expect(failed).toHaveLength(1)
  expect({
    code: r.code,
    err: r.err.includes('the registry answered the session with a server error (5xx); running it once more')
  }).toEqual({ code: 0, err: true })
  expect((JSON.parse(r.out) as { layers: { app: { build: boolean } } }).layers.app.build).toBe(true)
  await expectPushed(r)
})

test('a 500 from the registry during `docker push` of a stored image: one warning, pushed once more', async () => {
  const failed: string[] = []
  const r = await buildThrough(await startProxy(failed), ['linux/amd64'])
  expect(failed).toHaveLength(1)
  expect({
    code: r.code,
    err: r.err.includes(`with a server error (5xx); pushing once more`),
    session: r.err.includes('running it once more')
  }).toEqual({ code: 0, err: true, session: false })
  await expectPushed(r)
})

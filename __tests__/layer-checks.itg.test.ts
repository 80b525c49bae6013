// SPEC 3a on the real stack: a child whose Dockerfile ignores its parent is refused before anything
// runs (no registry look-up, no build, nothing pushed); external images are resolved to digests at
// plan time through the registry, and one that cannot be resolved is one warning.
import { copyFileSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { jest } from '@jest/globals'
import { git } from '../__fixtures__/github-api-server.js'
import { buildAndPush, digestOf, uniqueRepo } from '../__fixtures__/images/index.js'
import { cli } from '../src/cli.js'

jest.setTimeout(600_000)

function repoWith(files: Record<string, string>): string {
  const repo = mkdtempSync(join(tmpdir(), 'strata-checks-'))
  for (const [f, text] of Object.entries(files)) {
    mkdirSync(join(repo, f, '..'), { recursive: true })
    writeFileSync(join(repo, f), text)
  }
  copyFileSync('/bin/busybox', join(repo, 'busybox'))
  git(repo, 'init', '-q', '-b', 'main')
  git(repo, 'add', '-A')
  git(repo, 'commit', '-q', '-m', 'layers')
  return repo
}

async function strata(repo: string, ...args: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = ''
  let err = ''
  const code = await cli([...args, '-C', repo], { out: t => void (out += t), err: t => void (err += t) })
  return { code, out, err }
}

test('a child whose Dockerfile ignores its parent is refused before any build; nothing is pushed', async () => {
  const image = uniqueRepo('refused')
  const repo = repoWith({
    '.github/strata.yml': `version: 1\nimage: ${image}\nlayers:\n  base:\n    dockerfile: Dockerfile.base\n  app:\n    dockerfile: Dockerfile\n    from: base\n`,
    'Dockerfile.base': 'FROM scratch\nCOPY busybox /bin/busybox\n',
    Dockerfile:
      '# the parent is passed as BASE_IMAGE, but never used\nARG BASE_IMAGE\nFROM busybox:1.36\nCOPY --link app.txt /app.txt\n',
    'app.txt': 'app\n'
  })
  const r = await strata(repo, 'build', '--push', '--force', 'all')
  expect(r.code).toBe(1)
  expect(r.err).toBe(
    'strata: Dockerfile:3:1: FROM busybox:1.36 does not use ARG BASE_IMAGE, so layer "app" is not built on layer ' +
      '"base": write ARG BASE_IMAGE before it and FROM ${BASE_IMAGE}\n'
  )
  // Refused before the plan's first line: no event read, no registry look-up, no build.
  expect(r.err).not.toContain('Event:')
  expect(await digestOf(`${image}:base-stable`)).toBeUndefined()
  expect(await digestOf(`${image}:latest`)).toBeUndefined()
})

test('external images are resolved to digests at plan time; an unknown one is one warning and the plan goes on', async () => {
  const image = uniqueRepo('externals')
  const tools = uniqueRepo('tools')
  // A tools image in the open registry, to be read with COPY --from=.
  const ctx = mkdtempSync(join(tmpdir(), 'strata-tools-'))
  writeFileSync(join(ctx, 'Dockerfile'), 'FROM scratch\nCOPY t.txt /t.txt\n')
  writeFileSync(join(ctx, 't.txt'), `tools ${image}\n`)
  await buildAndPush(['--quiet', '--output', `type=image,name=${tools}:1,push=true`, ctx])
  const toolsDigest = await digestOf(`${tools}:1`)
  expect(toolsDigest).toMatch(/^sha256:[0-9a-f]{64}$/)

  const repo = repoWith({
    '.github/strata.yml': `version: 1\nimage: ${image}\nlayers:\n  base:\n    dockerfile: Dockerfile.base\n  app:\n    dockerfile: Dockerfile\n    from: base\n`,
    'Dockerfile.base': `FROM ${tools}:1 AS tools\nFROM scratch\nCOPY busybox /bin/busybox\nCOPY --from=tools /t.txt /t.txt\n`,
    Dockerfile: `ARG BASE_IMAGE\nFROM \${BASE_IMAGE}\nCOPY --from=${image}-missing:1 /x /x\n`
  })
  const r = await strata(repo, 'plan', '--json', '--base', 'HEAD', '--head', 'HEAD')
  expect(r.code).toBe(0)
  const json = JSON.parse(r.out)
  expect(json.externals).toEqual({ [`${tools}:1`]: toolsDigest, [`${image}-missing:1`]: '' })
  const log = r.err.split('\n')
  // The event, the commits and the changes come first (SPEC 3); the warnings after them.
  expect(log[0]).toMatch(/^Event: push on refs\/heads\/main/)
  expect(log[2]).toMatch(/^Changed files: /)
  expect(log.filter(l => l.startsWith('warning:'))).toEqual([
    'warning: Dockerfile:3:1: leaf layer "app" has COPY without --link: building it pulls its parents; write COPY --link',
    `warning: external images not resolved to a digest: ${image}-missing:1 (not found); the plan goes on without them`
  ])
  expect(log.findIndex(l => l.startsWith('warning:'))).toBeGreaterThan(2)
  // `strata inputs` says what each layer reads and the images it names.
  const inputs = await strata(repo, 'inputs', 'base', '--json')
  expect(inputs.code).toBe(0)
  expect(JSON.parse(inputs.out).layers.base).toEqual({
    dockerfile: 'Dockerfile.base',
    context: '.',
    dockerignore: '.dockerignore',
    inputs: [
      { path: 'Dockerfile.base', reason: 'the Dockerfile' },
      { path: 'busybox', reason: 'Dockerfile.base:3 COPY' }
    ],
    externals: [{ image: `${tools}:1`, at: 'Dockerfile.base:1', keyword: 'FROM' }]
  })
})

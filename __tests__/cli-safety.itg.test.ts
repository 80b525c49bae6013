// The CLI as a newcomer meets it (issue 20): no scratch folder left behind by any command, a dry run
// that says what would build in a few lines (the bake definition in a file), `build --head` refused
// when the working tree is elsewhere, and a clone whose origin is a local path.
import { copyFileSync, cpSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { beforeAll, expect, jest, test } from '@jest/globals'
import { commitFiles, git } from '../__fixtures__/github-api-server.js'
import { uniqueRepo } from '../__fixtures__/images/index.js'
import { cli } from '../src/cli.js'

jest.setTimeout(120_000)

const root = join(dirname(fileURLToPath(import.meta.url)), '..')
const tmp = mkdtempSync(join(tmpdir(), 'strata-safety-'))
const repo = join(tmp, 'repo')
const image = uniqueRepo('safety')
let c0: string
let c1: string

beforeAll(() => {
  cpSync(join(root, 'examples/three-layer'), repo, { recursive: true })
  const file = join(repo, '.github/strata.yml')
  writeFileSync(file, readFileSync(file, 'utf8').replace('localhost:5000/strata-example', image))
  copyFileSync('/bin/busybox', join(repo, 'busybox'))
  git(repo, 'init', '-q', '-b', 'main')
  git(repo, 'add', '-A')
  git(repo, 'commit', '-q', '-m', 'three layers')
  c0 = git(repo, 'rev-parse', 'HEAD')
  c1 = commitFiles(repo, { 'docker/app/hello.sh': 'echo changed\n' }, 'app: change')
})

async function strata(...args: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = ''
  let err = ''
  const code = await cli(args, { out: t => void (out += t), err: t => void (err += t), tmp: scratch })
  return { code, out, err }
}

// The CLI's scratch folders go to a temp dir of this test's own, where nothing else writes.
const scratch = mkdtempSync(join(tmp, 'tmpdir-'))
const leftBehind = (): string[] => readdirSync(scratch).filter(n => n.startsWith('strata-cli-'))

test('no strata-cli-* folder is left after any command, success or failure', async () => {
  const bad = join(tmp, 'bad')
  cpSync(repo, bad, { recursive: true })
  writeFileSync(join(bad, 'Dockerfile.tooling'), 'ARG BASE_IMAGE\nFROM ${BASE_IMAGE}\nCOPY missing.txt /\n')
  const runs: [string[], number][] = [
    [['plan', '-C', repo, '--base', c0], 0],
    [['plan', '-C', repo, '--base', c0, '--json'], 0],
    [['build', '-C', repo, '--base', c0, '--dry-run'], 0],
    [['plan', '-C', bad, '--base', c0], 1],
    [['build', '-C', bad, '--base', c0, '--dry-run'], 1],
    [['plan', '-C', tmp], 1],
    [['inputs', '-C', repo], 0],
    [['plan', '--nope'], 2],
    [['--help'], 0]
  ]
  for (const [args, code] of runs) {
    const r = await strata(...args)
    expect({ args, code: r.code }).toEqual({ args, code })
    expect({ args, left: leftBehind() }).toEqual({ args, left: [] })
  }
})

test('build --dry-run: a short table of what would build, the bake definition in --bake-file', async () => {
  const bakeFile = join(tmp, 'bake.json')
  const r = await strata('build', '-C', repo, '--base', c0, '--dry-run', '--bake-file', bakeFile)
  expect(r.code).toBe(0)
  expect(r.out).toMatch(/^base\s+would build\s/m)
  expect(r.out).toMatch(/^app\s+would build\s/m)
  expect(r.out).not.toMatch(/\bbuilt\b/)
  // The log says what would run, one line a layer, and no JSON.
  expect(r.err).toMatch(/^Bake definition: \S+strata-bake\.json \(3 targets\)$/m)
  expect(r.err).toContain(`▸ Build app\n  would build Dockerfile, tags ["${image}:main-${c1.slice(0, 7)}"`)
  expect(r.err).not.toMatch(/^\s*"/m)
  expect(r.err.split('\n').length).toBeLessThan(40)
  expect(r.err).toContain(`bake definition written to ${bakeFile}`)
  const definition = JSON.parse(readFileSync(bakeFile, 'utf8'))
  expect(Object.keys(definition.target)).toEqual(['base', 'tooling', 'app'])
  expect(leftBehind()).toEqual([])
})

test('build --head refuses a commit the working tree is not at, and names the fix', async () => {
  const r = await strata('build', '-C', repo, '--base', c0, '--head', c0, '--dry-run')
  expect(r.code).toBe(1)
  expect(r.err).toBe(
    `strata: build --head ${c0}: the working tree is at ${c1.slice(0, 7)}, not ${c0.slice(0, 7)}; Strata ` +
      `builds the files in the working tree, so check out ${c0} first (git checkout ${c0}), or leave out --head\n`
  )
  // At that commit, it builds; plan compares any commits without checking them out.
  expect((await strata('build', '-C', repo, '--base', c0, '--head', 'HEAD', '--dry-run')).code).toBe(0)
  expect((await strata('plan', '-C', repo, '--base', c0, '--head', c0)).code).toBe(0)
})

test('a clone whose origin is a local path plans as local/<folder>', async () => {
  const clone = join(tmp, 'my clone')
  git(tmp, 'clone', '-q', repo, clone)
  copyFileSync('/bin/busybox', join(clone, 'busybox'))
  for (const origin of [repo, `file://${repo}`, '../repo']) {
    git(clone, 'remote', 'set-url', 'origin', origin)
    const r = await strata('plan', '-C', clone, '--base', c0)
    expect({ origin, code: r.code, err: r.err.split('\n')[0] }).toEqual({
      origin,
      code: 0,
      err: `Event: push on refs/heads/main in local/my-clone, commit ${c1.slice(0, 7)}`
    })
  }
})

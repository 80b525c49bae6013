// SPEC 4a on the real stack, through `strata build --push` on a clone of examples/three-layer whose base
// image is an external image of the local registry: a pull request builds tooling; the merge push builds
// no tooling, moves tooling-stable to exactly the pull request's digest and builds the app (an `always`
// layer) FROM it; a revert reuses the earlier image; a schedule with nothing moved builds only the app;
// one after the external image moved rebuilds base and its children with `inputs changed since …`.
// Every run signs its images through local Sigstore servers (SPEC 4b): the pull request as Strata's
// reusable workflow, the default branch as the repository's own workflow, so that `reuse: verified`
// (the default) verifies what the merge push and the revert reuse.
import { copyFileSync, cpSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { jest } from '@jest/globals'
import { commitFiles, git } from '../__fixtures__/github-api-server.js'
import { digestOf, docker, layersOf, uniqueRepo } from '../__fixtures__/images/index.js'
import { startSigstoreServers, type SigstoreServers } from '../__fixtures__/sigstore-servers.js'
import { cli } from '../src/cli.js'

jest.setTimeout(600_000)

const root = join(dirname(fileURLToPath(import.meta.url)), '..')
const tmp = mkdtempSync(join(tmpdir(), 'strata-same-inputs-'))
const repo = join(tmp, 'repo')
const image = uniqueRepo('same-inputs')
const external = `${image}-ext:1`
const TOOLING_INPUT = 'docker/scripts/install-tools.sh'

interface LayerJson {
  build: boolean
  reasons: string[]
  inputs?: string
  'same-inputs'?: string
}
type PlanJson = { layers: Record<string, LayerJson> }

/** Pushes a new image under the external tag (a FROM scratch image with busybox and a marker). */
async function moveExternal(marker: string): Promise<string> {
  const dir = mkdtempSync(join(tmp, 'ext-'))
  copyFileSync('/bin/busybox', join(dir, 'busybox'))
  writeFileSync(join(dir, 'marker'), marker)
  writeFileSync(join(dir, 'Dockerfile'), 'FROM scratch\nCOPY busybox /bin/busybox\nCOPY marker /marker\n')
  await docker(['buildx', 'build', '--provenance=false', '--push', '-t', external, dir])
  return (await digestOf(external)) as string
}

async function strata(...args: string[]): Promise<PlanJson> {
  let out = ''
  let err = ''
  const code = await cli([...args, '--json', '-C', repo], {
    out: t => void (out += t),
    err: t => void (err += t)
  })
  if (code !== 0) throw new Error(`strata ${args.join(' ')} exited ${code}:\n${err}`)
  return JSON.parse(out) as PlanJson
}

const built = (p: PlanJson): string[] => Object.keys(p.layers).filter(n => p.layers[n].build)
const tag = (t: string): Promise<string | undefined> => digestOf(`${image}:${t}`)

const REUSABLE = 'strata-build/strata/.github/workflows/build-layer.yml@refs/tags/v1'
const MAIN_WORKFLOW = 'local/repo/.github/workflows/images.yml@refs/heads/main'
const savedEnv = { ...process.env }
let sigstore: SigstoreServers
const signAs = (job_workflow_ref: string, ref: string): void =>
  sigstore.as({ repository: 'local/repo', job_workflow_ref, ref, sha: git(repo, 'rev-parse', 'HEAD') })
afterAll(async () => {
  process.env = savedEnv
  await sigstore?.close()
})

let c0: string
beforeAll(async () => {
  sigstore = await startSigstoreServers()
  const { GITHUB_API_URL: _api, ...env } = sigstore.env
  Object.assign(process.env, env, {
    GITHUB_SERVER_URL: 'https://github.com',
    GITHUB_ACTION_REPOSITORY: 'strata-build/strata',
    GITHUB_ACTION_REF: 'v1'
  })
  await moveExternal('one')
  cpSync(join(root, 'examples/three-layer'), repo, { recursive: true })
  const config = join(repo, '.github/strata.yml')
  writeFileSync(config, readFileSync(config, 'utf8').replace('localhost:5000/strata-example', image))
  const base = join(repo, 'Dockerfile.base')
  writeFileSync(base, readFileSync(base, 'utf8').replace('FROM scratch', `FROM ${external}`))
  copyFileSync('/bin/busybox', join(repo, 'busybox'))
  git(repo, 'init', '-q', '-b', 'main')
  git(repo, 'add', '-A')
  git(repo, 'commit', '-q', '-m', 'three layers on an external image')
  c0 = git(repo, 'rev-parse', 'HEAD')
})

test('pull request, merge, revert, quiet schedule, moved external', async () => {
  // main: every layer bootstraps, each image labelled with its inputs and tagged with its input tag.
  signAs(MAIN_WORKFLOW, 'refs/heads/main')
  const boot = await strata('build', '--push', '--base', c0, '--head', c0)
  expect(built(boot)).toEqual(['base', 'tooling', 'app'])
  const tooling0 = (await tag('tooling-stable')) as string
  const inputs0 = boot.layers.tooling.inputs as string
  expect(await tag(`tooling-inputs-${inputs0.slice(7, 23)}`)).toBe(tooling0)

  // The pull request changes a tooling input: tooling and app build; no stable tag moves.
  const c1 = commitFiles(repo, { [TOOLING_INPUT]: 'echo tools 2\n' }, 'tools 2', { branch: 'tools' })
  const event = join(tmp, 'pull_request.json')
  writeFileSync(
    event,
    JSON.stringify({
      action: 'synchronize',
      number: 7,
      pull_request: {
        number: 7,
        head: { sha: c1, ref: 'tools', repo: { full_name: 'local/repo' } },
        base: { sha: c0, ref: 'main', repo: { full_name: 'local/repo' } }
      },
      repository: { full_name: 'local/repo', name: 'repo', owner: { login: 'local' }, default_branch: 'main' }
    })
  )
  signAs(REUSABLE, 'refs/pull/7/merge')
  const pr = await strata('build', '--push', '--event-file', event, '--event-name', 'pull_request')
  expect(built(pr)).toEqual(['tooling', 'app'])
  const toolingPr = (await tag(`tooling-pr-7-${c1.slice(0, 7)}`)) as string
  expect(toolingPr).toMatch(/^sha256:/)
  expect(await tag('tooling-stable')).toBe(tooling0)

  // The merge push: tooling is reused by its inputs, tooling-stable moves to the PR's very digest, and
  // the app (always) is built FROM it.
  git(repo, 'checkout', '-q', 'main')
  git(repo, 'merge', '-q', '--no-ff', '-m', 'Merge pull request #7', 'tools')
  const c2 = git(repo, 'rev-parse', 'HEAD')
  signAs(MAIN_WORKFLOW, 'refs/heads/main')
  const merge = await strata('build', '--push', '--base', c0, '--head', c2)
  expect(built(merge)).toEqual(['app'])
  expect(merge.layers.tooling).toMatchObject({ build: false, reasons: ['1 changed file matches'] })
  expect(merge.layers.tooling['same-inputs']).toBe(
    `${image}:tooling-inputs-${merge.layers.tooling.inputs!.slice(7, 23)}@${toolingPr}`
  )
  expect(await tag('tooling-stable')).toBe(toolingPr)
  const toolingLayers = await layersOf(`${image}:tooling-stable`)
  expect((await layersOf(`${image}:latest`)).slice(0, toolingLayers.length)).toEqual(toolingLayers)

  // A revert to the earlier tooling reuses the earlier image.
  git(repo, 'revert', '--no-edit', '-m', '1', c2)
  const c3 = git(repo, 'rev-parse', 'HEAD')
  const revert = await strata('build', '--push', '--base', c2, '--head', c3)
  expect(built(revert)).toEqual(['app'])
  expect(revert.layers.tooling['same-inputs']).toBe(
    `${image}:tooling-inputs-${inputs0.slice(7, 23)}@${tooling0}`
  )
  expect(await tag('tooling-stable')).toBe(tooling0)

  // A schedule with nothing moved builds only the `always` layer.
  const schedule = join(tmp, 'schedule.json')
  writeFileSync(schedule, JSON.stringify({ schedule: '0 3 * * 1' }))
  const quiet = await strata('build', '--push', '--event-file', schedule, '--event-name', 'schedule')
  expect(built(quiet)).toEqual(['app'])

  // The external image moved: base rebuilds with the reason naming it, then its children.
  await moveExternal('two')
  const moved = await strata('build', '--push', '--event-file', schedule, '--event-name', 'schedule')
  expect(built(moved)).toEqual(['base', 'tooling', 'app'])
  expect(moved.layers.base.reasons).toEqual([`inputs changed since base-stable (${external} moved)`])
  expect(moved.layers.tooling.reasons).toEqual(['parent base rebuilt'])
})

// SPEC 4b on the real stack (git, buildx, the registry on 127.0.0.1:5000) with local Sigstore servers:
// a pull request pushes an image under the input tag of clean files; the merge push to the default
// branch reuses it only when an attestation of that very image, from this repository, signed by
// Strata's reusable workflow, verifies against the trust root. Every other way to put an image there
// (no attestation, another repository, the pull request's own workflow, another image's attestation,
// a certificate from an unknown CA or one already expired) builds the layer and says why.
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { jest } from '@jest/globals'
import { commitFiles, git } from '../__fixtures__/github-api-server.js'
import { digestOf, uniqueRepo } from '../__fixtures__/images/index.js'
import { startSigstoreServers, type SigstoreServers } from '../__fixtures__/sigstore-servers.js'
import { createReferrers } from '../src/adapters/referrers.js'
import { cli } from '../src/cli.js'

jest.setTimeout(600_000)

const tmp = mkdtempSync(join(tmpdir(), 'strata-trust-'))
const repo = join(tmp, 'repo')
const image = uniqueRepo('trust')
const REUSABLE = 'strata-build/strata/.github/workflows/build-layer.yml@refs/tags/v1'
const MAIN_WORKFLOW = 'local/repo/.github/workflows/images.yml@refs/heads/main'
const savedEnv = { ...process.env }
let sigstore: SigstoreServers
let pr = 0

interface LayerJson {
  build: boolean
  reasons: string[]
  inputs?: string
  'same-inputs'?: string
  attested?: string
}
type PlanJson = { layers: Record<string, LayerJson> }

async function strata(...args: string[]): Promise<{ plan: PlanJson; log: string }> {
  let out = ''
  let err = ''
  const code = await cli([...args, '--json', '-C', repo], {
    out: t => void (out += t),
    err: t => void (err += t)
  })
  if (code !== 0) throw new Error(`strata ${args.join(' ')} exited ${code}:\n${err}`)
  return { plan: JSON.parse(out) as PlanJson, log: err }
}

const signAs = (job_workflow_ref: string, ref: string, repository = 'local/repo'): void =>
  sigstore.as({ repository, job_workflow_ref, ref, sha: git(repo, 'rev-parse', 'HEAD') })

/** A pull request that changes the tool and pushes its image (signed as `sign` says, or not at all). */
async function pullRequest(content: string, sign: (n: number) => void): Promise<string> {
  const n = ++pr
  const base = git(repo, 'rev-parse', 'main')
  const head = commitFiles(repo, { 'tool.txt': content }, `tool ${n}`, { branch: `pr-${n}`, from: 'main' })
  const event = join(tmp, `pr-${n}.json`)
  const side = { repo: { full_name: 'local/repo' } }
  writeFileSync(
    event,
    JSON.stringify({
      action: 'synchronize',
      number: n,
      pull_request: {
        number: n,
        head: { sha: head, ref: `pr-${n}`, ...side },
        base: { sha: base, ref: 'main', ...side }
      },
      repository: { full_name: 'local/repo', name: 'repo', owner: { login: 'local' }, default_branch: 'main' }
    })
  )
  sign(n)
  const { plan } = await strata('build', '--push', '--event-file', event, '--event-name', 'pull_request')
  expect(plan.layers.tool.build).toBe(true)
  return (await digestOf(`${image}:pr-${n}-${head.slice(0, 7)}`)) as string
}

/** The merge push of the last pull request, run by the default branch's own workflow. */
async function mergePush(): Promise<{ tool: LayerJson; stable: string | undefined }> {
  const before = git(repo, 'rev-parse', 'main')
  git(repo, 'checkout', '-q', 'main')
  git(repo, 'merge', '-q', '--no-ff', '-m', `Merge pull request #${pr}`, `pr-${pr}`)
  signAs(MAIN_WORKFLOW, 'refs/heads/main')
  const { plan } = await strata('build', '--push', '--base', before, '--head', git(repo, 'rev-parse', 'HEAD'))
  return { tool: plan.layers.tool, stable: await digestOf(`${image}:latest`) }
}

/** Signing off for one pull request: the runner gives no OIDC token (no `id-token: write`). */
function unsigned(): () => void {
  const url = process.env.ACTIONS_ID_TOKEN_REQUEST_URL
  delete process.env.ACTIONS_ID_TOKEN_REQUEST_URL
  return () => void (process.env.ACTIONS_ID_TOKEN_REQUEST_URL = url)
}

beforeAll(async () => {
  sigstore = await startSigstoreServers()
  const { GITHUB_API_URL: _api, ...env } = sigstore.env
  Object.assign(process.env, env, {
    GITHUB_SERVER_URL: 'https://github.com',
    GITHUB_ACTION_REPOSITORY: 'strata-build/strata',
    GITHUB_ACTION_REF: 'v1'
  })
  git(tmp, 'init', '-q', '-b', 'main', 'repo')
  commitFiles(
    repo,
    {
      '.github/strata.yml': `version: 1\nimage: ${image}\nlayers:\n  tool:\n    dockerfile: Dockerfile\n`,
      Dockerfile: 'FROM scratch\nCOPY tool.txt /tool.txt\n',
      'tool.txt': 'tool 0\n'
    },
    'one layer'
  )
  signAs(MAIN_WORKFLOW, 'refs/heads/main')
  const head = git(repo, 'rev-parse', 'HEAD')
  await strata('build', '--push', '--base', head, '--head', head)
})
afterAll(async () => {
  process.env = savedEnv
  await sigstore?.close()
})

const NOT_REUSED = (why: string): string => `1 changed file matches (not reused: ${why}`

test("a pull request built through Strata's reusable workflow: the merge push verifies and reuses its image", async () => {
  const built = await pullRequest('tool 1\n', n => signAs(REUSABLE, `refs/pull/${n}/merge`))
  const { tool, stable } = await mergePush()
  expect(tool).toMatchObject({ build: false, reasons: ['1 changed file matches'] })
  expect(tool['same-inputs']).toMatch(new RegExp(`@${built}$`))
  expect(tool.attested).toBe(
    `https://github.com/local/repo/actions/runs/1 (refs/pull/${pr}/merge, ${git(repo, 'rev-parse', `pr-${pr}`).slice(0, 7)})`
  )
  expect(stable).toBe(built)
})

test('a forged label and input tag, pushed without an attestation: built, saying why', async () => {
  const restore = unsigned()
  let forged: string
  try {
    forged = await pullRequest('tool 2\n', () => undefined)
  } finally {
    restore()
  }
  const { tool, stable } = await mergePush()
  expect(tool.build).toBe(true)
  expect(tool.reasons).toEqual([`${NOT_REUSED(`no attestation of ${forged.slice(0, 19)}…`)})`])
  expect(stable).not.toBe(forged)
})

test.each([
  [
    "signed by the pull request's own workflow",
    (n: number) =>
      signAs(`local/repo/.github/workflows/images.yml@refs/pull/${n}/merge`, `refs/pull/${n}/merge`),
    'its signer local/repo/.github/workflows/images.yml@refs/pull/'
  ],
  [
    'signed in another repository',
    (n: number) => signAs(REUSABLE, `refs/pull/${n}/merge`, 'evil/repo'),
    'its attestation comes from https://github.com/evil/repo, not https://github.com/local/repo'
  ]
])('%s: built, saying why', async (_name, sign, why) => {
  const built = await pullRequest(`tool ${pr + 10}\n`, sign)
  const { tool, stable } = await mergePush()
  expect(tool.build).toBe(true)
  expect(tool.reasons[0]).toContain(NOT_REUSED(why))
  expect(stable).not.toBe(built)
})

test.each(['untrusted-ca', 'expired'] as const)('a certificate %s: built, saying why', async kind => {
  await sigstore.certificates(kind)
  let built: string
  try {
    built = await pullRequest(`tool ${kind}\n`, n => signAs(REUSABLE, `refs/pull/${n}/merge`))
  } finally {
    await sigstore.certificates('trusted')
  }
  const { tool, stable } = await mergePush()
  expect(tool.build).toBe(true)
  expect(tool.reasons[0]).toContain(NOT_REUSED('its attestation did not verify ('))
  expect(stable).not.toBe(built)
})

test("another image's attestation attached to a forged image: built, saying why", async () => {
  // A genuine attestation of the image now under `latest` (signed by the default branch).
  const genuine = (await digestOf(`${image}:latest`)) as string
  const [bundle] = await createReferrers().bundles(image, genuine)
  expect(bundle).toContain('dsseEnvelope')
  const restore = unsigned()
  let forged: string
  try {
    forged = await pullRequest('tool another\n', () => undefined)
  } finally {
    restore()
  }
  await createReferrers().attach(image, forged, bundle)
  const { tool, stable } = await mergePush()
  expect(tool.build).toBe(true)
  expect(tool.reasons[0]).toContain(NOT_REUSED('its attestation is for another image'))
  expect(stable).not.toBe(forged)
})

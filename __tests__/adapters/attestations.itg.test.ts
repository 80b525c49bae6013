// SPEC 4b's signing and verification on the real registry (127.0.0.1:5000) and local Sigstore servers:
// a statement signed through Fulcio and Rekor fakes is stored as an OCI referrer (Distribution 2.8 has
// no referrers API: the sha256-<hex> tag) and in the attestations API, then found and verified by
// @sigstore/verify against a trust root made for the test; bad certificates do not verify.
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { jest } from '@jest/globals'
import { createAttester } from '../../src/adapters/attest.js'
import { createAttestationFinder } from '../../src/adapters/attestations.js'
import { createReferrers, fallbackTag } from '../../src/adapters/referrers.js'
import { digestOf, docker, uniqueRepo } from '../../__fixtures__/images/index.js'
import {
  startSigstoreServers,
  GITHUB_ISSUER,
  type SigstoreServers
} from '../../__fixtures__/sigstore-servers.js'

jest.setTimeout(120_000)

const image = uniqueRepo('attest')
const REUSABLE = 'strata-build/strata/.github/workflows/build-layer.yml@refs/tags/v1'
let servers: SigstoreServers
let digest: string
let other: string
const saved = { ...process.env }

async function push(tag: string, text: string): Promise<string> {
  const dir = mkdtempSync(join(tmpdir(), 'strata-attest-'))
  writeFileSync(join(dir, 'f'), text)
  writeFileSync(join(dir, 'Dockerfile'), 'FROM scratch\nCOPY f /f\n')
  await docker(['buildx', 'build', '--provenance=false', '--push', '-t', `${image}:${tag}`, dir])
  return (await digestOf(`${image}:${tag}`)) as string
}

beforeAll(async () => {
  servers = await startSigstoreServers()
  Object.assign(process.env, servers.env, { GITHUB_SERVER_URL: 'https://github.com' })
  ;[digest, other] = await Promise.all([push('one', `one ${image}`), push('two', `two ${image}`)])
})
afterAll(async () => {
  process.env = saved
  await servers.close()
})

const attester = (): ReturnType<typeof createAttester> =>
  createAttester({
    referrers: createReferrers(),
    fulcioUrl: servers.url,
    rekorUrl: servers.url,
    oidcIssuer: `${servers.url}/oidc`,
    api: { url: `${servers.url}/api`, token: 't', repository: 'acme/sindri' }
  })
const finder = (api = true): ReturnType<typeof createAttestationFinder> =>
  createAttestationFinder({
    referrers: createReferrers(),
    trustedRoot: servers.trustedRoot,
    ...(api && { api: { url: `${servers.url}/api`, token: 't', repository: 'acme/sindri' } })
  })

test('an image without attestations has none', async () => {
  expect(await finder().find(image, other)).toEqual([])
})

test('signed in a pull request through the reusable workflow: stored next to the image, found and verified', async () => {
  servers.as({
    repository: 'acme/sindri',
    job_workflow_ref: REUSABLE,
    ref: 'refs/pull/42/merge',
    sha: 'c0ffee0123'
  })
  expect(await attester().attest([{ image, digest }])).toEqual({ attested: [digest] })
  // Distribution 2.8 has no referrers API: the referrers tag lists the bundle.
  expect(await digestOf(`${image}:${fallbackTag(digest)}`)).toMatch(/^sha256:/)
  const [fromRegistry] = await finder(false).find(image, digest)
  expect(fromRegistry).toEqual({
    attested: {
      issuer: GITHUB_ISSUER,
      signer: `https://github.com/${REUSABLE}`,
      repository: 'https://github.com/acme/sindri',
      ref: 'refs/pull/42/merge',
      commit: 'c0ffee0123',
      run: 'https://github.com/acme/sindri/actions/runs/1/attempts/1',
      subjects: [digest]
    }
  })
  // The same bundle from the attestations API is one attestation, not two.
  expect(await finder().find(image, digest)).toHaveLength(1)
  expect(servers.requests).toContain(`GET /api/repos/acme/sindri/attestations/${digest}?per_page=30`)
})

test.each([
  ['untrusted-ca', /certificate|chain/i],
  ['expired', /certificate|expired|valid/i]
] as const)('a certificate from %s does not verify', async (kind, why) => {
  await servers.certificates(kind)
  try {
    servers.as({ repository: 'acme/sindri', job_workflow_ref: REUSABLE, ref: 'refs/heads/main', sha: 'abc' })
    const fresh = await push(`bad-${kind}`, `${kind} ${image}`)
    await attester().attest([{ image, digest: fresh }])
    const found = await finder(false).find(image, fresh)
    expect(found).toHaveLength(1)
    expect('error' in found[0] && found[0].error).toMatch(why)
  } finally {
    await servers.certificates('trusted')
  }
})

// What SPEC 4b adds to a step, against local Sigstore servers and the registry on localhost:5000:
// the signing after a push (OIDC token, Fulcio certificate, Rekor entry, one referrer per image, the
// attestations API) and the verification before a default-branch reuse (referrers, API, Sigstore's
// verifier). Medians of interleaved rounds. Usage: bash bench/attest.sh [rounds]
import { randomBytes } from 'node:crypto'
import { createAttester } from '../src/adapters/attest.js'
import { createAttestationFinder } from '../src/adapters/attestations.js'
import { createReferrers } from '../src/adapters/referrers.js'
import { pushTestImage } from '../__fixtures__/registry-proxy.js'
import { startSigstoreServers } from '../__fixtures__/sigstore-servers.js'

const rounds = Number(process.argv[2] ?? 7)
const name = `strata-bench/attest-${randomBytes(4).toString('hex')}`
const image = `localhost:5000/${name}`
const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]

const servers = await startSigstoreServers()
Object.assign(process.env, servers.env, { GITHUB_SERVER_URL: 'https://github.com' })
servers.as({
  repository: 'acme/app',
  job_workflow_ref: 'strata-build/strata/.github/workflows/build-layer.yml@refs/tags/v1',
  ref: 'refs/pull/1/merge',
  sha: 'c0ffee'
})
const api = { url: `${servers.url}/api`, token: 't', repository: 'acme/app' }
const attester = createAttester({
  referrers: createReferrers(),
  fulcioUrl: servers.url,
  rekorUrl: servers.url,
  oidcIssuer: `${servers.url}/oidc`,
  api
})
const finder = createAttestationFinder({
  referrers: createReferrers(),
  trustedRoot: servers.trustedRoot,
  api
})

const times: Record<string, number[]> = { 'sign 1 image': [], 'sign 3 images': [], 'verify 1 image': [] }
let n = 0
const push = async (): Promise<{ image: string; digest: string }> => {
  const p = await pushTestImage('http://localhost:5000', name, {
    created: new Date(),
    id: `${n++}`,
    tags: [`t${n}`]
  })
  return { image, digest: p.digest }
}
for (let r = 0; r < rounds; r++) {
  const one = [await push()]
  const three = [await push(), await push(), await push()]
  let t = performance.now()
  await attester.attest(one)
  times['sign 1 image'].push(performance.now() - t)
  t = performance.now()
  await attester.attest(three)
  times['sign 3 images'].push(performance.now() - t)
  t = performance.now()
  const found = await finder.find(image, one[0].digest)
  times['verify 1 image'].push(performance.now() - t)
  if (!found.some(f => 'attested' in f)) throw new Error(`round ${r}: the attestation did not verify`)
}
for (const [what, xs] of Object.entries(times))
  console.log(
    `${what.padEnd(16)} median ${median(xs).toFixed(0)} ms  (min ${Math.min(...xs).toFixed(0)}, max ${Math.max(...xs).toFixed(0)}, ${xs.length} rounds)`
  )
await servers.close()

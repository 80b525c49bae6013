// SPEC 4b's `attest` after a push: without an OIDC token, `auto` says once which permissions to add and
// goes on, `true` is an error, `false` says nothing; a signing service that fails is a warning under
// `auto` (the images stay pushed), an error under `true`.
import { createAttester } from '../src/adapters/attest.js'
import { createReferrers } from '../src/adapters/referrers.js'
import { attestPushed, pushedImages } from '../src/attest-pushed.js'
import type { Logger } from '../src/core/types.js'
import { config, layer } from '../__fixtures__/layers.js'

const DIGEST = 'sha256:' + 'a'.repeat(64)
const images = [{ image: 'localhost:5000/strata-test/attest-unit', digest: DIGEST }]

function logger(): Logger & { said: string[] } {
  const said: string[] = []
  return {
    said,
    info: m => void said.push(`info: ${m}`),
    notice: m => void said.push(`notice: ${m}`),
    warning: m => void said.push(`warning: ${m}`),
    group: (_n, fn) => fn()
  }
}

// A signer whose services do not answer (a closed port): signing fails for real.
const unreachable = (): ReturnType<typeof createAttester> =>
  createAttester({
    referrers: createReferrers(),
    fulcioUrl: 'http://127.0.0.1:9',
    rekorUrl: 'http://127.0.0.1:9'
  })

test('auto without an OIDC token: one notice naming both permissions, nothing attested', async () => {
  const log = logger()
  expect(await attestPushed(images, 'auto', undefined, log)).toEqual([])
  expect(log.said).toHaveLength(1)
  expect(log.said[0]).toMatch(
    /^notice: No build provenance attestation: .*`permissions: id-token: write` and `attestations: write`/
  )
})

test('true without an OIDC token is an error; false says nothing', async () => {
  await expect(attestPushed(images, true, undefined, logger())).rejects.toThrow('id-token: write')
  const log = logger()
  expect(await attestPushed(images, false, unreachable(), log)).toEqual([])
  expect(log.said).toEqual([])
})

test('a signing service that fails: a warning under auto, an error under true', async () => {
  process.env.ACTIONS_ID_TOKEN_REQUEST_URL = 'http://127.0.0.1:9/token'
  process.env.ACTIONS_ID_TOKEN_REQUEST_TOKEN = 'x'
  try {
    const log = logger()
    expect(await attestPushed(images, 'auto', unreachable(), log)).toEqual([])
    expect(log.said).toHaveLength(1)
    expect(log.said[0]).toMatch(
      /^warning: cannot attest localhost:5000\/strata-test\/attest-unit@sha256:a+: .*pushed without attestation/
    )
    await expect(attestPushed(images, true, unreachable(), logger())).rejects.toThrow('cannot attest')
  } finally {
    delete process.env.ACTIONS_ID_TOKEN_REQUEST_URL
    delete process.env.ACTIONS_ID_TOKEN_REQUEST_TOKEN
  }
})

test('what a step pushed: built and assembled layers with a digest, not reused or failed ones', () => {
  const c = config([layer('base'), layer('tooling'), layer('app'), layer('docs')])
  const OTHER = 'sha256:' + 'b'.repeat(64)
  expect(
    pushedImages(c, {
      base: { name: 'base', status: 'reused', digest: DIGEST, reasons: [] },
      tooling: { name: 'tooling', status: 'failed', reasons: [] },
      app: { name: 'app', status: 'built', digest: DIGEST, reasons: [] },
      docs: { name: 'docs', status: 'assembled', digest: OTHER, reasons: [] }
    })
  ).toEqual([
    { image: c.layers[2].image, digest: DIGEST },
    { image: c.layers[3].image, digest: OTHER }
  ])
})

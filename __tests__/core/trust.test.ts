import { actionsIssuer, builtBy, judge, sameWorkflow, trustedSigner } from '../../src/core/trust.js'
import type { Attested, TrustPolicy, Verification } from '../../src/core/trust.js'

const DIGEST = 'sha256:' + 'a'.repeat(64)
const OTHER = 'sha256:' + 'b'.repeat(64)
const GH = 'https://github.com'
const STRATA = 'strata-build/strata/.github/workflows/build-layer.yml'

const policy: TrustPolicy = {
  serverUrl: GH,
  repository: 'acme/sindri',
  defaultBranch: 'main',
  strataWorkflows: [`${STRATA}@v1`],
  trustedSigners: ['acme/release/.github/workflows/images.yml@refs/heads/main'],
  defaultBranchOnly: false
}

/** An attestation as a pull request built through Strata's reusable workflow signs it. */
const attested = (over: Partial<Attested> = {}): Verification => ({
  attested: {
    issuer: 'https://token.actions.githubusercontent.com',
    signer: `${GH}/${STRATA}@refs/tags/v1`,
    repository: `${GH}/acme/sindri`,
    ref: 'refs/pull/42/merge',
    commit: 'c0ffee0123456789',
    run: `${GH}/acme/sindri/actions/runs/7/attempts/1`,
    subjects: [DIGEST],
    ...over
  }
})

describe('judge: one attestation against the trust policy (SPEC 4b)', () => {
  const NOT_TRUSTED = "is not trusted (not Strata's reusable workflow, not this repository's default branch"
  test.each<[string, Verification[], Partial<TrustPolicy>, string | true]>([
    ["Strata's reusable workflow on a pull request", [attested()], {}, true],
    [
      'the reusable workflow pinned by sha',
      [attested({ signer: `${GH}/${STRATA}@abc123` })],
      { strataWorkflows: [`${STRATA}@abc123`] },
      true
    ],
    [
      "this repository's own workflow on the default branch",
      [
        attested({
          signer: `${GH}/acme/sindri/.github/workflows/images.yml@refs/heads/main`,
          ref: 'refs/heads/main'
        })
      ],
      {},
      true
    ],
    [
      'a trusted-signers entry',
      [attested({ signer: `${GH}/acme/release/.github/workflows/images.yml@refs/heads/main` })],
      {},
      true
    ],
    [
      'no attestation at all (a forged label and input tag)',
      [],
      {},
      `no attestation of ${DIGEST.slice(0, 19)}…`
    ],
    [
      'a bundle that did not verify',
      [{ error: 'certificate chain error' }],
      {},
      'its attestation did not verify (certificate chain error)'
    ],
    [
      "a pull request's own workflow",
      [attested({ signer: `${GH}/acme/sindri/.github/workflows/images.yml@refs/pull/42/merge` })],
      {},
      `its signer acme/sindri/.github/workflows/images.yml@refs/pull/42/merge ${NOT_TRUSTED}`
    ],
    [
      'the reusable workflow at a ref the caller does not pin',
      [attested({ signer: `${GH}/${STRATA}@refs/heads/evil` })],
      {},
      `its signer ${STRATA}@refs/heads/evil ${NOT_TRUSTED}`
    ],
    [
      'a same-named workflow of another repository',
      [attested({ signer: `${GH}/evil/strata/.github/workflows/build-layer.yml@refs/tags/v1` })],
      {},
      NOT_TRUSTED
    ],
    ['another image', [attested({ subjects: [OTHER] })], {}, 'its attestation is for another image'],
    [
      'another repository',
      [attested({ repository: `${GH}/evil/sindri` })],
      {},
      `its attestation comes from ${GH}/evil/sindri, not ${GH}/acme/sindri`
    ],
    [
      'another issuer',
      [attested({ issuer: 'https://accounts.google.com' })],
      {},
      'its attestation was signed through https://accounts.google.com, not GitHub Actions'
    ],
    [
      'default-branch: a pull request run, even through the reusable workflow',
      [attested()],
      { defaultBranchOnly: true },
      'it was signed by a run on refs/pull/42/merge, not the default branch'
    ],
    [
      'default-branch: a run on the default branch',
      [attested({ ref: 'refs/heads/main' })],
      { defaultBranchOnly: true },
      true
    ],
    ['one good among bad ones', [{ error: 'x' }, attested({ subjects: [OTHER] }), attested()], {}, true],
    [
      'the furthest refusal is told',
      [{ error: 'x' }, attested({ repository: `${GH}/evil/sindri` })],
      {},
      `its attestation comes from ${GH}/evil/sindri, not ${GH}/acme/sindri, and 1 more`
    ]
  ])('%s', (_name, found, over, want) => {
    const answer = judge(DIGEST, found, { ...policy, ...over })
    const why = answer.ok ? true : answer.why
    expect(why === true ? true : why.includes(want as string) || why).toBe(true)
    expect(answer.ok).toBe(want === true)
  })
})

describe('signer identities', () => {
  test.each([
    [`${STRATA}@refs/tags/v1`, `${STRATA}@v1`, true],
    [`${STRATA}@refs/heads/v1`, `${STRATA}@v1`, true],
    [`Strata-Build/Strata/.github/workflows/build-layer.yml@v1`, `${STRATA}@v1`, true],
    [`${STRATA}@refs/tags/v1`, `${STRATA}@v2`, false],
    [`${STRATA}@refs/tags/v1`, 'strata-build/strata/.github/workflows/other.yml@v1', false],
    [`${STRATA}`, `${STRATA}@v1`, false],
    ['strata-build/strata/.github/workflows/Build-Layer.yml@v1', `${STRATA}@v1`, false]
  ])('%s is %s: %s', (id, pattern, same) => {
    expect(sameWorkflow(id, pattern)).toBe(same)
  })

  test('a signer on another server is never trusted', () => {
    expect(trustedSigner(`https://evil.example/${STRATA}@refs/tags/v1`, policy)).toBeUndefined()
    expect(trustedSigner(`${GH}/${STRATA}@refs/tags/v1`, policy)).toBe("Strata's reusable workflow")
  })

  test('the issuer follows the server', () => {
    expect(actionsIssuer(GH)).toBe('https://token.actions.githubusercontent.com')
    expect(actionsIssuer('https://acme.ghe.com')).toBe('https://token.actions.acme.ghe.com')
    expect(actionsIssuer('https://git.acme.internal')).toBe('https://git.acme.internal/_services/token')
  })

  test('who built an image: the run without its attempt, the ref, the commit', () => {
    const v = attested() as { attested: Attested }
    expect(builtBy(v.attested)).toBe(`${GH}/acme/sindri/actions/runs/7 (refs/pull/42/merge, c0ffee0)`)
  })
})

// SPEC 7a, pure: which Dockerfiles are assembled and why the others are not, which path each building
// layer of a plan takes, and how a stage's instructions change its parent's config.
import { assemblyOf, goDuration, withAssembly, type Eligibility } from '../../src/core/assemble.js'
import { evaluate, foldersOf } from '../../src/core/assemble-image.js'
import { neededStages, parseDockerfile } from '../../src/core/dockerfile.js'
import type { LayerConfig, Plan, StrataConfig } from '../../src/core/types.js'

const HEAD = 'ARG TOOLING_IMAGE\nFROM ${TOOLING_IMAGE}\n'

function layer(over: Partial<LayerConfig> = {}): LayerConfig {
  return {
    name: 'app',
    dockerfile: 'Dockerfile',
    context: '.',
    paths: [],
    from: [{ layer: 'tooling', buildArg: 'TOOLING_IMAGE' }],
    always: false,
    image: 'localhost:5000/acme/app',
    buildArgs: {},
    platforms: ['linux/amd64'],
    cache: [],
    secrets: [],
    labels: {},
    ...over
  }
}

function eligibility(
  text: string,
  over: Partial<LayerConfig> = {},
  more: { parentOnbuild?: boolean; parentDockerfile?: string } = {}
): Eligibility {
  const l = layer(over)
  const parsed = parseDockerfile(text, l.dockerfile, {
    layerArgs: Object.fromEntries(l.from.map(p => [p.buildArg, p.layer]))
  })
  return assemblyOf({
    layer: l,
    parsed,
    stages: neededStages(parsed, l.target) ?? [],
    buildArgs: {},
    reincludes: false,
    parentOnbuild: more.parentOnbuild ?? false,
    ...(more.parentDockerfile !== undefined && {
      parentStages: neededStages(parseDockerfile(more.parentDockerfile, 'Dockerfile.tooling')) ?? []
    })
  })
}

const why = (e: Eligibility): string => ('why' in e ? e.why : 'assembled')

test.each([
  ['COPY --link app/ /app/\nCMD ["/app/run"]\n', 'assembled'],
  ['COPY --link --chown=1000:1000 a /a\nENV A=1\nLABEL x=y\nUSER 1000\nEXPOSE 80 53/udp\n', 'assembled'],
  [
    'ENTRYPOINT ["x"]\nSTOPSIGNAL SIGINT\nHEALTHCHECK --interval=5s CMD true\nVOLUME /v\nARG X\n',
    'assembled'
  ],
  ['COPY --link a /app/\nWORKDIR /app\nWORKDIR /\n', 'assembled'],
  ['COPY --link a /b\nRUN echo hi\n', 'RUN at Dockerfile:4'],
  ['COPY app/ /app/\n', 'COPY without --link at Dockerfile:3'],
  ['COPY --link=false app/ /app/\n', 'COPY without --link at Dockerfile:3'],
  ['ADD --link app.tar /app/\n', 'ADD at Dockerfile:3'],
  ['COPY --link --from=busybox /bin/sh /sh\n', 'COPY --from at Dockerfile:3'],
  [
    'COPY --link --exclude=*.md docs /docs\n',
    "COPY --exclude (BuildKit 0.13's own Dockerfile frontend does not take it) at Dockerfile:3"
  ],
  [
    'COPY --link --chmod=755 run /run\n',
    "COPY --chmod=755 (BuildKit makes its folders from the parent's files) at Dockerfile:3"
  ],
  [
    'COPY --link --chown=app a /a\n',
    "COPY --chown=app (a name needs the image's /etc/passwd) at Dockerfile:3"
  ],
  ['USER app\n', "USER app (a name needs the image's /etc/passwd) at Dockerfile:3"],
  ['EXPOSE 8000-8010\n', 'EXPOSE 8000-8010 (only single literal ports are assembled) at Dockerfile:3'],
  ['WORKDIR /srv\n', "WORKDIR /srv (BuildKit makes the folder from the parent's files) at Dockerfile:3"],
  ['HEALTHCHECK --interval=soon CMD true\n', 'HEALTHCHECK --interval at Dockerfile:3'],
  ['SHELL ["/bin/bash", "-c"]\n', 'SHELL at Dockerfile:3'],
  ['ONBUILD RUN x\n', 'ONBUILD at Dockerfile:3'],
  ['COPY --link <<EOF /x\nhi\nEOF\n', 'COPY <<heredoc at Dockerfile:3']
])('%j → %s', (body, expected) => {
  expect(why(eligibility(HEAD + body))).toBe(expected)
})

test('shapes around the stage', () => {
  expect(why(eligibility(`# syntax=docker/dockerfile:1\n${HEAD}COPY --link a /a\n`))).toBe(
    '# syntax=docker/dockerfile:1 (the frontend it names decides the build)'
  )
  expect(
    why(
      eligibility(
        `ARG TOOLING_IMAGE\nFROM scratch AS gen\nCOPY a /a\nFROM ${'${TOOLING_IMAGE}'}\nCOPY --link --from=gen /a /a\n`
      )
    )
  ).toBe('another stage (FROM at Dockerfile:2) is needed')
  expect(
    why(eligibility(`${HEAD.replace('${TOOLING_IMAGE}', '${TOOLING_IMAGE}-slim')}COPY --link a /a\n`))
  ).toBe('FROM at Dockerfile:2 is not exactly the parent layer tooling')
  expect(why(eligibility(`${HEAD}COPY --link a /a\n`, { assemble: 'off' }))).toBe('assemble: off')
  expect(why(eligibility(`FROM scratch\nCOPY --link a /a\n`, { from: [] }))).toBe('no parent layer')
  expect(why(eligibility(`${HEAD}COPY --link a /a\n`, {}, { parentOnbuild: true }))).toBe(
    'parent tooling has ONBUILD triggers'
  )
})

test("each building layer's path: assembled only with push, and not when its child builds in the step", () => {
  const ok = eligibility(`${HEAD}COPY --link a /a\n`)
  const decision = { build: true, reasons: ['always'], matches: [], tags: [], selected: true }
  const plan: Plan = {
    layers: { tooling: { ...decision }, app: { ...decision }, base: { ...decision, build: false } },
    changes: { source: 'none', count: 0 },
    event: 'push'
  }
  const config = {
    layers: [layer({ name: 'tooling', from: [{ layer: 'base', buildArg: 'BASE_IMAGE' }] }), layer()]
  } as unknown as StrataConfig
  const both = { tooling: ok, app: ok }
  expect(withAssembly(plan, config, both, { push: true }).layers.app.assembly).toBe('assembled')
  expect(withAssembly(plan, config, both, { push: true }).layers.tooling.assembly).toBe(
    'its child app builds in this step'
  )
  expect(withAssembly(plan, config, both, { push: true }).layers.base.assembly).toBeUndefined()
  expect(withAssembly(plan, config, both, { push: false }).layers.app.assembly).toBe(
    'no push (an assembled layer lives in the registry)'
  )
  expect(withAssembly(plan, config, both, { push: true, pushByDigest: true }).layers.app.assembly).toBe(
    'one platform pushed by digest'
  )
})

test('the config a stage makes from its parent config', () => {
  const e = eligibility(
    `${HEAD}ARG V=2\nENV PATH=/app/bin:$PATH A="x y" V=$V\nLABEL a=b\nUSER 1000:1000\nEXPOSE 80\n` +
      'ENTRYPOINT ["/bin/run"]\nHEALTHCHECK --interval=1m30s --retries=3 CMD check --fast\nSTOPSIGNAL SIGINT\n' +
      'VOLUME ["/data"]\nCOPY --link --chown=7 app/ rel/\n'
  )
  if (!('assembly' in e)) throw new Error(e.why)
  const out = evaluate(
    e.assembly,
    { Env: ['PATH=/bin', 'A=old'], Cmd: ['sh'], WorkingDir: '/srv', Labels: { keep: '1' } },
    { 'dev.strata.inputs': 'sha256:x' }
  )
  expect(out.config).toEqual({
    Env: ['PATH=/app/bin:/bin', 'A=x y', 'V=2'],
    Cmd: null,
    Entrypoint: ['/bin/run'],
    WorkingDir: '/srv',
    Labels: { keep: '1', a: 'b', 'dev.strata.inputs': 'sha256:x' },
    User: '1000:1000',
    ExposedPorts: { '80/tcp': {} },
    Healthcheck: { Test: ['CMD-SHELL', 'check --fast'], Interval: 90e9, Retries: 3 },
    StopSignal: 'SIGINT',
    Volumes: { '/data': {} }
  })
  expect(out.layers).toEqual([
    {
      kind: 'copy',
      line: 12,
      sources: ['app/'],
      dest: '/srv/rel/',
      uid: 7,
      gid: 7,
      createdBy: 'COPY --chown=7 app/ rel/ # buildkit'
    }
  ])
})

test.each([
  ['30s', 30e9],
  ['1m30s', 90e9],
  ['500ms', 5e8],
  ['1h', 3600e9],
  ['soon', undefined],
  ['30', undefined]
])('goDuration(%s) = %s', (text, ns) => {
  expect(goDuration(text)).toBe(ns)
})

test("WORKDIR of a folder the parent layer's Dockerfile made (a WORKDIR there, or its parents) is assembled", () => {
  const parent = 'FROM scratch\nWORKDIR /srv/www\nRUN true\nWORKDIR relative\nWORKDIR /opt/$X\n'
  const with_ = (body: string): string => why(eligibility(HEAD + body, {}, { parentDockerfile: parent }))
  expect(with_('WORKDIR /srv/www\n')).toBe('assembled')
  expect(with_('WORKDIR /srv/\nCOPY --link a ./\n')).toBe('assembled')
  expect(with_('WORKDIR /srv/other\n')).toBe(
    "WORKDIR /srv/other (BuildKit makes the folder from the parent's files) at Dockerfile:3"
  )
  // Only absolute, literal WORKDIRs of the parent say which folder exists.
  expect(with_('WORKDIR /relative\n')).toMatch(/^WORKDIR \/relative \(/)
  expect(with_('WORKDIR /opt\n')).toMatch(/^WORKDIR \/opt \(/)
})

test("foldersOf: the working folder and the history's WORKDIRs, with their parents", () => {
  expect(
    foldersOf({
      config: { WorkingDir: '/srv/www' },
      history: [
        { created_by: 'WORKDIR /app', comment: 'buildkit.dockerfile.v0' },
        { created_by: '/bin/sh -c #(nop) WORKDIR /usr/src/app', comment: '' },
        { created_by: 'RUN echo WORKDIR /not-this', comment: '' },
        { created_by: 'WORKDIR relative', comment: '' }
      ]
    }).sort()
  ).toEqual(['/app', '/srv', '/srv/www', '/usr', '/usr/src', '/usr/src/app'])
})

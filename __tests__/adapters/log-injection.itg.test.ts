// Workflow-command injection through real buildx output (issue 13 item 1): a build whose files,
// Dockerfile and RUN output carry hostile text, streamed through the real actions logger as build.ts
// streams it (one group, a line at a time), read back as the runner reads it.
import { afterAll, afterEach, beforeAll, beforeEach, expect, jest, test } from '@jest/globals'
import { copyFileSync } from 'node:fs'
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { runnerExecutes } from '../../__fixtures__/runner-commands.js'
import { createActionsLogger } from '../../src/adapters/actions-log.js'
import { createBuildx } from '../../src/adapters/buildx.js'

// Printed by RUN, one a line; a \r inside a line is a line end for the runner, not for buildx.
const PRINTED = [
  '::error::from-run',
  '::add-mask::main',
  '  ::set-output name=image::evil',
  '::set-env name=NODE_OPTIONS::--require=/x',
  '::stop-commands::guess',
  '::endgroup::',
  '##[error]legacy',
  'text ##[add-mask]main',
  'a\r::warning::after-a-carriage-return',
  '\u00a0::error::after-a-no-break-space',
  '\u2028::error::after-a-line-separator',
  '%0A::error::encoded',
  '::ERROR::upper'
]
// File names in the build context, listed by RUN and named by COPY.
const FILES = ['::error::file', '::add-mask::main', '##[warning]file', '::notice::x.sh']

let work: string
let out: string

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'strata-log-itg-'))
  copyFileSync('/bin/busybox', join(work, 'busybox'))
  await writeFile(join(work, 'printed.txt'), `${PRINTED.join('\n')}\n`)
  await mkdir(join(work, 'files'))
  for (const f of FILES) await writeFile(join(work, 'files', f), 'x\n')
  await writeFile(
    join(work, 'Dockerfile'),
    [
      'FROM scratch',
      'COPY busybox /bin/busybox',
      'COPY printed.txt /printed.txt',
      'COPY files /files',
      '# the step name shows this line: ::error::from-the-dockerfile',
      'RUN ["/bin/busybox", "cat", "/printed.txt"]',
      'RUN ["/bin/busybox", "ls", "-1", "/files"]',
      'RUN ["/bin/busybox", "echo", "::error::in-a-step-name"]'
    ].join('\n')
  )
  await writeFile(
    join(work, 'bake.json'),
    JSON.stringify({ target: { hostile: { context: '.', dockerfile: 'Dockerfile', 'no-cache': true } } })
  )
})
afterAll(async () => rm(work, { recursive: true, force: true }))

beforeEach(() => {
  out = ''
  jest.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
    out += String(chunk)
    return true
  })
})
afterEach(() => {
  jest.restoreAllMocks()
})

test('hostile buildx output runs no workflow command; the build still reads as it was', async () => {
  const log = createActionsLogger()
  const buildx = createBuildx()
  const run = await log.group('Build hostile', () =>
    buildx.bake(['buildx', 'bake', '--progress=plain', '--file', 'bake.json', 'hostile'], {
      cwd: work,
      onLine: (line: string) => log.info(line)
    })
  )
  log.warning(`layer hostile: ${PRINTED[0]}`)
  jest.restoreAllMocks()
  expect(run.exitCode).toBe(0)
  // The output carried the hostile text (the test would prove nothing otherwise)...
  expect(out).toContain('::error::from-run')
  expect(out).toContain('::add-mask::main')
  expect(out).toContain('after-a-carriage-return')
  expect(out).toContain('::error::in-a-step-name')
  // ...yet the runner would run only the group, the stop and resume, and the warning.
  expect(runnerExecutes(out).map(e => e.command)).toEqual([
    'group',
    'stop-commands',
    'resume',
    'endgroup',
    'warning'
  ])
  // Even without the stop-commands wrapper, no line of it would run.
  const unwrapped = out
    .split('\n')
    .filter(l => !/^::(stop-commands::[0-9a-f]{32}|[0-9a-f]{32}::|group::|endgroup::|warning::)/.test(l))
    .join('\n')
  expect(runnerExecutes(unwrapped)).toEqual([])
})

// Workflow-command injection (SPEC 10, issue 13 item 1): hostile text through the real loggers, their
// stdout read back the way the runner reads it (actions/runner ActionCommand.TryParseV2/TryParse and
// ActionCommandManager's stop-commands state).
import { afterEach, beforeEach, describe, expect, jest, test } from '@jest/globals'
import { createActionsLogger } from '../../src/adapters/actions-log.js'
import { createTerminalLogger } from '../../src/adapters/terminal-log.js'
import { isCommandLike, safeJson, safeLine } from '../../src/core/log-safe.js'
import { runnerExecutes, type Executed } from '../../__fixtures__/runner-commands.js'

// Untrusted text as it reaches the log: file names, branch and tag names, commit messages, registry
// answers, buildx output.
const HOSTILE: string[] = [
  '::error::x',
  '::add-mask::main',
  '::set-output name=image::evil',
  '::set-env name=NODE_OPTIONS::--require /tmp/x',
  '::add-path::/tmp/evil',
  '::save-state name=x::y',
  '::stop-commands::abc',
  '::group::fake',
  '::endgroup::',
  '::debug::x',
  '::notice file=a,line=1::x',
  '::warning title=x::y',
  '::echo::on',
  '::add-matcher::/tmp/m.json',
  '::ERROR::upper case',
  '  ::error::after spaces',
  '\t::error::after a tab',
  '\u00a0::error::after a no-break space',
  '\u3000::error::after an ideographic space',
  '\u2003::error::after an em space',
  '\ufeff::error::after a BOM',
  '\u0085::error::after NEL',
  '\u2028::error::after a line separator',
  '\u2029::error::after a paragraph separator',
  'safe\n::error::second line',
  'safe\r::error::after a carriage return',
  'safe\r\n::add-mask::main',
  'safe\n\n\n::set-output name=x::y',
  'a\u2028::error::x',
  'a\u0085::error::x',
  'a\u000b::error::x',
  'a\u000c::error::x',
  '%0A::warning::encoded',
  '%0D%0A::error::encoded',
  'x%25%0A::error::double',
  '##[error]legacy',
  'text ##[add-mask]main',
  'file ##[set-output name=x;]y',
  'x##[warning]mid-line',
  ':: not a command',
  '::',
  'docker/::error::x.sh',
  'Dockerfile\n::error file=Dockerfile,line=1::fake failure',
  '#12 [app 2/3] RUN echo ::add-mask::main',
  '::add-mask::main\n::add-mask::ghcr.io',
  'feature/::error::branch',
  'ref: refs/heads/\n::error::x',
  'commit message\r\n\r\n::set-output name=digest::sha256:0',
  'registry said: {"errors":[{"message":"\n::error::x"}]}',
  '日本::error::x\n\u3000::error::y'
]

const CASES = HOSTILE.map((h, i): [number, string] => [i, h])

function injected(events: Executed[]): Executed[] {
  return events.filter(
    e => !['group', 'endgroup', 'stop-commands', 'resume', 'warning', 'notice'].includes(e.command)
  )
}

describe('the actions logger', () => {
  let out: string
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

  test.each(CASES)('[%d] info %j starts no workflow command', (_i, h) => {
    const log = createActionsLogger()
    log.info(h)
    log.info(`changed: ${h}`)
    log.info(`  ${h} (matches docker/**)`)
    expect(runnerExecutes(out)).toEqual([])
    // Nothing is lost: a line that was quoted reads back as the original text.
    const back = out
      .split('\n')
      .filter(l => l !== '')
      .map(l => (l.startsWith('"') ? (JSON.parse(l) as string) : l))
    expect(back.join('\n')).toContain(
      h
        .replace(/\r\n|\r/g, '\n')
        .split('\n')
        .filter(l => l !== '')
        .at(-1)
    )
  })

  test.each(CASES)('[%d] warning and notice %j stay one annotation each', (_i, h) => {
    const log = createActionsLogger()
    log.warning(`layer app: ${h}`)
    log.notice(h)
    expect(runnerExecutes(out)).toEqual([
      { command: 'warning', data: `layer app: ${h}` },
      { command: 'notice', data: h }
    ])
  })

  test.each(CASES)('[%d] a group streaming %j runs nothing, its warnings still annotate', async (_i, h) => {
    const log = createActionsLogger()
    await log.group(`Build ${h}`, async () => {
      log.info(h)
      log.info(`#5 [base 1/2] FROM ${h}`)
      log.warning(`inside: ${h}`)
      log.info(h)
    })
    log.info(h)
    const events = runnerExecutes(out)
    expect(injected(events)).toEqual([])
    expect(events.map(e => e.command)).toEqual([
      'group',
      'stop-commands',
      'resume',
      'warning',
      'stop-commands',
      'resume',
      'endgroup'
    ])
    expect(events[0].data).toBe(`Build ${h}`)
    expect(events[3].data).toBe(`inside: ${h}`)
  })

  test('the stop token is random: 32 hex digits, new each time', async () => {
    const log = createActionsLogger()
    await log.group('a', async () => undefined)
    await log.group('b', async () => undefined)
    const tokens = [...out.matchAll(/^::stop-commands::(.*)$/gm)].map(m => m[1])
    expect(tokens).toHaveLength(2)
    tokens.forEach(t => expect(t).toMatch(/^[0-9a-f]{32}$/))
    expect(tokens[0]).not.toBe(tokens[1])
    expect(out).toContain(`::${tokens[0]}::\n`)
  })

  test('ordinary lines are printed as they are', () => {
    const log = createActionsLogger()
    log.info('app: build — 2 changed files match\n  docker/app.sh (matches docker/**)')
    expect(out).toBe('app: build — 2 changed files match\n  docker/app.sh (matches docker/**)\n')
  })
})

describe('the terminal logger', () => {
  test.each(CASES)('[%d] %j starts no workflow command on stderr', async (_i, h) => {
    const lines: string[] = []
    const log = createTerminalLogger({ write: l => void lines.push(l) })
    log.info(h)
    log.warning(h)
    log.notice(`x ${h}`)
    await log.group(h, async () => log.info(h))
    const out = lines.join('\n')
    expect(runnerExecutes(out)).toEqual([])
    lines.forEach(l => expect(l).not.toMatch(/[\r\n]/))
  })
})

describe('safeLine', () => {
  test.each(HOSTILE.flatMap(h => h.split(/\r\n|\r|\n/)).map((h, i): [number, string] => [i, h]))(
    '[%d] %j',
    (_i, h) => {
      const safe = safeLine(h)
      expect(runnerExecutes(safe)).toEqual([])
      // Unchanged, or quoted: either way it reads back as the original text.
      expect(isCommandLike(h) ? JSON.parse(safe) : safe).toBe(h)
      expect(safe === h).toBe(!isCommandLike(h))
    }
  )
})

describe('safeJson (the CLI --json output)', () => {
  test.each(CASES)('[%d] a plan whose file is named %j stays the same JSON and runs nothing', (_i, h) => {
    const plan = {
      layers: { app: { matches: [{ path: h, pattern: h }], tags: [`x:${h}`] } },
      changed_files: [h]
    }
    for (const json of [JSON.stringify(plan, null, 2), JSON.stringify(plan)]) {
      const safe = safeJson(json)
      expect(runnerExecutes(safe)).toEqual([])
      expect(JSON.parse(safe)).toEqual(plan)
    }
  })
})

describe('masking inside a group (a build’s secrets)', () => {
  let out: string
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

  test.each(['s3cr3t', 'p@ss:word%0A', 'two\nlines', '::error::x'])(
    '%j reaches the runner as add-mask while output is stopped',
    async secret => {
      const log = createActionsLogger()
      await log.group('Build app', async () => {
        log.info('#1 building')
        log.mask!(secret)
        log.info('#2 still building')
      })
      const events = runnerExecutes(out)
      expect(events.filter(e => e.command === 'add-mask')).toEqual([{ command: 'add-mask', data: secret }])
      expect(events.map(e => e.command)).toEqual([
        'group',
        'stop-commands',
        'resume',
        'add-mask',
        'stop-commands',
        'resume',
        'endgroup'
      ])
    }
  )
})

describe('the terminal logger in a workflow step', () => {
  test('masks through the function the CLI gives it, and has no mask in a terminal', () => {
    const masked: string[] = []
    const inJob = createTerminalLogger({ write: () => undefined, mask: s => void masked.push(s) })
    inJob.mask?.('s3cret')
    expect(masked).toEqual(['s3cret'])
    expect(createTerminalLogger({ write: () => undefined }).mask).toBeUndefined()
  })
})

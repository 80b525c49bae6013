// How the Actions runner reads a step's output for workflow commands (actions/runner's
// ActionCommand.TryParseV2 / TryParse and ActionCommandManager's stop-commands state), so tests can
// assert which commands a log would run.

export interface Executed {
  command: string
  data: string
}

// .NET's String.TrimStart() removes Unicode white space, U+0085 included.
const TRIM_START = /^[\s\u0085]+/
const COMMANDS = [
  'error',
  'warning',
  'notice',
  'debug',
  'add-mask',
  'set-output',
  'set-env',
  'save-state',
  'add-path',
  'group',
  'endgroup',
  'echo',
  'add-matcher',
  'remove-matcher',
  'stop-commands'
]

function unescapeData(s: string): string {
  return s.replaceAll('%0D', '\r').replaceAll('%0A', '\n').replaceAll('%25', '%')
}

/** The commands the runner would execute for `output` (stdout of a step). */
export function runnerExecutes(output: string): Executed[] {
  const registered = new Set(COMMANDS)
  let stopToken: string | undefined
  const done: Executed[] = []
  for (const raw of output.split(/\r\n|\r|\n/)) {
    let parsed: Executed | undefined
    const line = raw.replace(TRIM_START, '')
    if (line.startsWith('::')) {
      const end = line.indexOf('::', 2)
      if (end >= 0) {
        const info = line.slice(2, end)
        const name = info.split(' ')[0]
        if (registered.has(name.toLowerCase()))
          parsed = { command: name, data: unescapeData(line.slice(end + 2)) }
      }
    }
    if (!parsed) {
      const at = raw.indexOf('##[')
      const rb = at >= 0 ? raw.indexOf(']', at) : -1
      if (rb >= 0) {
        const name = raw.slice(at + 3, rb).split(' ')[0]
        if (registered.has(name.toLowerCase())) parsed = { command: name, data: raw.slice(rb + 1) }
      }
    }
    if (!parsed) continue
    if (stopToken !== undefined) {
      if (parsed.command.toLowerCase() === stopToken.toLowerCase()) {
        registered.delete(stopToken.toLowerCase())
        stopToken = undefined
        done.push({ command: 'resume', data: '' })
      }
      continue
    }
    if (parsed.command === 'stop-commands') {
      stopToken = parsed.data
      registered.add(stopToken.toLowerCase())
    }
    done.push(parsed)
  }
  return done
}

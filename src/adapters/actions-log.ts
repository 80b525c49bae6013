// The Logger on a GitHub Actions runner: @actions/core's log commands and folded groups. Untrusted
// text never starts a workflow command (SPEC 10): every info line is made safe (core/log-safe.ts),
// notices and warnings go through @actions/core's escaping (% \r \n become %25 %0D %0A, so they
// stay one line), and a group's content (streamed buildx output) runs between
// `::stop-commands::<random token>` and `::<token>::`, so the runner executes nothing in it.
import { randomBytes } from 'node:crypto'
import * as core from '@actions/core'
import { safeText } from '../core/log-safe.js'
import type { Logger } from '../core/types.js'

export interface ActionsLogOptions {
  /** Where raw lines go (default: stdout, as core.info writes them). */
  write?: (line: string) => void
  /** The stop-commands token (default: 32 random hex digits; tests pass their own). */
  token?: () => string
}

export function createActionsLogger(opts: ActionsLogOptions = {}): Logger {
  const write = opts.write ?? ((line: string) => core.info(line))
  const newToken = opts.token ?? (() => randomBytes(16).toString('hex'))
  // The token in force while commands are stopped; undefined: the runner processes commands.
  let stopped: string | undefined
  const stop = (): void => {
    stopped = newToken()
    write(`::stop-commands::${stopped}`)
  }
  const resume = (): void => {
    if (stopped === undefined) return
    write(`::${stopped}::`)
    stopped = undefined
  }
  // An annotation inside a group must still be one: resume around it, then stop with a new token.
  const annotate = (issue: () => void): void => {
    const wasStopped = stopped !== undefined
    resume()
    issue()
    if (wasStopped) stop()
  }
  return {
    info: m => write(safeText(m)),
    notice: m => annotate(() => core.notice(m)),
    warning: m => annotate(() => core.warning(m)),
    // `::add-mask::` must reach the runner even while a group has commands stopped.
    mask: secret => annotate(() => core.setSecret(secret)),
    async group(name, fn) {
      // Nested groups do not exist on the runner: the inner one only runs.
      if (stopped !== undefined) return fn()
      core.startGroup(name)
      stop()
      try {
        return await fn()
      } finally {
        resume()
        core.endGroup()
      }
    }
  }
}

// The Logger on a GitHub Actions runner: @actions/core's log commands and folded groups.
import * as core from '@actions/core'
import type { Logger } from '../core/types.js'

export function createActionsLogger(): Logger {
  return {
    info: m => core.info(m),
    notice: m => core.notice(m),
    warning: m => core.warning(m),
    group: (name, fn) => core.group(name, fn)
  }
}

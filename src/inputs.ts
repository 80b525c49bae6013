// The action's inputs, read once as raw text by their action.yml names: core/settings.ts makeSettings()
// parses and checks them; nothing downstream calls core.getInput.
import * as core from '@actions/core'
import type { InputValues, RawSettings } from './core/settings.js'
import { INPUT_NAMES, parseInputs } from './core/settings.js'

/** Every input's text as the runner gives it; the token is masked in the log before anything runs. */
export function rawInputs(): RawSettings {
  const raw: RawSettings = {}
  for (const name of INPUT_NAMES) raw[name] = core.getInput(name)
  if (raw.token) core.setSecret(raw.token)
  return raw
}

/** Every input parsed and checked by makeSettings()'s parser, frozen. */
export function getInputs(): Readonly<InputValues> {
  return Object.freeze(parseInputs(rawInputs()))
}

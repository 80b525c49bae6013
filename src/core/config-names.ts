// Names and paths from the config that reach a command line or the file system (SPEC 10): none may
// be read as an option, and no path may leave the repository. Pure checks; config.ts turns a reason
// into a ConfigError at the value's line and column.
import { posix } from 'node:path'
import { parseImageRef } from './image-ref.js'

/** A reason the value is refused, or undefined when it is fine. */
export type Refusal = string | undefined

/** Control characters and the Unicode line ends: never part of a name or a path we accept. */
const CONTROL = /[\p{Cc}\u2028\u2029]/u

/**
 * A path relative to the repository root that stays inside it (lexically: symlinks are the adapter's
 * check). `-x` would reach docker as an option (the context is a positional argument) and `-` is stdin.
 */
export function refusePath(p: string): Refusal {
  if (CONTROL.test(p)) return `has a control character or line break: ${JSON.stringify(p)}`
  if (p.startsWith('/')) return `is an absolute path "${p}"`
  if (p.startsWith('-')) return `"${p}" starts with "-", which docker would read as an option or stdin`
  const norm = posix.normalize(p)
  if (norm === '..' || norm.startsWith('../')) return `"${p}" leaves the repository`
  return undefined
}

// DNS labels (letters, digits, inner -) with an optional port: parseImageRef lets `..` through.
const HOST = /^[a-z0-9](?:[a-z0-9-]*[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]*[a-z0-9])?)*(?::\d+)?$/

/** A repository (no tag, no digest), as Docker parses it; upper case is lowered by the caller first. */
export function refuseImage(image: string): Refusal {
  if (image.startsWith('-')) return 'it starts with "-", which docker would read as an option'
  try {
    const ref = parseImageRef(image)
    if (ref.tag !== undefined || ref.digest !== undefined) return 'it has a tag or digest'
    if (!HOST.test(ref.host)) return `the registry host ${JSON.stringify(ref.host)} is not a host name`
  } catch (e) {
    return (e as Error).message.replace(/^.*? is not an image reference: /, '')
  }
  return undefined
}

// Docker's stage names and label keys; neither can start with `-`.
const TARGET = /^[A-Za-z0-9][A-Za-z0-9_.-]*$/
const LABEL_KEY = /^[A-Za-z0-9][A-Za-z0-9_.\-/]*$/

export function refuseTarget(target: string): Refusal {
  return TARGET.test(target) ? undefined : `"${target}" is not a build stage name`
}

export function refuseLabelKey(key: string): Refusal {
  return LABEL_KEY.test(key) ? undefined : `"${key}" is not a label key`
}

/**
 * A `paths` glob that can never match a changed file: those are relative to the repository root and
 * have no `.` or `..` segment (a leading `!` negates; leading `./` is dropped, as patterns.ts does).
 */
export function refuseNeverMatching(pattern: string): Refusal {
  let p = pattern.startsWith('!') ? pattern.slice(1) : pattern
  while (p.startsWith('./')) p = p.slice(2)
  const segments = p.split('/')
  if (segments.includes('..'))
    return 'it has a .. segment, and changed files are inside the repository, with no .. in their paths'
  if (segments.slice(0, -1).includes('.')) return 'it has a . segment, and changed file paths have none'
  return undefined
}

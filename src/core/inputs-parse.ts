// Pure parsing of the action's text inputs: lists, KEY=VALUE lines, booleans, modes.
// Every error names the input, quotes the value and says what would be accepted.

export type Mode = 'plan' | 'build' | 'merge' | 'cleanup'
export type PushSetting = 'auto' | boolean
/** SPEC 4b's `attest`: auto (where the job can request an OIDC token), true (required), false. */
export type AttestSetting = 'auto' | boolean

export class InputError extends Error {
  constructor(
    readonly input: string,
    message: string
  ) {
    super(message)
    this.name = 'InputError'
  }
}

/** `input` is the action's input name (`max-deletions`) or, from the CLI, the flag (`--max-deletions`). */
function fail(input: string, value: string, fix: string): never {
  const name = input.startsWith('-') ? input : `input "${input}"`
  throw new InputError(input, `${name} is ${JSON.stringify(value)}: ${fix}`)
}

/** Comma- or newline-separated items, trimmed, empty ones dropped, duplicates kept once. */
export function parseList(text: string): string[] {
  const items = text
    .split(/[,\n]/)
    .map(s => s.trim())
    .filter(Boolean)
  return [...new Set(items)]
}

/** `KEY=VALUE` lines (the value may hold `=`); blank lines and `#` comments are skipped. */
export function parseKeyValueLines(input: string, text: string): Record<string, string> {
  const out: Record<string, string> = {}
  for (const raw of text.split('\n')) {
    const line = raw.trim()
    if (!line || line.startsWith('#')) continue
    const eq = line.indexOf('=')
    if (eq <= 0) fail(input, line, 'each line must be KEY=VALUE, e.g. NODE_VERSION=20')
    const key = line.slice(0, eq).trim()
    if (!/^[A-Za-z_][A-Za-z0-9_.-]*$/.test(key)) {
      fail(input, line, `"${key}" is not a build-arg name: use letters, digits and _ (e.g. NODE_VERSION=20)`)
    }
    out[key] = line.slice(eq + 1)
  }
  return out
}

/** YAML 1.2 core booleans, as `core.getBooleanInput` accepts them. */
export function parseBoolean(input: string, text: string): boolean {
  const t = text.trim()
  if (['true', 'True', 'TRUE'].includes(t)) return true
  if (['false', 'False', 'FALSE'].includes(t)) return false
  return fail(input, text, 'must be true or false')
}

export function parseMode(text: string): Mode {
  const t = text.trim() || 'build'
  if (t === 'plan' || t === 'build' || t === 'merge' || t === 'cleanup') return t
  return fail('mode', text, 'must be plan, build, merge or cleanup')
}

export function parsePush(text: string): PushSetting {
  const t = text.trim().toLowerCase() || 'auto'
  if (t === 'auto') return 'auto'
  if (t === 'true') return true
  if (t === 'false') return false
  return fail('push', text, 'must be auto, true or false')
}

export function parseAttest(text: string): AttestSetting {
  const t = text.trim().toLowerCase() || 'auto'
  if (t === 'auto') return 'auto'
  if (t === 'true') return true
  if (t === 'false') return false
  return fail('attest', text, 'must be auto, true or false')
}

/** `all`, or layer names. Empty: nothing forced. */
export function parseForce(text: string, input = 'force'): string[] | 'all' {
  const items = parseList(text)
  if (items.some(i => i.toLowerCase() === 'all')) {
    if (items.length > 1) fail(input, text, 'use either `all` or layer names, not both')
    return 'all'
  }
  return items
}

export function parsePositiveInt(input: string, text: string, fallback: number): number {
  const t = text.trim()
  if (!t) return fallback
  if (!/^\d+$/.test(t)) fail(input, text, 'must be a whole number, e.g. 20')
  return Number(t)
}

/** Platforms look like `os/arch[/variant]`. */
export function parsePlatforms(text: string, input = 'platforms'): string[] | undefined {
  const items = parseList(text)
  for (const p of items) {
    if (!/^[a-z0-9]+\/[a-z0-9_]+(\/[a-z0-9]+)?$/.test(p)) {
      fail(input, p, 'each platform is os/arch, e.g. linux/amd64,linux/arm64')
    }
  }
  return items.length ? items : undefined
}

/** The `platform` input: one platform (`os/arch[/variant]`), or undefined when empty. */
export function parsePlatform(text: string): string | undefined {
  const t = text.trim()
  if (!t) return undefined
  if (/[,\n]/.test(t))
    fail('platform', text, 'name one platform, e.g. linux/arm64 (the platforms input takes several)')
  return parsePlatforms(t)?.[0]
}

/** `push: auto` pushes unless the event is a pull request from a fork (its token cannot push). */
export function resolvePush(push: PushSetting, pr?: { fork: boolean }): boolean {
  if (push !== 'auto') return push
  return !pr?.fork
}

/**
 * A buildx builder name (`docker buildx create --name`): it reaches `docker buildx inspect <name>` as
 * an argument, so it must not start with `-` or hold spaces. Empty: the current builder.
 */
export function parseBuilder(input: string, text: string): string | undefined {
  const t = text.trim()
  if (!t) return undefined
  if (!/^[A-Za-z0-9][A-Za-z0-9_.-]*$/.test(t))
    fail(input, text, 'a builder name is letters, digits, _ . and -, starting with a letter or digit')
  return t
}

/**
 * `base`/`head`: a commit sha, or a branch or tag name. They reach git's command line and the
 * compare API's URL, so nothing that reads as an option, a range (`a..b`) or a path may pass.
 */
export function parseRevision(input: string, text: string): string | undefined {
  const t = text.trim()
  if (!t) return undefined
  if (t.startsWith('-') || t.includes('..') || !/^[A-Za-z0-9._/@^~-]+$/.test(t) || t.endsWith('/'))
    fail(input, text, 'give a commit sha (or a branch or tag name), e.g. the `before` of a push event')
  return t
}

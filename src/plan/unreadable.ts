// SPEC 8: a registry Strata cannot read is never read as "nothing to do". A stable or input tag that
// cannot be looked up makes its layer's decision unknown (and its children's, which build on it);
// the failures are said once per registry, with the answer and the fix.
import { denialHint } from '../adapters/registry.js'
import { NetworkError, RegistryAuthError, RegistryReplyError } from '../adapters/registry-http.js'
import { parseImageRef } from '../core/image-ref.js'
import type { Plan, StrataConfig } from '../core/types.js'

/** One registry that could not be read: what it answered and what fixes it. */
export interface ReadFailure {
  registry: string
  answer: string
  fix: string
}

/** Collects failed look-ups by registry and the layers they leave undecided. */
export interface Unreadable {
  add(layer: string, ref: string, error: unknown): void
  readonly layers: ReadonlySet<string>
  /** One message per registry, in the order they first failed. */
  messages(unknownLayers: string[]): string[]
}

export function createUnreadable(): Unreadable {
  const byRegistry = new Map<string, { failure: ReadFailure; layers: Set<string> }>()
  const layers = new Set<string>()
  return {
    layers,
    add(layer, ref, error) {
      const failure = readFailure(ref, error)
      const seen = byRegistry.get(failure.registry) ?? { failure, layers: new Set<string>() }
      seen.layers.add(layer)
      byRegistry.set(failure.registry, seen)
      layers.add(layer)
    },
    messages(unknownLayers) {
      return [...byRegistry.values()].map(({ failure, layers: own }) => {
        // Children of an unreadable layer are unknown too: named with the registry that caused it.
        const named = unknownLayers.filter(l => own.has(l) || !layers.has(l))
        return unreadableMessage(failure, named)
      })
    }
  }
}

export function unreadableMessage(f: ReadFailure, layers: string[]): string {
  const which = layers.length === 1 ? `layer ${layers[0]}` : `layers ${layers.join(', ')}`
  return `the registry ${f.registry} cannot be read (${f.answer}), so the decision for ${which} is unknown: ${f.fix}`
}

/** Which registry failed, its answer in a few words, and the cheapest fix. */
export function readFailure(ref: string, error: unknown): ReadFailure {
  let registry: string
  try {
    registry = parseImageRef(ref).host
  } catch {
    registry = ref.split('/')[0]
  }
  const cause = knownCause(error)
  const message = (error instanceof Error ? error.message : String(error)).split('\n')[0]
  if (cause instanceof NetworkError) {
    const why = /^\S+ \S+: (.*)$/.exec(cause.message)?.[1] ?? cause.message
    return {
      registry,
      answer: `no answer: ${why}`,
      fix: `check that ${registry} is the registry's host and port, and that this machine can reach it`
    }
  }
  const status = cause instanceof RegistryAuthError || cause instanceof RegistryReplyError ? cause.status : 0
  if (status === 401 || status === 403) {
    return { registry, answer: `HTTP ${status}`, fix: denialHint(registry).replace(/^ — /, '') }
  }
  if (status === 429 || status >= 500) {
    return {
      registry,
      answer: `HTTP ${status} after 3 tries`,
      fix: `the registry is failing: run again later, or check ${registry}`
    }
  }
  const answer = message.replace(/^cannot look up \S+ in the registry: /, '').slice(0, 200)
  return { registry, answer, fix: `check the image name in the config and ${registry}'s answer` }
}

function knownCause(error: unknown): unknown {
  for (let e = error, depth = 0; e instanceof Error && depth < 5; e = e.cause, depth++) {
    if (e instanceof NetworkError || e instanceof RegistryAuthError || e instanceof RegistryReplyError)
      return e
  }
  return error
}

/**
 * The plan with every layer a failed look-up left undecided marked `unknown`, and its children too
 * (they build on it); `unreadable` holds one message per registry. No failure: the plan as it was.
 */
export function markUnknown(plan: Plan, config: StrataConfig, unreadable: Unreadable): Plan {
  if (unreadable.layers.size === 0) return plan
  const byName = new Map(config.layers.map(l => [l.name, l]))
  const unknown = new Set<string>()
  for (const name of config.order) {
    const from = byName.get(name)?.from ?? []
    if (unreadable.layers.has(name) || from.some(p => unknown.has(p.layer))) unknown.add(name)
  }
  const out: Plan['layers'] = {}
  for (const [name, d] of Object.entries(plan.layers)) {
    if (!unknown.has(name)) out[name] = d
    else {
      const { ref: _pinned, sameInputs: _same, ...rest } = d
      out[name] = { ...rest, build: false, unknown: true }
    }
  }
  return { ...plan, layers: out, unreadable: unreadable.messages([...unknown]) }
}

// Config and event objects built by hand, for tests of code that takes them already parsed (the
// config parser and readEvent are tested on their own). One set of defaults for every test.
import type { EventContext, LayerConfig, StrataConfig } from '../src/core/types.js'

export const IMAGE = 'ghcr.io/acme/sindri'
export const SHA = '3f2a9c1d5e6f7a8b9c0d1e2f3a4b5c6d7e8f9a0b'

/** A layer as the parser leaves it with no keys set, but `Dockerfile.<name>`; `over` wins. */
export function layer(name: string, over: Partial<LayerConfig> = {}): LayerConfig {
  return {
    name,
    dockerfile: `Dockerfile.${name}`,
    context: '.',
    paths: [],
    from: [],
    always: false,
    image: IMAGE,
    buildArgs: {},
    platforms: ['linux/amd64'],
    cache: ['gha', 'registry'],
    secrets: [],
    labels: {},
    ...over
  }
}

/** `from:` of a layer, with the parser's build-arg names (`base` → BASE_IMAGE). */
export const from = (...parents: string[]): LayerConfig['from'] =>
  parents.map(p => ({ layer: p, buildArg: `${p.toUpperCase()}_IMAGE` }))

/** A config of these layers, in this order (list parents before children). */
export function config(layers: LayerConfig[], over: Partial<StrataConfig> = {}): StrataConfig {
  return {
    file: '.github/strata.yml',
    version: 1,
    image: IMAGE,
    layers,
    order: layers.map(l => l.name),
    ...over
  }
}

/** SPEC section 1's example (`__fixtures__/configs/three-layer.yml`), as the parser returns it. */
export const specExample = (): StrataConfig =>
  config([
    layer('base', {
      paths: ['Dockerfile.base', 'docker/lib/registry-retry.sh', 'docker/scripts/install-packages.sh']
    }),
    layer('tooling', {
      from: from('base'),
      paths: [
        'Dockerfile.tooling',
        'docker/config/sshd_config',
        'docker/scripts/install-*.sh',
        '!docker/scripts/install-packages.sh'
      ]
    }),
    layer('app', {
      dockerfile: 'Dockerfile',
      from: from('tooling'),
      paths: ['Dockerfile', 'docker/**'],
      always: true
    })
  ])

/** A push to the default branch `main` of acme/sindri; `over` wins. */
export function eventContext(over: Partial<EventContext> = {}): EventContext {
  return {
    eventName: 'push',
    owner: 'acme',
    repo: 'sindri',
    ref: 'refs/heads/main',
    sha: SHA,
    defaultBranch: 'main',
    branch: 'main',
    isDefaultBranch: true,
    time: new Date('2025-06-01T12:00:00Z'),
    ...over
  }
}

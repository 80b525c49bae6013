// The seed guides' retention policy (docs/retention.md), as a strata.yml for the cleanup tests.
import { parseConfig } from '../src/core/config/index.js'
import type { StrataConfig } from '../src/core/types.js'

/** base → tooling → app in `image`, with the seed's retention rules. */
export const seedStrataYml = (image: string): string => `version: 1
image: ${image}
layers:
  base:
    dockerfile: Dockerfile.base
  tooling:
    dockerfile: Dockerfile.tooling
    from: base
  app:
    dockerfile: Dockerfile
    from: tooling
retention:
  min-keep: 3
  default:
    pr: { max-age-days: 7, delete-when-closed: true }
    branch: { keep: 10 }
    untagged: { max-age-days: 0 }
  layers:
    base: { versioned: { keep-forever: true } }
    tooling: { versioned: { keep: 3 } }
`

/** seedStrataYml, parsed as `.github/strata.yml`. */
export const seedConfig = (image: string): StrataConfig =>
  parseConfig(seedStrataYml(image), '.github/strata.yml')

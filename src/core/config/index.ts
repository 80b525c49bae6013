// The config's public face: parse a `.github/strata.yml`, and the names and errors it uses.
export { ConfigError, type ConfigPositions, type LayerPositions, type Position } from './errors.js'
export { parseConfig, parseConfigWithPositions } from './parse.js'
export { CACHE_KINDS, parentBuildArg } from './layer-keys.js'
export { LAYER_NAME } from './layers.js'
export { TAG_KINDS } from './retention.js'

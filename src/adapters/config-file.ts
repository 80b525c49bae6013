// Reads the layer config from the workspace, parses it (core/config.ts), and checks what the
// parser cannot: that every layer's Dockerfile and build context exist.
import { readFile, stat } from 'node:fs/promises'
import * as path from 'node:path'
import { ConfigError, parseConfigWithPositions, type Position } from '../core/config.js'
import type { StrataConfig } from '../core/types.js'

/** `configPath` as the user gave it (the `config` input), relative to `workspace` unless absolute. */
export async function loadConfig(configPath: string, workspace: string): Promise<StrataConfig> {
  const full = path.resolve(workspace, configPath)
  let text: string
  try {
    text = await readFile(full, 'utf8')
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code
    if (code === 'ENOENT')
      throw new Error(
        `${configPath}: layer config not found (looked for ${full}); add it, or point the \`config\` input at your layer config`
      )
    if (code === 'EISDIR')
      throw new Error(
        `${configPath}: is a directory, not a layer config; point the \`config\` input at the YAML file`
      )
    throw new Error(`${configPath}: cannot read the layer config: ${(e as Error).message}`)
  }
  const { config, positions } = parseConfigWithPositions(text, configPath)

  const kindOf = async (p: string): Promise<'file' | 'dir' | 'missing'> => {
    try {
      return (await stat(p)).isDirectory() ? 'dir' : 'file'
    } catch {
      return 'missing'
    }
  }
  // Side by side: a config with many layers should not wait on one stat after another.
  const checks = await Promise.all(
    config.layers.map(async l => ({
      layer: l,
      dockerfile: await kindOf(path.resolve(workspace, l.dockerfile)),
      context: await kindOf(path.resolve(workspace, l.context))
    }))
  )
  for (const { layer, dockerfile, context } of checks) {
    const pos = positions.layers[layer.name]
    const fail = (at: Position | undefined, what: string, fix: string): never => {
      const { line, column } = at ?? pos.name
      throw new ConfigError(configPath, line, column, what, fix)
    }
    if (dockerfile !== 'file')
      fail(
        pos.dockerfile,
        `layer "${layer.name}": Dockerfile "${layer.dockerfile}" ${dockerfile === 'dir' ? 'is a directory' : 'does not exist'} in ${workspace}`,
        pos.dockerfile
          ? 'fix the `dockerfile` path; it is relative to the repository root'
          : 'add `dockerfile:` to the layer with its path relative to the repository root'
      )
    if (context !== 'dir')
      fail(
        pos.context,
        `layer "${layer.name}": build context "${layer.context}" is not a directory in ${workspace}`,
        'fix the `context` path; it is relative to the repository root'
      )
  }
  return config
}

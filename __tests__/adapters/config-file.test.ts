import { copyFile, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import * as path from 'node:path'
import { loadConfig } from '../../src/adapters/config-file.js'
import { ConfigError } from '../../src/core/config/index.js'

const CONFIG = '.github/strata.yml'
let ws: string

beforeEach(async () => {
  ws = await mkdtemp(path.join(tmpdir(), 'strata-config-'))
  await mkdir(path.join(ws, '.github'))
})
afterEach(async () => rm(ws, { recursive: true, force: true }))

const write = async (rel: string, text = ''): Promise<void> => {
  await mkdir(path.dirname(path.join(ws, rel)), { recursive: true })
  await writeFile(path.join(ws, rel), text)
}

async function failure(configPath = CONFIG): Promise<Error> {
  try {
    await loadConfig(configPath, ws)
  } catch (e) {
    return e as Error
  }
  throw new Error('loadConfig did not fail')
}

test('a good workspace: the SPEC example with its Dockerfiles', async () => {
  await copyFile('__fixtures__/configs/three-layer.yml', path.join(ws, CONFIG))
  for (const f of ['Dockerfile.base', 'Dockerfile.tooling', 'Dockerfile']) await write(f, 'FROM scratch\n')
  const config = await loadConfig(CONFIG, ws)
  expect(config.file).toBe(CONFIG)
  expect(config.order).toEqual(['base', 'tooling', 'app'])
  expect(config.layers.map(l => l.dockerfile)).toEqual([
    'Dockerfile.base',
    'Dockerfile.tooling',
    'Dockerfile'
  ])
})

test('an absolute config path and Dockerfiles in a context folder', async () => {
  await write(
    'ci/strata.yml',
    'version: 1\nimage: r/x\nlayers:\n  app:\n    dockerfile: svc/Dockerfile\n    context: svc\n'
  )
  await write('svc/Dockerfile', 'FROM scratch\n')
  const config = await loadConfig(path.join(ws, 'ci/strata.yml'), ws)
  expect(config.layers[0]).toMatchObject({ dockerfile: 'svc/Dockerfile', context: 'svc' })
})

test('a missing config file names the path and the `config` input', async () => {
  const err = await failure()
  expect(err.message).toBe(
    `${CONFIG}: layer config not found (looked for ${path.join(ws, CONFIG)}); add it, or point the \`config\` input at your layer config`
  )
})

test('a missing Dockerfile names the layer, the path and where the `dockerfile` key is', async () => {
  await write(
    CONFIG,
    'version: 1\nimage: r/x\nlayers:\n  base:\n    dockerfile: Dockerfile.base\n  app:\n    from: base\n'
  )
  await write('Dockerfile', 'FROM scratch\n')
  const err = await failure()
  expect(err).toBeInstanceOf(ConfigError)
  expect(err.message).toBe(
    `${CONFIG}:5:5: layer "base": Dockerfile "Dockerfile.base" does not exist in ${ws} (fix the \`dockerfile\` path; it is relative to the repository root)`
  )
})

test('a missing default Dockerfile points at the layer name', async () => {
  await write(CONFIG, 'version: 1\nimage: r/x\nlayers:\n  app: {}\n')
  const err = await failure()
  expect(err.message).toBe(
    `${CONFIG}:4:3: layer "app": Dockerfile "Dockerfile" does not exist in ${ws} (add \`dockerfile:\` to the layer with its path relative to the repository root)`
  )
})

test('a Dockerfile set in defaults points at the defaults key', async () => {
  await write(CONFIG, 'version: 1\nimage: r/x\ndefaults:\n  dockerfile: docker/Dockerfile\nlayers:\n  app:\n')
  await mkdir(path.join(ws, 'docker/Dockerfile'), { recursive: true })
  const err = await failure()
  expect(err.message).toBe(
    `${CONFIG}:4:3: layer "app": Dockerfile "docker/Dockerfile" is a directory in ${ws} (fix the \`dockerfile\` path; it is relative to the repository root)`
  )
})

test('a missing context directory', async () => {
  await write(CONFIG, 'version: 1\nimage: r/x\nlayers:\n  app:\n    context: services/app\n')
  await write('Dockerfile', 'FROM scratch\n')
  const err = await failure()
  expect(err.message).toBe(
    `${CONFIG}:5:5: layer "app": build context "services/app" is not a directory in ${ws} (fix the \`context\` path; it is relative to the repository root)`
  )
})

test('parse errors come through with the config path', async () => {
  await write(CONFIG, 'version: 1\nimage: r/x\nlayers:\n  app:\n    dockerfle: Dockerfile\n')
  const err = await failure()
  expect(err.message).toBe(
    `${CONFIG}:5:5: layer "app" has unknown key "dockerfle" (did you mean "dockerfile"?)`
  )
})

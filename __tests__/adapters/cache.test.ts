// The local cache adapter: keys from real files, the swap of buildx's fresh cache, and a runner
// without the Actions cache service (one notice, never a failure).
import { mkdir, mkdtemp, readFile, symlink, writeFile } from 'node:fs/promises'
import { existsSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { createLocalCache, inputFiles, localCacheKeys, swapLocalCache } from '../../src/adapters/cache.js'
import type { LayerConfig, Logger } from '../../src/core/types.js'

function layer(name: string, paths: string[]): LayerConfig {
  return {
    name,
    dockerfile: `Dockerfile.${name}`,
    context: '.',
    paths,
    from: [],
    always: false,
    image: 'localhost:5000/acme/app',
    buildArgs: {},
    platforms: ['linux/amd64'],
    cache: ['local'],
    secrets: [],
    labels: {}
  }
}

async function workspace(files: Record<string, string>): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'strata-cache-'))
  await write(dir, files)
  return dir
}

async function write(dir: string, files: Record<string, string>): Promise<void> {
  for (const [f, content] of Object.entries(files)) {
    await mkdir(dirname(join(dir, f)), { recursive: true })
    await writeFile(join(dir, f), content)
  }
}

function recorder(): Logger & { lines: string[] } {
  const lines: string[] = []
  return {
    lines,
    info: m => lines.push(`info: ${m}`),
    notice: m => lines.push(`notice: ${m}`),
    warning: m => lines.push(`warning: ${m}`),
    group: async (name, fn) => fn()
  }
}

const TOOLING = ['Dockerfile.tooling', 'docker/scripts/install-*.sh', '!docker/scripts/install-packages.sh']

test('inputFiles reads the patterns in order, like SPEC 3, and skips .git', async () => {
  const ws = await workspace({
    'Dockerfile.tooling': 'FROM x',
    'docker/scripts/install-node.sh': 'node',
    'docker/scripts/install-packages.sh': 'apt',
    'docker/scripts/other.sh': 'other',
    '.git/docker/scripts/install-x.sh': 'git object',
    README: 'docs'
  })
  expect(await inputFiles(ws, TOOLING)).toEqual(['Dockerfile.tooling', 'docker/scripts/install-node.sh'])
  expect(await inputFiles(ws, ['docker/'])).toEqual([
    'docker/scripts/install-node.sh',
    'docker/scripts/install-packages.sh',
    'docker/scripts/other.sh'
  ])
  expect(await inputFiles(ws, [])).toEqual([])
})

test('the key follows the content of the input files only; restore keys: this branch, then the default one', async () => {
  const ws = await workspace({
    'Dockerfile.tooling': 'FROM x',
    'docker/scripts/install-node.sh': 'node 20',
    'docker/scripts/install-packages.sh': 'apt',
    'app.txt': 'app'
  })
  const l = layer('tooling', TOOLING)
  const first = await localCacheKeys(ws, l, 'feature-x', 'main')
  expect(first.key).toMatch(/^strata-local-tooling-feature-x-[0-9a-f]{32}$/)
  expect(first.restoreKeys).toEqual(['strata-local-tooling-feature-x-', 'strata-local-tooling-main-'])

  // Files that are no input of the layer (unmatched, or excluded by `!`) leave the key alone.
  await write(ws, { 'app.txt': 'app 2', 'docker/scripts/install-packages.sh': 'apt 2', 'new.md': 'x' })
  expect((await localCacheKeys(ws, l, 'feature-x', 'main')).key).toBe(first.key)

  // An input's content, a new input and a symlink input each change it.
  await write(ws, { 'docker/scripts/install-node.sh': 'node 22' })
  const changed = await localCacheKeys(ws, l, 'feature-x', 'main')
  expect(changed.key).not.toBe(first.key)
  await write(ws, { 'docker/scripts/install-go.sh': 'go' })
  const added = await localCacheKeys(ws, l, 'feature-x', 'main')
  expect(added.key).not.toBe(changed.key)
  await symlink('install-go.sh', join(ws, 'docker/scripts/install-link.sh'))
  expect((await localCacheKeys(ws, l, 'feature-x', 'main')).key).not.toBe(added.key)

  // On the default branch: one restore key; another layer: another key.
  const onMain = await localCacheKeys(ws, l, 'main', 'main')
  expect(onMain.restoreKeys).toEqual(['strata-local-tooling-main-'])
  expect(onMain.key.slice(-32)).toBe((await localCacheKeys(ws, l, 'feature-x', 'main')).key.slice(-32))
  expect((await localCacheKeys(ws, layer('base', TOOLING), 'main', 'main')).key).toMatch(/^strata-local-base-main-/)
})

test('swapLocalCache puts the fresh cache in place of the old one', async () => {
  const root = await mkdtemp(join(tmpdir(), 'strata-swap-'))
  const dir = join(root, 'tooling')
  expect(await swapLocalCache(dir)).toBe(false)
  await write(root, { 'tooling/index.json': 'old', 'tooling/blobs/old': 'old blob', 'tooling-new/index.json': 'new' })
  expect(await swapLocalCache(dir)).toBe(true)
  expect(await readFile(join(dir, 'index.json'), 'utf8')).toBe('new')
  expect(existsSync(join(dir, 'blobs/old'))).toBe(false)
  expect(existsSync(`${dir}-new`)).toBe(false)
  expect(await swapLocalCache(dir)).toBe(false)
})

describe('without the Actions cache service', () => {
  const saved = { ...process.env }
  beforeEach(() => {
    delete process.env.ACTIONS_CACHE_URL
    delete process.env.ACTIONS_RESULTS_URL
  })
  afterEach(() => {
    process.env = { ...saved }
  })

  test('restore and save skip with one notice for the whole run, and never throw', async () => {
    const log = recorder()
    const c = createLocalCache(log)
    const ws = await workspace({ 'Dockerfile.tooling': 'FROM x', 'cache/tooling/index.json': '{}' })
    const keys = await localCacheKeys(ws, layer('tooling', TOOLING), 'main', 'main')
    expect(await c.restore(join(ws, 'cache/tooling'), keys)).toBeUndefined()
    expect(await c.save(join(ws, 'cache/tooling'), keys.key)).toBe(false)
    expect(await c.restore(join(ws, 'cache/base'), keys)).toBeUndefined()
    expect(log.lines).toEqual([
      'notice: local cache not kept between runs: the Actions cache service is not available here ' +
        '(neither ACTIONS_CACHE_URL nor ACTIONS_RESULTS_URL is set); the builder still uses the cache it has'
    ])
  })
})

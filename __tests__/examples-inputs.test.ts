// issue 11: the bundled example (examples/three-layer, no `paths`) and SPEC 1's example (the same
// Dockerfiles, with `paths`) plan the same: the Dockerfiles say which files each layer reads.
import { cpSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { parseConfig } from '../src/core/config/index.js'
import { decide } from '../src/core/plan.js'
import type { ChangeSet, StrataConfig } from '../src/core/types.js'
import { readLayers } from '../src/plan/layer-reads.js'
import { eventContext } from '../__fixtures__/layers.js'
import { createGit } from '../src/adapters/git.js'
import { createWorkspaceFiles } from '../src/adapters/workspace-files.js'

const ws = mkdtempSync(join(tmpdir(), 'strata-examples-'))
cpSync('examples/three-layer', ws, { recursive: true })
writeFileSync(join(ws, 'busybox'), 'a stand-in for the busybox binary scripts/example.sh copies here\n')
const WITHOUT = parseConfig(
  readFileSync('examples/three-layer/.github/strata.yml', 'utf8'),
  'examples/three-layer/.github/strata.yml'
)
const SPEC1 = parseConfig(
  readFileSync('__fixtures__/configs/three-layer.yml', 'utf8'),
  '__fixtures__/configs/three-layer.yml'
)

test('the example config has no `paths`; SPEC 1’s has them for every layer', () => {
  expect(WITHOUT.layers.map(l => l.paths)).toEqual([[], [], []])
  expect(SPEC1.layers.every(l => l.paths.length > 0)).toBe(true)
})

async function builds(
  config: StrataConfig,
  files: string[],
  derive: boolean
): Promise<Record<string, boolean>> {
  const reads = await readLayers(config, {}, createWorkspaceFiles(ws, createGit(ws)))
  expect(reads.errors).toEqual([])
  const changes: ChangeSet = { source: 'api', files: files.map(path => ({ path, status: 'modified' })) }
  const plan = decide({
    config,
    ctx: eventContext(),
    changes,
    force: [],
    stableExists: { base: true, tooling: true, app: true },
    ...(derive && { inputs: reads.inputs })
  })
  return Object.fromEntries(Object.entries(plan.layers).map(([n, d]) => [n, d.build]))
}

test.each<[string[], Record<string, boolean>]>([
  [['Dockerfile.base'], { base: true, tooling: true, app: true }],
  [['docker/lib/registry-retry.sh'], { base: true, tooling: true, app: true }],
  [['docker/scripts/install-packages.sh'], { base: true, tooling: true, app: true }],
  [['Dockerfile.tooling'], { base: false, tooling: true, app: true }],
  [['docker/config/sshd_config'], { base: false, tooling: true, app: true }],
  [['docker/scripts/install-tools.sh'], { base: false, tooling: true, app: true }],
  [['Dockerfile'], { base: false, tooling: false, app: true }],
  [['docker/app/hello.sh'], { base: false, tooling: false, app: true }],
  [['README.md', '.github/strata.yml'], { base: false, tooling: false, app: true }]
])('a change of %j builds the same layers with and without `paths`', async (files, expected) => {
  expect(await builds(WITHOUT, files, true)).toEqual(expected) // the example: Dockerfiles only
  expect(await builds(SPEC1, files, true)).toEqual(expected) // SPEC 1: paths and Dockerfiles
  expect(await builds(SPEC1, files, false)).toEqual(expected) // SPEC 1 as before issue 11: paths only
})

test('each layer of the example reads what SPEC 1’s paths list, and says why', async () => {
  const reads = await readLayers(WITHOUT, {}, createWorkspaceFiles(ws, createGit(ws)))
  expect(Object.fromEntries(reads.files.tooling)).toEqual({
    '.dockerignore': 'the .dockerignore',
    'Dockerfile.tooling': 'the Dockerfile',
    'docker/config/sshd_config': 'Dockerfile.tooling:4 COPY',
    'docker/scripts/install-tools.sh': 'Dockerfile.tooling:5 COPY'
  })
  expect([...reads.files.base.keys()]).toEqual([
    '.dockerignore',
    'Dockerfile.base',
    'busybox',
    'docker/lib/registry-retry.sh',
    'docker/scripts/install-packages.sh'
  ])
  expect([...reads.files.app.keys()]).toEqual(['.dockerignore', 'Dockerfile', 'docker/app/hello.sh'])
  expect(reads.warnings).toEqual([])
})

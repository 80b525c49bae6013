// Paths that leave the repository (issue 13 item 2) and config files that are not UTF-8 (item 9),
// with real symlinks in a real git repository.
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals'
import { execFileSync } from 'node:child_process'
import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import * as path from 'node:path'
import { loadConfig } from '../../src/adapters/config-file.js'
import { ConfigError } from '../../src/core/config/index.js'
import type { Logger } from '../../src/core/types.js'

let top: string
let n = 0

beforeAll(async () => {
  top = await mkdtemp(path.join(tmpdir(), 'strata-hostile-'))
  await mkdir(path.join(top, 'outside/dir'), { recursive: true })
  await writeFile(path.join(top, 'outside/Dockerfile'), 'FROM scratch\n')
  await writeFile(path.join(top, 'outside/secret'), 'secret\n')
  await writeFile(path.join(top, 'outside/strata.yml'), 'version: 1\nimage: r/x\nlayers: { app: }\n')
})
afterAll(async () => rm(top, { recursive: true, force: true }))

/** A fresh git repository with a Dockerfile, a `docker/` folder and the given config. */
async function repo(config: string): Promise<string> {
  const ws = path.join(top, `repo-${++n}`)
  await mkdir(path.join(ws, '.github'), { recursive: true })
  await mkdir(path.join(ws, 'docker'))
  execFileSync('git', ['init', '-q', ws])
  await writeFile(path.join(ws, 'Dockerfile'), 'FROM scratch\n')
  await writeFile(path.join(ws, 'docker/Dockerfile.real'), 'FROM scratch\n')
  await writeFile(path.join(ws, '.github/strata.yml'), config)
  return ws
}

const layerWith = (lines: string[]): string =>
  ['version: 1', 'image: r/x', 'layers:', '  app:', ...lines].join('\n')

async function failure(ws: string, configPath = '.github/strata.yml'): Promise<Error> {
  try {
    await loadConfig(configPath, ws)
  } catch (e) {
    return e as Error
  }
  throw new Error('loadConfig did not fail')
}

// [what, config lines of layer app, symlinks to make (link → target, relative to the repo), line:column]
const ESCAPES: [string, string[], [string, string][], [number, number]][] = [
  [
    'a Dockerfile symlinked out',
    ['    dockerfile: Dockerfile.out'],
    [['Dockerfile.out', '../outside/Dockerfile']],
    [5, 5]
  ],
  ['a Dockerfile symlinked to /etc/passwd', ['    dockerfile: passwd'], [['passwd', '/etc/passwd']], [5, 5]],
  [
    'a Dockerfile in a folder symlinked out',
    ['    dockerfile: ext/Dockerfile'],
    [['ext', '../outside']],
    [5, 5]
  ],
  [
    'a chain of symlinks out',
    ['    dockerfile: a'],
    [
      ['a', 'b'],
      ['b', 'docker/c'],
      ['docker/c', '../../outside/Dockerfile']
    ],
    [5, 5]
  ],
  ['a context symlinked out', ['    context: ctx'], [['ctx', '../outside/dir']], [5, 5]],
  ['a context symlinked to /', ['    context: root'], [['root', '/']], [5, 5]],
  ['a context symlinked to /tmp', ['    context: t'], [['t', '/tmp']], [5, 5]],
  [
    'the context .dockerignore symlinked out',
    ['    context: docker'],
    [['docker/.dockerignore', '../../outside/secret']],
    [5, 5]
  ],
  [
    'the Dockerfile.dockerignore symlinked out',
    ['    dockerfile: Dockerfile'],
    [['Dockerfile.dockerignore', '../outside/secret']],
    [5, 5]
  ],
  ['the root .dockerignore symlinked out', [], [['.dockerignore', '/etc/hostname']], [4, 3]],
  ['a context inside a folder symlinked out', ['    context: ext/dir'], [['ext', '../outside']], [5, 5]]
]

describe('a path that leaves the repository through a symlink', () => {
  test.each(ESCAPES)(
    '%s is a config error naming the layer and where',
    async (_what, lines, links, [line, column]) => {
      const ws = await repo(layerWith(lines))
      for (const [link, target] of links) {
        await mkdir(path.dirname(path.join(ws, link)), { recursive: true })
        await symlink(target, path.join(ws, link))
      }
      const err = await failure(ws)
      expect(err).toBeInstanceOf(ConfigError)
      const ce = err as ConfigError
      expect([ce.line, ce.column]).toEqual([line, column])
      expect(ce.what).toMatch(
        /^layer "app": (Dockerfile|build context|\.dockerignore) .* resolves to .*, outside the repository /
      )
      expect(ce.fix).toBe(
        'keep every Dockerfile, context and .dockerignore inside the repository (no symlink out of it)'
      )
    }
  )

  test.each<[string, string[], [string, string][]]>([
    [
      'a Dockerfile symlinked inside',
      ['    dockerfile: Dockerfile.link'],
      [['Dockerfile.link', 'docker/Dockerfile.real']]
    ],
    ['a context symlinked inside', ['    context: ctx', '    dockerfile: Dockerfile'], [['ctx', 'docker']]],
    ['a .dockerignore symlinked inside', [], [['.dockerignore', 'docker/Dockerfile.real']]],
    ['a dangling .dockerignore inside', [], [['.dockerignore', 'docker/missing']]]
  ])('%s is fine', async (_what, lines, links) => {
    const ws = await repo(layerWith(lines))
    for (const [link, target] of links) await symlink(target, path.join(ws, link))
    await expect(loadConfig('.github/strata.yml', ws)).resolves.toMatchObject({ order: ['app'] })
  })

  test('a workspace reached through a symlink is still the repository', async () => {
    const ws = await repo(layerWith(['    dockerfile: Dockerfile.link']))
    await symlink('docker/Dockerfile.real', path.join(ws, 'Dockerfile.link'))
    const via = path.join(top, `via-${n}`)
    await symlink(ws, via)
    await expect(loadConfig('.github/strata.yml', via)).resolves.toMatchObject({ order: ['app'] })
  })
})

describe('a config input outside the repository', () => {
  test.each([
    ['../outside/strata.yml', (ws: string) => void ws],
    [path.join('..', 'outside', 'strata.yml'), () => undefined],
    [
      '.github/link.yml',
      async (ws: string) => symlink('../../outside/strata.yml', path.join(ws, '.github/link.yml'))
    ],
    [
      '.github/abs.yml',
      async (ws: string) => symlink(path.join(top, 'outside/strata.yml'), path.join(ws, '.github/abs.yml'))
    ],
    ['cfg/strata.yml', async (ws: string) => symlink('../outside', path.join(ws, 'cfg'))],
    ['/etc/hostname', () => undefined],
    ['../../../../../../../../etc/passwd', () => undefined]
  ])('%s is refused', async (configPath, setup) => {
    const ws = await repo(layerWith([]))
    await setup(ws)
    const err = await failure(ws, configPath)
    expect(err.message).toMatch(
      new RegExp(
        `^${configPath.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}: the layer config resolves to .*, outside the repository `
      )
    )
    expect(err.message).toContain('point the `config` input at your layer config inside the repository')
  })

  test('an absolute config path inside the repository is fine', async () => {
    const ws = await repo(layerWith([]))
    await expect(loadConfig(path.join(ws, '.github/strata.yml'), ws)).resolves.toMatchObject({
      order: ['app']
    })
  })
})

const YAML = 'version: 1\nimage: r/x\nlayers: { app: }\n'
const utf16 = (s: string, be: boolean): Buffer => {
  const le = Buffer.from(s, 'utf16le')
  return be ? Buffer.from(le.map((_b, i) => le[i ^ 1])) : le
}

describe('a config that is not UTF-8', () => {
  test.each<[string, Buffer, string]>([
    [
      'UTF-16 LE with a BOM',
      Buffer.concat([Buffer.from([0xff, 0xfe]), utf16(YAML, false)]),
      'is UTF-16 LE text (it starts with a UTF-16 byte order mark); save it as UTF-8'
    ],
    [
      'UTF-16 BE with a BOM',
      Buffer.concat([Buffer.from([0xfe, 0xff]), utf16(YAML, true)]),
      'is UTF-16 BE text (it starts with a UTF-16 byte order mark); save it as UTF-8'
    ],
    [
      'UTF-16 LE without a BOM',
      utf16(YAML, false),
      'is UTF-16 LE text (without a byte order mark: every other byte is 0); save it as UTF-8'
    ],
    [
      'UTF-16 BE without a BOM',
      utf16(YAML, true),
      'is UTF-16 BE text (without a byte order mark: every other byte is 0); save it as UTF-8'
    ],
    [
      'UTF-32 LE',
      Buffer.from([0xff, 0xfe, 0, 0, 0x76, 0, 0, 0]),
      'is UTF-32 text (it starts with a UTF-32 byte order mark); save it as UTF-8'
    ],
    [
      'UTF-32 BE',
      Buffer.from([0, 0, 0xfe, 0xff, 0, 0, 0, 0x76]),
      'is UTF-32 text (it starts with a UTF-32 byte order mark); save it as UTF-8'
    ],
    [
      'Latin-1 é on line 2',
      Buffer.from('version: 1\nimage: r/caf\xe9\nlayers: { app: }\n', 'latin1'),
      ':2:13: is not UTF-8 text (byte 0xe9 is not UTF-8; the file looks like Latin-1 or Windows-1252); save it as UTF-8'
    ],
    [
      'Windows-1252 quotes',
      Buffer.from('# \x93quoted\x94\nversion: 1\n', 'latin1'),
      ':1:3: is not UTF-8 text (byte 0x93 is not UTF-8'
    ],
    [
      'a cut UTF-8 sequence at the end',
      Buffer.concat([Buffer.from(YAML), Buffer.from([0xe6, 0x97])]),
      ':4:1: is not UTF-8 text (byte 0xe6 is not UTF-8'
    ],
    [
      'a PNG',
      Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 0x0d, 0x49, 0x48, 0x44, 0x52]),
      'is binary, not a YAML layer config (it has a NUL byte at offset 8)'
    ]
  ])('%s: says so', async (_what, bytes, message) => {
    const ws = await repo('')
    await writeFile(path.join(ws, '.github/strata.yml'), bytes)
    const err = await failure(ws)
    expect(err.message.startsWith('.github/strata.yml')).toBe(true)
    expect(err.message).toContain(message)
  })

  test('UTF-8 with a BOM is fine', async () => {
    const ws = await repo('')
    await writeFile(
      path.join(ws, '.github/strata.yml'),
      Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(YAML)])
    )
    await expect(loadConfig('.github/strata.yml', ws)).resolves.toMatchObject({ order: ['app'] })
  })

  test('a file over 4 MB is not read', async () => {
    const ws = await repo('')
    await writeFile(path.join(ws, '.github/strata.yml'), `# ${'x'.repeat(5 * 1024 * 1024)}\n${YAML}`)
    expect((await failure(ws)).message).toBe(
      '.github/strata.yml: is over 4 MB, not a layer config; point the `config` input at your layer config inside the repository'
    )
  })
})

test('upper-case image names: one notice in the log', async () => {
  const ws = await repo('version: 1\nimage: GHCR.io/Acme/App\nlayers: { app: }\n')
  const notices: string[] = []
  const log: Logger = {
    info: () => undefined,
    warning: () => undefined,
    notice: m => void notices.push(m),
    group: (_n, fn) => fn()
  }
  const config = await loadConfig('.github/strata.yml', ws, log)
  expect(config.image).toBe('ghcr.io/acme/app')
  expect(notices).toEqual([
    '.github/strata.yml: image "GHCR.io/Acme/App" (2:8) lower-cased: Docker repository names are lower case (write them so to silence this)'
  ])
})

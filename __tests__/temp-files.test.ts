// Temporary files go to RUNNER_TEMP or a private mkdtemp directory, never fixed names in /tmp
// (issue 13 item 12): every use of the system temp directory in src/, scripts/ and .ci/ is checked.
import { expect, test } from '@jest/globals'
import { readdirSync, readFileSync, statSync } from 'node:fs'
import { join } from 'node:path'

function files(dir: string): string[] {
  return readdirSync(dir).flatMap(name => {
    const p = join(dir, name)
    return statSync(p).isDirectory() ? files(p) : [p]
  })
}

const SOURCES = [...files('src'), ...files('scripts'), '.ci/run']

const lines = SOURCES.flatMap(file =>
  readFileSync(file, 'utf8')
    .split('\n')
    .map((text, i): [string, string] => [`${file}:${i + 1}`, text])
)

test('the files checked include the action, the CLI and the scripts', () => {
  expect(SOURCES).toEqual(
    expect.arrayContaining(['src/main.ts', 'src/cli.ts', 'scripts/example.sh', '.ci/run'])
  )
})

test.each(lines.filter(([, t]) => /tmpdir\(\)|os\.tmpdir/.test(t)))(
  '%s: the temp directory only through mkdtemp',
  (_at, text) => {
    expect(text).toMatch(/mkdtemp\(join\(tmpdir\(\), '[a-z-]+-'\)\)/)
  }
)

test.each(lines.filter(([, t]) => /\/tmp\b|\$TMPDIR|\$\{TMPDIR/.test(t)))(
  '%s: /tmp only as mktemp -d’s parent',
  (_at, text) => {
    expect(text).toMatch(/mktemp -d "\$\{TMPDIR:-\/tmp\}\/[a-z-]+\.X{6,}"/)
  }
)

test('no source names a fixed file in /tmp', () => {
  const fixed = lines.filter(([, t]) => /['"`]\/tmp\/[^'"`$]*['"`]/.test(t))
  expect(fixed).toEqual([])
})

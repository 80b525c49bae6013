// Action inputs that reach a command line (issue 13 item 5): none can be read as an option.
import { expect, test } from '@jest/globals'
import {
  InputError,
  parseBuilder,
  parseKeyValueLines,
  parsePlatforms,
  parseRevision
} from '../../src/core/inputs-parse.js'

const OPTIONS = ['--help', '-', '-x', '--output=/tmp/x', '-c core.pager=x', '--upload-pack=touch /tmp/x']

test.each([
  ...OPTIONS,
  'a..b',
  'main...feature',
  '../../etc',
  'a b',
  'x;y',
  '$(id)',
  '`id`',
  'x\n--help',
  'feature/',
  '::error::x',
  'a?b',
  'a#b'
])('revision %j is refused', rev => {
  for (const input of ['base', 'head']) {
    expect(() => parseRevision(input, rev)).toThrow(InputError)
    expect(() => parseRevision(input, rev)).toThrow(
      `input "${input}" is ${JSON.stringify(rev)}: give a commit sha`
    )
  }
})

test.each([
  ['d3ebb8c2cb169bf557f452eb386d2b6de3e56c15', 'd3ebb8c2cb169bf557f452eb386d2b6de3e56c15'],
  ['  main  ', 'main'],
  ['release/2.x', 'release/2.x'],
  ['HEAD~1', 'HEAD~1'],
  ['v1.2.3', 'v1.2.3'],
  ['', undefined]
])('revision %j is %j', (rev, expected) => {
  expect(parseRevision('base', rev)).toBe(expected)
})

test.each([...OPTIONS, 'a b', 'x;y', '$(id)', 'x\ny', '::add-mask::x'])('builder %j is refused', name => {
  expect(() => parseBuilder('builder', name)).toThrow(InputError)
})

test.each([...OPTIONS, 'linux/amd64 --push', 'linux/amd64;x', '-linux/amd64'])(
  'platform %j is refused',
  p => {
    expect(() => parsePlatforms(p)).toThrow(InputError)
  }
)

test.each(['--x=1', '-X=1', 'A B=1', '$X=1', '=1'])('build-arg line %j is refused', line => {
  expect(() => parseKeyValueLines('build-args', line)).toThrow(InputError)
})

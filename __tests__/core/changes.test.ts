import { changedPaths, isTruncated } from '../../src/core/changes.js'
import type { ChangedFile } from '../../src/core/types.js'

test.each<[string, ChangedFile[], string[]]>([
  ['empty', [], []],
  [
    'sorted and unique',
    [
      { path: 'b.txt', status: 'modified' },
      { path: 'a.txt', status: 'added' },
      { path: 'b.txt', status: 'modified' }
    ],
    ['a.txt', 'b.txt']
  ],
  ['deleted counts', [{ path: 'gone.sh', status: 'removed' }], ['gone.sh']],
  [
    'renamed under both paths',
    [{ path: 'docker/new.sh', status: 'renamed', previousPath: 'scripts/old.sh' }],
    ['docker/new.sh', 'scripts/old.sh']
  ],
  ['copied under both paths', [{ path: 'b/x', status: 'copied', previousPath: 'a/x' }], ['a/x', 'b/x']],
  ['renamed without a previous path', [{ path: 'x', status: 'renamed' }], ['x']],
  ['previousPath ignored on other statuses', [{ path: 'x', status: 'modified', previousPath: 'y' }], ['x']],
  [
    'code-unit order, not locale order',
    [
      { path: 'b', status: 'added' },
      { path: 'B', status: 'added' },
      { path: '_a', status: 'added' },
      { path: 'a', status: 'added' }
    ],
    ['B', '_a', 'a', 'b']
  ]
])('changedPaths: %s', (_name, files, expected) => {
  expect(changedPaths(files)).toEqual(expected)
})

test.each<['pull' | 'compare', number, number | undefined, boolean]>([
  ['pull', 0, undefined, false],
  ['pull', 2999, undefined, false],
  ['pull', 3000, undefined, true],
  ['pull', 3000, 3000, true],
  ['pull', 120, 120, false],
  ['pull', 119, 120, true],
  ['pull', 121, 120, false],
  ['compare', 299, undefined, false],
  ['compare', 300, undefined, true],
  ['compare', 12, undefined, false]
])('isTruncated(%s, %d, %s) → %s', (kind, count, expected, truncated) => {
  expect(isTruncated(kind, count, expected)).toBe(truncated)
})

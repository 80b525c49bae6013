// Retention deletes another branch's images by the default branch: it is taken only where it is said.
import { knownDefaultBranch } from '../src/core/settings.js'

test.each<[string, string, unknown, Record<string, string>, string | undefined]>([
  ['the payload names it', 'push', { repository: { default_branch: 'trunk' } }, {}, 'trunk'],
  ['the caller names it', 'workflow_dispatch', {}, { GITHUB_DEFAULT_BRANCH: 'develop' }, 'develop'],
  ['a schedule runs on it', 'schedule', {}, { GITHUB_REF: 'refs/heads/master' }, 'master'],
  ['a schedule on a tag ref says nothing', 'schedule', {}, { GITHUB_REF: 'refs/tags/v1' }, undefined],
  [
    'nothing says it: unknown, never `main`',
    'workflow_dispatch',
    {},
    { GITHUB_REF: 'refs/heads/x' },
    undefined
  ],
  ['no payload', 'schedule', undefined, {}, undefined]
])('%s', (_name, eventName, payload, env, want) => {
  expect(knownDefaultBranch({ eventName, payload, env })).toBe(want)
})

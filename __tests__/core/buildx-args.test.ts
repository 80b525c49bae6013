// What a layer's target takes from these (platforms, secrets, output) is tested in build-steps.test.ts.
import { outputOf, quoteCommand, secretEnv, secretSpec } from '../../src/core/buildx-args.js'

test.each<[boolean, string[], string | undefined, string]>([
  [true, ['linux/amd64', 'linux/arm64'], 'docker-container', 'push'],
  [false, ['linux/amd64'], 'docker-container', 'load'],
  [false, ['linux/amd64', 'linux/arm64'], 'docker', 'load'],
  [false, ['linux/amd64', 'linux/arm64'], 'docker-container', 'cache'],
  [false, ['linux/amd64', 'linux/arm64'], undefined, 'cache']
])('outputOf(push %s, %j, driver %s) → %s', (push, platforms, driver, want) => {
  expect(outputOf(push, platforms, driver)).toBe(want)
})

test.each([
  ['NPM_TOKEN', 'id=NPM_TOKEN,env=NPM_TOKEN'],
  ['id=npmrc,src=.npmrc', 'id=npmrc,src=.npmrc'],
  ['id=tok,env=GH_TOKEN', 'id=tok,env=GH_TOKEN'],
  ['type=file,id=k,source=key.pem,required=true', 'type=file,id=k,source=key.pem,required=true']
])('secretSpec(%s) → %s', (given, want) => {
  expect(secretSpec('app', given)).toBe(want)
})

test.each([
  ['NPM_TOKEN', 'NPM_TOKEN'],
  ['id=tok,env=GH_TOKEN', 'GH_TOKEN'],
  ['type=env,id=TOKEN', 'TOKEN'],
  ['id=npmrc,src=.npmrc', undefined]
])('secretEnv(%s) → %s: the variable whose value is masked', (given, want) => {
  expect(secretEnv(given)).toBe(want)
})

function messageOf(fn: () => unknown): string {
  try {
    fn()
    return 'no error'
  } catch (e) {
    return (e as Error).message
  }
}

test.each(['NPM_TOKEN=hunter2', 'id=tok', 'id=tok,value=hunter2', 'tok en'])(
  'secretSpec refuses %s without echoing a value',
  given => {
    const message = messageOf(() => secretSpec('app', given))
    expect(message).toMatch(/^layer "app": secret ".*" is not an environment variable name/)
    expect(message).not.toContain('hunter2')
  }
)

test('quoteCommand quotes only what a shell would split', () => {
  expect(quoteCommand(['docker', 'buildx', 'build', '--label', 'a=b c', "it's", '.'])).toBe(
    `docker buildx build --label 'a=b c' 'it'\\''s' .`
  )
})

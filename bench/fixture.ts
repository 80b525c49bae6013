// The end-to-end fixture: a three-layer image whose base layer writes about 300 MB, tooling about
// 100 MB and the application about 1 MB, generated inside the Dockerfiles with busybox `dd` from
// /dev/urandom (random, so that compression cannot shrink it; nothing is pulled from any registry).
// The same stages also exist as one multi-stage Dockerfile (Dockerfile.mono) for the comparisons.
import { execFile } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { access, copyFile, mkdir, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { promisify } from 'node:util'

const run = promisify(execFile)

export const SIZES_MB = { base: 300, tooling: 100, app: 1 }
export type Change = 'app' | 'tooling' | 'base' | 'docs'

const dd = (file: string, mb: number) => `dd if=/dev/urandom of=${file} bs=1M count=${mb} 2>/dev/null`

const BASE_STAGE = (from: string) => `${from}
COPY busybox /bin/busybox
RUN ["/bin/busybox", "--install", "-s", "/bin"]
COPY base/ /opt/base/
RUN ${dd('/opt/base/data.bin', SIZES_MB.base)}
`
const TOOLING_STAGE = (from: string) => `${from}
COPY tooling/ /opt/tooling/
RUN ${dd('/opt/tooling/data.bin', SIZES_MB.tooling)}
`
// The application's 1 MB is made in a scratch stage with its own busybox and added with COPY --link,
// so a builder that pushes to the registry can add it without the parent's files (SPEC 11).
const GEN_STAGE = `FROM scratch AS gen
COPY busybox /bin/busybox
COPY app/ /src/
RUN ["/bin/busybox", "sh", "-c", "/bin/busybox ${dd('/app.bin', SIZES_MB.app)}"]
`
const APP_STAGE = (from: string) => `${from}
COPY --link --from=gen /app.bin /app/data.bin
COPY --link app/ /app/
CMD ["/bin/sh", "/app/hello.sh"]
`

// The application layer of SPEC 7a: COPY --link from the context only (its 1 MB is a file of the
// context), which Strata assembles in the registry.
const LINK_APP_STAGE = (from: string) => `${from}
COPY --link app/ /app/
CMD ["/bin/sh", "/app/hello.sh"]
`

/** `gen`: the app made in a scratch stage (built by BuildKit); `link`: COPY --link only (assembled). */
export type AppShape = 'gen' | 'link'

const LINK_FILES: Record<string, string> = {
  Dockerfile: `# app: about ${SIZES_MB.app} MB on tooling, COPY --link only\nARG TOOLING_IMAGE\n${LINK_APP_STAGE('FROM ${TOOLING_IMAGE}')}`,
  'Dockerfile.mono': [
    '# The same three layers as one multi-stage Dockerfile (what most projects start with).',
    BASE_STAGE('FROM scratch AS base'),
    TOOLING_STAGE('FROM base AS tooling'),
    LINK_APP_STAGE('FROM tooling AS app')
  ].join('\n')
}

const FILES: Record<string, string> = {
  'Dockerfile.base': `# base: about ${SIZES_MB.base} MB\n${BASE_STAGE('FROM scratch')}`,
  'Dockerfile.tooling': `# tooling: about ${SIZES_MB.tooling} MB on base\nARG BASE_IMAGE\n${TOOLING_STAGE('FROM ${BASE_IMAGE}')}`,
  Dockerfile: `# app: about ${SIZES_MB.app} MB on tooling\nARG TOOLING_IMAGE\n${GEN_STAGE}\n${APP_STAGE('FROM ${TOOLING_IMAGE}')}`,
  'Dockerfile.mono': [
    '# The same three layers as one multi-stage Dockerfile (what most projects start with).',
    BASE_STAGE('FROM scratch AS base'),
    TOOLING_STAGE('FROM base AS tooling'),
    GEN_STAGE,
    APP_STAGE('FROM tooling AS app')
  ].join('\n'),
  'base/version.txt': 'base 0\n',
  'tooling/version.txt': 'tooling 0\n',
  'app/version.txt': 'app 0\n',
  'app/hello.sh': 'echo "hello from the bench app: $(cat /app/version.txt)"\n',
  'docs/README.md': '# Docs\n\nNot an input of any layer.\n',
  '.dockerignore': '.git\ndocs\n'
}

export function strataConfig(image: string): string {
  return `version: 1
image: ${image}
layers:
  base:
    dockerfile: Dockerfile.base
    paths: [Dockerfile.base, base/]
  tooling:
    dockerfile: Dockerfile.tooling
    from: base
    paths: [Dockerfile.tooling, tooling/]
  app:
    dockerfile: Dockerfile
    from: tooling
    paths: [Dockerfile, app/]
`
}

/** Writes the fixture's tree into `dir` (with the static busybox the stack installed). */
export async function writeTree(dir: string, image: string, shape: AppShape = 'gen'): Promise<void> {
  const files = { ...FILES, ...(shape === 'link' && LINK_FILES), '.github/strata.yml': strataConfig(image) }
  for (const [path, content] of Object.entries(files)) {
    await mkdir(join(dir, path, '..'), { recursive: true })
    await writeFile(join(dir, path), content)
  }
  if (shape === 'link') await writeFile(join(dir, 'app/data.bin'), randomBytes(SIZES_MB.app << 20))
  await copyFile(await busybox(), join(dir, 'busybox'))
}

/** Changes one input of the given kind (a new line, so that the layer's cache key changes). */
export async function change(dir: string, kind: Change, n: number): Promise<void> {
  const file = kind === 'docs' ? 'docs/README.md' : `${kind}/version.txt`
  await writeFile(join(dir, file), `${kind} change ${n} at ${new Date().toISOString()}\n`, { flag: 'a' })
}

// ---------- git, for the repository Strata reads ----------

const GIT_ENV = {
  ...process.env,
  GIT_AUTHOR_NAME: 'strata-bench',
  GIT_AUTHOR_EMAIL: 'bench@strata.invalid',
  GIT_COMMITTER_NAME: 'strata-bench',
  GIT_COMMITTER_EMAIL: 'bench@strata.invalid',
  GIT_CONFIG_NOSYSTEM: '1'
}

export async function git(dir: string, ...args: string[]): Promise<string> {
  const { stdout } = await run('git', ['-c', 'commit.gpgsign=false', ...args], {
    cwd: dir,
    env: GIT_ENV,
    maxBuffer: 64 * 1024 * 1024
  })
  return stdout.trim()
}

/** `git init` on main and a first commit of everything; returns its sha. */
export async function initRepo(dir: string): Promise<string> {
  await git(dir, 'init', '-q', '-b', 'main')
  return commitAll(dir, 'bench fixture')
}

export async function commitAll(dir: string, message: string): Promise<string> {
  await git(dir, 'add', '-A')
  await git(dir, 'commit', '-q', '--no-verify', '-m', message)
  return git(dir, 'rev-parse', 'HEAD')
}

async function busybox(): Promise<string> {
  for (const p of ['/bin/busybox', '/usr/bin/busybox']) {
    if (
      await access(p).then(
        () => true,
        () => false
      )
    )
      return p
  }
  throw new Error('no busybox at /bin/busybox: run bash scripts/stack.sh up (it installs busybox-static)')
}

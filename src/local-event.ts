// The event a CLI run plans for: a replayed payload (--event-file), or a push of base…head on the
// current branch of a local clone, with the repository's name and default branch read from git.
import { basename } from 'node:path'
import { readFile } from 'node:fs/promises'
import type { Git } from './adapters/git.js'
import type { CommonSettings } from './core/settings.js'

/** The flags that say which event and commits: `--base`, `--head`, `--event-file`, `--event-name`. */
export interface LocalEventFlags {
  base?: string
  head?: string
  'event-file'?: string
  'event-name'?: string
}

export interface LocalEvent {
  name: string
  payload: unknown
  env: CommonSettings['env']
  base?: string
  head?: string
}

/** The event to plan for: a replayed payload, or a push of base…head on the current branch. */
export async function localEvent(git: Git, top: string, values: LocalEventFlags): Promise<LocalEvent> {
  const defaultBranch = await findDefaultBranch(git)
  const repository = await repositoryName(git, top)
  if (values['event-file']) {
    const file = values['event-file']
    let payload: Record<string, unknown>
    try {
      payload = JSON.parse(await readFile(file, 'utf8')) as Record<string, unknown>
    } catch (e) {
      throw new Error(
        `--event-file ${file}: ${(e as Error).message}; give the JSON payload of a workflow run`
      )
    }
    if (typeof payload !== 'object' || payload === null || Array.isArray(payload))
      throw new Error(
        `--event-file ${file}: the payload is not a JSON object; give the JSON payload of a workflow run`
      )
    const name = values['event-name'] ?? guessEventName(payload)
    const base = values.base ? await revParse(git, top, values.base) : undefined
    const head = values.head ? await revParse(git, top, values.head) : undefined
    // What the runner would have set: payloads of schedule (and others) name no commit or ref.
    const env: CommonSettings['env'] = {
      GITHUB_REPOSITORY: repository,
      GITHUB_EVENT_NAME: name,
      GITHUB_DEFAULT_BRANCH: defaultBranch,
      GITHUB_SHA: head ?? (await revParse(git, top, 'HEAD'))
    }
    if (!payload.ref && !payload.pull_request) env.GITHUB_REF = `refs/heads/${await currentBranch(git)}`
    return { name, payload, env, base, head }
  }

  const headSha = await revParse(git, top, values.head ?? 'HEAD')
  const base = values.base
    ? await revParse(git, top, values.base)
    : await defaultBase(git, defaultBranch, headSha)
  const branch = await currentBranch(git)
  const [owner, repo] = repository.split('/')
  // A push of base…head to the current branch: the same tags and decisions as CI would make for it.
  const payload = {
    ref: `refs/heads/${branch}`,
    before: base,
    after: headSha,
    repository: { full_name: repository, name: repo, owner: { login: owner }, default_branch: defaultBranch }
  }
  return {
    name: 'push',
    payload,
    env: { GITHUB_REPOSITORY: repository, GITHUB_REF: `refs/heads/${branch}`, GITHUB_SHA: headSha }
  }
}

/** The checked-out branch; `local` on a detached HEAD. */
async function currentBranch(git: Git): Promise<string> {
  return (await git.symbolicRef('HEAD')) ?? 'local'
}

function guessEventName(payload: Record<string, unknown>): string {
  if (payload.pull_request) return 'pull_request'
  if (payload.merge_group) return 'merge_group'
  if (typeof payload.before === 'string' && typeof payload.after === 'string') return 'push'
  throw new Error('cannot tell the event from --event-file: give --event-name (push, pull_request, …)')
}

/** origin/HEAD's branch, else main or master when there, else the current branch. */
async function findDefaultBranch(git: Git): Promise<string> {
  const originHead = (await git.symbolicRef('refs/remotes/origin/HEAD'))?.replace(/^origin\//, '')
  if (originHead) return originHead
  for (const b of ['main', 'master']) if (await git.revParse(`refs/heads/${b}`)) return b
  return (await git.symbolicRef('HEAD')) ?? 'main'
}

async function defaultBase(git: Git, defaultBranch: string, head: string): Promise<string> {
  for (const ref of ['refs/remotes/origin/HEAD', `refs/heads/${defaultBranch}`]) {
    const mb = await git.mergeBase(ref, head)
    if (mb) return mb
  }
  throw new Error(
    'no base to compare with: there is no origin/HEAD or default branch here; give --base <rev>'
  )
}

/**
 * `owner/repo` from the origin remote's URL, else `local/<folder>`: a clone of a local path (or
 * file://) has no owner on GitHub, and its path must not be read as one.
 */
async function repositoryName(git: Git, top: string): Promise<string> {
  const url = ((await git.remoteUrl('origin')) ?? '').trim()
  const remote = /^[a-z][a-z0-9+.-]*:\/\//i.test(url) ? !/^file:/i.test(url) : /^[^/\\]+@[^/:]+:/.test(url)
  const m = remote ? /[:/]([A-Za-z0-9._-]+)\/([A-Za-z0-9._-]+?)(\.git)?\/?$/.exec(url) : null
  // A folder name may hold any character; owner/name may not (it goes into API paths).
  return m && ![m[1], m[2]].some(p => p === '.' || p === '..')
    ? `${m[1]}/${m[2]}`
    : `local/${basename(top)
        .replace(/[^A-Za-z0-9._-]+/g, '-')
        .replace(/^\.+$/, 'repo')}`
}

/**
 * `build --head X` builds the files of the working tree, so it is refused unless the working tree is
 * at X: the tags and the revision label would otherwise name a commit whose files were not built.
 */
export async function requireCheckedOut(git: Git, top: string, head: string): Promise<void> {
  const [wanted, at] = [await revParse(git, top, head), await revParse(git, top, 'HEAD')]
  if (wanted === at) return
  throw new Error(
    `build --head ${head}: the working tree is at ${at.slice(0, 7)}, not ${wanted.slice(0, 7)}; Strata builds ` +
      `the files in the working tree, so check out ${head} first (git checkout ${head}), or leave out --head`
  )
}

/** A revision from the command line, as a sha; an error that says the fix when it names no commit. */
async function revParse(git: Git, top: string, rev: string): Promise<string> {
  if (rev.startsWith('-')) throw new Error(`"${rev}" is not a revision`)
  const sha = await git.revParse(rev).catch(() => undefined)
  if (!sha) {
    throw new Error(`"${rev}" is not a commit in ${top} (fetch it, or give a branch, tag or sha that exists)`)
  }
  return sha
}

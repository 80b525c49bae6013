// GitHub's REST API: changed files of a pull request or a comparison (SPEC 3), through Octokit's
// throttling and retry plugins. Lists are fetched page 1 first, then the remaining pages side by side
// once the Link header tells how many there are: a 3000-file pull request is 30 page calls.
import type { getOctokit } from '@actions/github'
import { API_FILE_LIMIT, isTruncated } from '../core/changes.js'
import { mapLimit } from '../core/limit.js'
import type { ChangedFile, FileStatus, Logger } from '../core/types.js'

export interface FileList {
  files: ChangedFile[]
  /** false when the endpoint may have cut the list off (3000 pull request files, 300 compare files). */
  complete: boolean
  /** compare only: the merge base GitHub compared from. */
  mergeBase?: string
}

export interface PullState {
  state: 'open' | 'closed'
  merged: boolean
  changedFiles?: number
  headSha: string
  baseSha: string
}

export interface GitHubClient {
  pullFiles(owner: string, repo: string, number: number): Promise<FileList>
  /** Files of compare `{base}...{head}` (three dots: changed on head since the merge base). */
  compareFiles(owner: string, repo: string, base: string, head: string): Promise<FileList>
  defaultBranch(owner: string, repo: string): Promise<string>
  pullState(owner: string, repo: string, number: number): Promise<PullState>
}

export interface GitHubOptions {
  token: string
  /** Default: GITHUB_API_URL, else https://api.github.com (GHES: https://host/api/v3). */
  apiUrl?: string
  log?: Logger
  /** Retries of a failed call (5xx, rate limits); default 3. */
  retries?: number
  /** Backoff unit of 5xx retries: waits 1, 4, 9 × this; default 1000 ms. */
  retryBaseMs?: number
  /** Milliseconds per second of Retry-After / x-ratelimit-reset; default 1000 (tests make it small). */
  rateLimitMsPerSecond?: number
  /** A rate limit that asks to wait longer than this many seconds fails the call instead; default 120. */
  maxWaitSeconds?: number
  /** Pages fetched at once; default 10. */
  concurrency?: number
}

const PER_PAGE = 100

/** The `page` of the `rel="last"` URL of a Link header; 1 without one. */
export function lastPage(link: string | undefined): number {
  if (!link) return 1
  for (const part of link.split(',')) {
    const m = /<([^>]*)>\s*;\s*rel="?([^";]*)"?/.exec(part)
    if (!m || !m[2].split(/\s+/).includes('last')) continue
    const page = Number(new URL(m[1], 'http://x').searchParams.get('page'))
    if (Number.isInteger(page) && page > 0) return page
  }
  return 1
}

interface ApiFile {
  filename: string
  status: string
  previous_filename?: string
}

interface CompareData {
  merge_base_commit?: { sha?: string }
}

const STATUSES = new Set<FileStatus>([
  'added',
  'modified',
  'removed',
  'renamed',
  'copied',
  'changed',
  'unchanged'
])

function toChangedFile(f: ApiFile): ChangedFile {
  const status = (STATUSES.has(f.status as FileStatus) ? f.status : 'modified') as FileStatus
  const file: ChangedFile = { path: f.filename, status }
  if (f.previous_filename) file.previousPath = f.previous_filename
  return file
}

type Octokit = ReturnType<typeof getOctokit>

/** What each call of one client uses: its Octokit (loaded on the first request) and its page fan-out. */
interface Api {
  octokit: () => Promise<Octokit>
  concurrency: number
}

export function createGitHub(opts: GitHubOptions): GitHubClient {
  // Octokit and its plugins load on the first request, not before the run's first log line.
  let client: Promise<Octokit> | undefined
  const api: Api = { octokit: () => (client ??= createOctokit(opts)), concurrency: opts.concurrency ?? 10 }
  return {
    pullFiles: (owner, repo, number) => pullFiles(api, owner, repo, number),
    compareFiles: (owner, repo, base, head) => compareFiles(api, owner, repo, base, head),
    defaultBranch: (owner, repo) => defaultBranch(api, owner, repo),
    pullState: (owner, repo, number) => pullState(api, owner, repo, number)
  }
}

/** Octokit with GitHub's throttling (rate limits waited out, bounded) and retry (5xx) plugins. */
async function createOctokit(opts: GitHubOptions): Promise<Octokit> {
  const apiUrl = (opts.apiUrl || process.env.GITHUB_API_URL || 'https://api.github.com').replace(/\/+$/, '')
  const retries = opts.retries ?? 3
  const log = opts.log
  const [{ getOctokit }, { retry }, { throttling }] = await Promise.all([
    import('@actions/github'),
    import('@octokit/plugin-retry'),
    import('@octokit/plugin-throttling')
  ])
  return getOctokit(
    opts.token,
    {
      baseUrl: apiUrl,
      throttle: {
        // Bottleneck groups are shared by every client of the process, keyed by id.
        id: `strata-${Math.random().toString(36).slice(2)}`,
        retryAfterBaseValue: opts.rateLimitMsPerSecond ?? 1000,
        onRateLimit: onLimit(opts, 'primary'),
        onSecondaryRateLimit: onLimit(opts, 'secondary')
      },
      retry: { retries, retryAfterBaseValue: opts.retryBaseMs ?? 1000 },
      log: {
        debug: () => {},
        info: () => {},
        warn: (m: string) => log?.info(m),
        error: (m: string) => log?.info(m)
      }
    },
    throttling,
    retry
  )
}

/** Wait and retry while the limit asks for a bounded wait; never loop forever. */
function onLimit(opts: GitHubOptions, kind: string) {
  const retries = opts.retries ?? 3
  const maxWait = opts.maxWaitSeconds ?? 120
  return (
    retryAfter: number,
    options: { method: string; url: string },
    _octokit: unknown,
    retryCount: number
  ): boolean => {
    const again = retryCount < retries && retryAfter <= maxWait
    opts.log?.info(
      `GitHub API ${kind} rate limit on ${options.method} ${options.url}: ` +
        (again ? `retrying in ${retryAfter} s (retry ${retryCount + 1} of ${retries})` : 'giving up')
    )
    return again
  }
}

/**
 * Page 1, then the other pages side by side; `files` picks the file list out of a page. Files never
 * run past `maxFiles` (the endpoint's limit), so pages after that are not asked for, nor any page
 * after a page 1 that was not full (compare pages may go on for commits only).
 */
async function allPages(
  api: Api,
  route: string,
  params: Record<string, string | number>,
  files: (data: unknown) => ApiFile[],
  maxFiles: number
): Promise<{ files: ChangedFile[]; first: unknown }> {
  const get = async (page: number) =>
    (await api.octokit()).request(route, { ...params, per_page: PER_PAGE, page })
  const first = await get(1)
  const full = files(first.data).length >= PER_PAGE
  const last = full ? Math.min(lastPage(first.headers.link), Math.ceil(maxFiles / PER_PAGE)) : 1
  const pages = Array.from({ length: last - 1 }, (_, i) => i + 2)
  const rest = await mapLimit(pages, api.concurrency, async p => files((await get(p)).data))
  const seen = new Set<string>()
  const list: ChangedFile[] = []
  for (const f of [files(first.data), ...rest].flat()) {
    // A list that shifted between pages must not count a file twice.
    const key = `${f.previous_filename ?? ''}\0${f.filename}`
    if (seen.has(key)) continue
    seen.add(key)
    list.push(toChangedFile(f))
  }
  return { files: list, first: first.data }
}

async function pullFiles(api: Api, owner: string, repo: string, number: number): Promise<FileList> {
  const { files } = await allPages(
    api,
    'GET /repos/{owner}/{repo}/pulls/{pull_number}/files',
    { owner, repo, pull_number: number },
    data => data as ApiFile[],
    API_FILE_LIMIT.pull
  )
  return { files, complete: !isTruncated('pull', files.length) }
}

async function compareFiles(
  api: Api,
  owner: string,
  repo: string,
  base: string,
  head: string
): Promise<FileList> {
  const { files, first } = await allPages(
    api,
    'GET /repos/{owner}/{repo}/compare/{basehead}',
    { owner, repo, basehead: `${base}...${head}` },
    data => (data as { files?: ApiFile[] }).files ?? [],
    API_FILE_LIMIT.compare
  )
  const list: FileList = { files, complete: !isTruncated('compare', files.length) }
  const mergeBase = (first as CompareData).merge_base_commit?.sha
  if (mergeBase) list.mergeBase = mergeBase
  return list
}

async function defaultBranch(api: Api, owner: string, repo: string): Promise<string> {
  const { data } = await (await api.octokit()).rest.repos.get({ owner, repo })
  return data.default_branch
}

async function pullState(api: Api, owner: string, repo: string, number: number): Promise<PullState> {
  const { data } = await (await api.octokit()).rest.pulls.get({ owner, repo, pull_number: number })
  return {
    state: data.state as 'open' | 'closed',
    merged: data.merged === true,
    changedFiles: data.changed_files,
    headSha: data.head.sha,
    baseSha: data.base.sha
  }
}

// A local HTTP server that answers like GitHub's REST API (the parts Strata calls), backed by a real
// git repository made in the test: file lists come from `git diff`, commits from `git log`.
// Faults (5xx, rate limits) can be injected per request number or path; every request is recorded.
import { execFile, execFileSync } from 'node:child_process'
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { promisify } from 'node:util'

const execFileAsync = promisify(execFile)

// ---------- git helpers for tests ----------

const GIT_ENV = {
  GIT_AUTHOR_NAME: 'Strata Test',
  GIT_AUTHOR_EMAIL: 'test@strata.invalid',
  GIT_COMMITTER_NAME: 'Strata Test',
  GIT_COMMITTER_EMAIL: 'test@strata.invalid',
  GIT_CONFIG_NOSYSTEM: '1'
}
// Per-command config, so that nothing global is read or written.
const GIT_CONFIG = [
  '-c',
  'commit.gpgsign=false',
  '-c',
  'core.autocrlf=false',
  '-c',
  'init.defaultBranch=main'
]

/** Runs git in `dir` (synchronously: test setup only) and returns its trimmed stdout. */
export function git(dir: string, ...args: string[]): string {
  return execFileSync('git', [...GIT_CONFIG, ...args], {
    cwd: dir,
    env: { ...process.env, ...GIT_ENV },
    encoding: 'utf8',
    maxBuffer: 256 * 1024 * 1024,
    stdio: ['ignore', 'pipe', 'pipe']
  }).trim()
}

async function gitAsync(dir: string, args: string[]): Promise<string> {
  const { stdout } = await execFileAsync('git', [...GIT_CONFIG, ...args], {
    cwd: dir,
    env: { ...process.env, ...GIT_ENV },
    encoding: 'utf8',
    maxBuffer: 256 * 1024 * 1024
  })
  return stdout
}

/** A temporary repository with one commit (`README.md`) on `branch` (default `main`). */
export function makeRepo(opts: { branch?: string; files?: Record<string, string> } = {}): {
  dir: string
  sha: string
  cleanup: () => void
} {
  const dir = mkdtempSync(join(tmpdir(), 'strata-repo-'))
  git(dir, 'init', '-q', '-b', opts.branch ?? 'main')
  const sha = commitFiles(dir, opts.files ?? { 'README.md': '# test\n' }, 'initial commit')
  return { dir, sha, cleanup: () => rmSync(dir, { recursive: true, force: true }) }
}

/**
 * Writes (string) or deletes (null) files, then makes one commit and returns its sha.
 * `branch`: commit on that branch, creating it from `from` (default: the current HEAD) when missing.
 */
export function commitFiles(
  dir: string,
  files: Record<string, string | null>,
  message: string,
  opts: { branch?: string; from?: string } = {}
): string {
  if (opts.branch) switchBranch(dir, opts.branch, opts.from)
  for (const [path, content] of Object.entries(files)) {
    const full = join(dir, path)
    if (content === null) rmSync(full, { force: true })
    else {
      mkdirSync(dirname(full), { recursive: true })
      writeFileSync(full, content)
    }
  }
  git(dir, 'add', '-A')
  git(dir, 'commit', '-q', '--allow-empty', '--no-verify', '-m', message)
  return git(dir, 'rev-parse', 'HEAD')
}

/**
 * One commit of many files on `branch` (not the checked-out one), written straight into the object
 * store with `git fast-import`: thousands of files in a fraction of a second, no work tree touched.
 * The commit's parent is `from`, else the branch's tip, else HEAD.
 */
export function commitManyFiles(
  dir: string,
  files: Record<string, string>,
  message: string,
  opts: { branch: string; from?: string }
): string {
  let parent = opts.from
  if (!parent) {
    try {
      parent = git(dir, 'rev-parse', '--verify', '--quiet', `refs/heads/${opts.branch}`)
    } catch {
      parent = 'HEAD'
    }
  }
  parent = git(dir, 'rev-parse', '--verify', `${parent}^{commit}`)
  const now = Math.floor(Date.now() / 1000)
  const chunks: Buffer[] = []
  const data = (text: string) => {
    const b = Buffer.from(text)
    chunks.push(Buffer.from(`data ${b.length}\n`), b, Buffer.from('\n'))
  }
  chunks.push(
    Buffer.from(
      `commit refs/heads/${opts.branch}\ncommitter ${GIT_ENV.GIT_COMMITTER_NAME} <${GIT_ENV.GIT_COMMITTER_EMAIL}> ${now} +0000\n`
    )
  )
  data(message)
  chunks.push(Buffer.from(`from ${parent}\n`))
  for (const [path, content] of Object.entries(files)) {
    // A path runs to the end of the line; one with a newline or a leading quote is C-style quoted.
    const quoted = /^"|[\n\\]/.test(path) ? JSON.stringify(path) : path
    chunks.push(Buffer.from(`M 100644 inline ${quoted}\n`))
    data(content)
  }
  execFileSync('git', [...GIT_CONFIG, 'fast-import', '--quiet', '--force'], {
    cwd: dir,
    input: Buffer.concat(chunks),
    env: { ...process.env, ...GIT_ENV },
    stdio: ['pipe', 'pipe', 'pipe']
  })
  return git(dir, 'rev-parse', `refs/heads/${opts.branch}`)
}

/** `git mv from to` and a commit; returns its sha. */
export function renameFile(
  dir: string,
  from: string,
  to: string,
  message = `rename ${from}`,
  opts: { branch?: string } = {}
): string {
  if (opts.branch) switchBranch(dir, opts.branch)
  mkdirSync(dirname(join(dir, to)), { recursive: true })
  git(dir, 'mv', '--', from, to)
  git(dir, 'commit', '-q', '--no-verify', '-m', message)
  return git(dir, 'rev-parse', 'HEAD')
}

/** Checks out `branch`, creating it from `from` (or HEAD) when it does not exist. */
export function switchBranch(dir: string, branch: string, from?: string): void {
  let exists = true
  try {
    git(dir, 'rev-parse', '--verify', '--quiet', `refs/heads/${branch}`)
  } catch {
    exists = false
  }
  if (exists) git(dir, 'checkout', '-q', branch)
  else git(dir, 'checkout', '-q', '-b', branch, ...(from ? [from] : []))
}

/** Moves `branch` to `sha` (a forced push drops the commits after it). */
export function resetBranch(dir: string, branch: string, sha: string): void {
  switchBranch(dir, branch)
  git(dir, 'reset', '-q', '--hard', sha)
}

/** A clone of `branch` with only its tip commit, like actions/checkout's default `fetch-depth: 1`. */
export function shallowClone(dir: string, branch: string): { dir: string; cleanup: () => void } {
  const clone = mkdtempSync(join(tmpdir(), 'strata-shallow-'))
  git(clone, 'init', '-q')
  git(
    clone,
    'fetch',
    '-q',
    '--depth',
    '1',
    `file://${dir}`,
    `+refs/heads/${branch}:refs/remotes/origin/${branch}`
  )
  return { dir: clone, cleanup: () => rmSync(clone, { recursive: true, force: true }) }
}

/** `count` files named `dir/file-0001.txt`…, for large change sets (one commit, one `git add`). */
export function manyFiles(count: number, prefix = 'many', content = 'x'): Record<string, string> {
  const files: Record<string, string> = {}
  for (let i = 0; i < count; i++)
    files[`${prefix}/file-${String(i).padStart(5, '0')}.txt`] = `${content} ${i}\n`
  return files
}

// ---------- the server ----------

export interface PullSpec {
  number: number
  baseRef: string
  /** The base branch tip the PR is compared with; default: `baseRef` resolved now. */
  baseSha?: string
  headSha: string
  headRef?: string
  state?: 'open' | 'closed'
  merged?: boolean
}

/** A fault: `5xx`, a secondary rate limit (403 or 429 with Retry-After), a primary rate limit. */
export type FaultKind = 500 | 502 | 503 | 'secondary' | 'secondary-429' | 'primary' | 429
export interface FaultSpec {
  kind: FaultKind
  /** The 1-based number of the request to fail (counting every request to the server). */
  request?: number
  /** Fail requests whose path (without a GHES `/api/v3` prefix) matches. */
  path?: RegExp | string
  /** How many matching requests fail; default 1, `Infinity` for all. */
  times?: number
  /** Seconds, for the `Retry-After` header of secondary limits and 429. Default 1. */
  retryAfter?: number
  /** Seconds from now, for `x-ratelimit-reset` of a primary limit. Default 1. */
  resetIn?: number
}

export interface RecordedRequest {
  /** 1-based, in arrival order. */
  n: number
  method: string
  /** Path without the query (and with any `/api/v3` prefix). */
  path: string
  query: Record<string, string>
  /** `Date.now()` at arrival. */
  time: number
  /** `Date.now()` when the answer was sent. */
  done?: number
  status?: number
  authorization?: string
  /** Requests being answered when this one arrived, itself included: above 1 means side by side. */
  inFlight: number
}

export interface RouteContext {
  req: IncomingMessage
  res: ServerResponse
  url: URL
  /** Path without a GHES `/api/v3` prefix, decoded. */
  path: string
  match: RegExpExecArray
  body: string
  send(status: number, data: unknown, headers?: Record<string, string>): void
  /** The page of `items` asked for by `per_page` (default 30, at most 100) and `page`, with a Link header set. */
  paginate<T>(items: T[]): T[]
}
export type RouteHandler = (ctx: RouteContext) => unknown

export interface GitHubApiServerOptions {
  /** The git repository that answers. */
  repoDir: string
  owner?: string
  repo?: string
  /** Default: the branch the repository has checked out when the server starts. */
  defaultBranch?: string
  /** When set, requests must carry it (`token X` or `Bearer X`), else 401. */
  token?: string
  /**
   * GitHub documents that compare files come on the first page only; by default this server pages
   * them with the commits instead. Both stop at 300 files in total.
   */
  compareFilesOnFirstPageOnly?: boolean
  /** Milliseconds every answer waits, like a network round trip; default 0. */
  latencyMs?: number
}

export interface GitHubApiServer {
  /** `http://127.0.0.1:port`; a GHES-style `${url}/api/v3` works too. */
  url: string
  requests: RecordedRequest[]
  close(): Promise<void>
  addPull(pull: PullSpec): Promise<void>
  fail(fault: FaultSpec): void
  route(method: string, pattern: RegExp, handler: RouteHandler): void
  /** Forget recorded requests (the numbering restarts too) and pending faults. */
  reset(): void
  setLatency(ms: number): void
}

export const PULL_FILES_LIMIT = 3000
export const COMPARE_FILES_LIMIT = 300
const REPO_ID = 4242

interface ApiFile {
  sha: string
  filename: string
  status: string
  additions: number
  deletions: number
  changes: number
  previous_filename?: string
}

const STATUS: Record<string, string> = {
  A: 'added',
  M: 'modified',
  D: 'removed',
  R: 'renamed',
  C: 'copied',
  T: 'changed'
}

/** `git diff --raw -z -M` → GitHub file objects. */
function parseRaw(out: string): ApiFile[] {
  const parts = out.split('\0')
  const files: ApiFile[] = []
  for (let i = 0; i < parts.length - 1;) {
    const meta = parts[i++] // ":100644 100644 <old> <new> R100"
    const [, , oldSha, newSha, code] = meta.split(' ')
    const letter = code[0]
    const status = STATUS[letter] ?? 'modified'
    const file: ApiFile = {
      sha: letter === 'D' ? oldSha : newSha,
      filename: '',
      status,
      additions: 0,
      deletions: 0,
      changes: 0
    }
    if (letter === 'R' || letter === 'C') {
      file.previous_filename = parts[i++]
      file.filename = parts[i++]
    } else file.filename = parts[i++]
    files.push(file)
  }
  return files
}

function sendJson(res: ServerResponse, status: number, data: unknown, headers: Record<string, string> = {}) {
  const body = data === undefined ? '' : JSON.stringify(data)
  res.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'x-github-media-type': 'github.v3; format=json',
    'x-ratelimit-limit': '5000',
    'x-ratelimit-remaining': '4999',
    'x-ratelimit-reset': String(Math.floor(Date.now() / 1000) + 3600),
    'x-ratelimit-resource': 'core',
    ...headers
  })
  res.end(body)
}

const DOCS = 'https://docs.github.com/rest'

export async function startGitHubApiServer(opts: GitHubApiServerOptions): Promise<GitHubApiServer> {
  const owner = opts.owner ?? 'acme'
  const repoName = opts.repo ?? 'sindri'
  const dir = opts.repoDir
  const defaultBranch = opts.defaultBranch ?? git(dir, 'rev-parse', '--abbrev-ref', 'HEAD')
  const requests: RecordedRequest[] = []
  const faults: (FaultSpec & { left: number })[] = []
  const pulls = new Map<number, Required<Omit<PullSpec, 'headRef'>> & { headRef: string }>()
  const routes: { method: string; pattern: RegExp; handler: RouteHandler }[] = []
  const diffCache = new Map<string, Promise<ApiFile[]>>()
  let latency = opts.latencyMs ?? 0
  let inFlight = 0

  /** The full sha of a commit-ish, or undefined when the repository has no such commit. */
  async function resolve(ref: string): Promise<string | undefined> {
    if (!ref || ref.startsWith('-')) return undefined
    try {
      return (
        await gitAsync(dir, ['rev-parse', '--verify', '--quiet', '--end-of-options', `${ref}^{commit}`])
      ).trim()
    } catch {
      return undefined
    }
  }
  // Keyed by two full shas, so it never goes stale; spares a git process per page.
  const mergeBases = new Map<string, Promise<string | undefined>>()
  function mergeBase(a: string, b: string): Promise<string | undefined> {
    const key = `${a}...${b}`
    let p = mergeBases.get(key)
    if (!p) {
      p = gitAsync(dir, ['merge-base', a, b]).then(
        out => out.trim(),
        () => undefined
      )
      mergeBases.set(key, p)
    }
    return p
  }
  /** Files that `head` changed since `base` (two shas), as GitHub lists them. */
  function diff(base: string, head: string): Promise<ApiFile[]> {
    const key = `${base}..${head}`
    let p = diffCache.get(key)
    if (!p) {
      p = gitAsync(dir, ['diff', '--raw', '-z', '-M', '--no-abbrev', '--no-ext-diff', base, head]).then(
        parseRaw
      )
      diffCache.set(key, p)
    }
    return p
  }
  async function commitCount(range: string): Promise<number> {
    return Number((await gitAsync(dir, ['rev-list', '--count', range])).trim())
  }
  async function commits(range: string) {
    const out = await gitAsync(dir, [
      'log',
      '--reverse',
      '-z',
      '--format=%H%x00%P%x00%an%x00%ae%x00%aI%x00%s',
      range
    ])
    const f = out.split('\0')
    const list = []
    for (let i = 0; i + 5 < f.length; i += 6) {
      const [sha, parents, name, email, date, message] = f.slice(i, i + 6)
      list.push(commitObject(sha.replace(/^\n/, ''), parents, name, email, date, message))
    }
    return list
  }
  function commitObject(
    sha: string,
    parents: string,
    name: string,
    email: string,
    date: string,
    message: string
  ) {
    return {
      sha,
      node_id: `C_${sha.slice(0, 10)}`,
      url: `${base}/repos/${owner}/${repoName}/commits/${sha}`,
      commit: { author: { name, email, date }, committer: { name, email, date }, message },
      parents: parents
        .split(' ')
        .filter(Boolean)
        .map(p => ({ sha: p }))
    }
  }
  async function commitInfo(sha: string) {
    const out = await gitAsync(dir, ['log', '-1', '-z', '--format=%H%x00%P%x00%an%x00%ae%x00%aI%x00%s', sha])
    const [s, parents, name, email, date, message] = out.split('\0')
    return commitObject(s, parents, name, email, date, message)
  }

  let base = ''

  function paginate<T>(url: URL, res: ServerResponse, items: T[], pageCount?: number): T[] {
    const perPage = Math.min(Math.max(Number(url.searchParams.get('per_page')) || 30, 1), 100)
    const page = Math.max(Number(url.searchParams.get('page')) || 1, 1)
    const last = pageCount ?? Math.max(Math.ceil(items.length / perPage), 1)
    res.setHeader('link', linkHeader(url, page, last))
    return items.slice((page - 1) * perPage, page * perPage)
  }
  /** GitHub's Link header: prev, next, last, first; the URLs name the repository by id. */
  function linkHeader(url: URL, page: number, last: number): string {
    const at = (p: number) => {
      const u = new URL(url.toString())
      u.pathname = u.pathname.replace(/\/repos\/[^/]+\/[^/]+/, `/repositories/${REPO_ID}`)
      u.searchParams.set('page', String(p))
      return `<${u.toString()}>`
    }
    const links: string[] = []
    if (page > 1) links.push(`${at(page - 1)}; rel="prev"`)
    if (page < last) links.push(`${at(page + 1)}; rel="next"`, `${at(last)}; rel="last"`)
    if (page > 1) links.push(`${at(1)}; rel="first"`)
    return links.join(', ')
  }

  function fault(n: number, path: string): FaultSpec | undefined {
    for (const f of faults) {
      if (f.left <= 0) continue
      const hit =
        (f.request !== undefined && f.request === n) ||
        (f.path !== undefined && (typeof f.path === 'string' ? path === f.path : f.path.test(path)))
      if (hit) {
        f.left--
        return f
      }
    }
    return undefined
  }

  function sendFault(res: ServerResponse, f: FaultSpec) {
    const retryAfter = String(f.retryAfter ?? 1)
    switch (f.kind) {
      case 'secondary':
      case 'secondary-429':
        return sendJson(
          res,
          f.kind === 'secondary' ? 403 : 429,
          {
            message:
              'You have exceeded a secondary rate limit. Please wait a few minutes before you try again. ' +
              'If you reach out to GitHub Support for help, please include the request ID 0000:0000:0000000:0000000:00000000.',
            documentation_url: `${DOCS}/overview/rate-limits-for-the-rest-api#about-secondary-rate-limits`
          },
          { 'retry-after': retryAfter }
        )
      case 'primary':
        return sendJson(
          res,
          403,
          {
            message: 'API rate limit exceeded for installation ID 4242.',
            documentation_url: `${DOCS}/overview/rate-limits-for-the-rest-api#about-the-rate-limit-for-the-rest-api`
          },
          {
            'x-ratelimit-remaining': '0',
            'x-ratelimit-used': '5000',
            'x-ratelimit-reset': String(Math.ceil(Date.now() / 1000 + (f.resetIn ?? 1)))
          }
        )
      case 429:
        return sendJson(res, 429, { message: 'Too Many Requests' }, { 'retry-after': retryAfter })
      default:
        // GitHub's 5xx answers are often HTML from a proxy; a short body is enough here.
        res.writeHead(f.kind, { 'content-type': 'text/plain' })
        res.end(
          f.kind === 502 ? 'Bad Gateway' : f.kind === 503 ? 'Service Unavailable' : 'Internal Server Error'
        )
    }
  }

  const notFound = (res: ServerResponse) =>
    sendJson(res, 404, { message: 'Not Found', documentation_url: DOCS, status: '404' })

  async function handle(req: IncomingMessage, res: ServerResponse, body: string) {
    const url = new URL(req.url ?? '/', base)
    const method = req.method ?? 'GET'
    const rawPath = url.pathname
    const rec: RecordedRequest = {
      n: requests.length + 1,
      method,
      path: rawPath,
      query: Object.fromEntries(url.searchParams),
      time: Date.now(),
      authorization: req.headers.authorization,
      inFlight: ++inFlight
    }
    requests.push(rec)
    res.on('close', () => {
      inFlight--
      rec.status = res.statusCode
      rec.done = Date.now()
    })
    if (latency > 0) await new Promise(ok => setTimeout(ok, latency))
    let path = rawPath.replace(/^\/api\/v3(?=\/)/, '')
    try {
      path = decodeURIComponent(path)
    } catch {
      return sendJson(res, 400, { message: 'Bad path' })
    }
    // Link URLs name the repository by id, as GitHub's do.
    path = path.replace(new RegExp(`^/repositories/${REPO_ID}(?=/|$)`), `/repos/${owner}/${repoName}`)

    const f = fault(rec.n, path)
    if (f) return sendFault(res, f)
    if (opts.token !== undefined) {
      const auth = req.headers.authorization ?? ''
      if (auth !== `token ${opts.token}` && auth !== `Bearer ${opts.token}`)
        return sendJson(res, 401, { message: 'Bad credentials', documentation_url: DOCS, status: '401' })
    }

    for (const r of routes) {
      if (r.method !== method) continue
      const match = r.pattern.exec(path)
      if (!match) continue
      const ctx: RouteContext = {
        req,
        res,
        url,
        path,
        match,
        body,
        send: (status, data, headers) => sendJson(res, status, data, headers),
        paginate: items => paginate(url, res, items)
      }
      await r.handler(ctx)
      if (!res.headersSent) sendJson(res, 204, undefined)
      return
    }

    if (method !== 'GET') return notFound(res)
    const m = /^\/repos\/([^/]+)\/([^/]+)(\/.*)?$/.exec(path)
    if (!m || m[1].toLowerCase() !== owner.toLowerCase() || m[2].toLowerCase() !== repoName.toLowerCase())
      return notFound(res)
    const rest = m[3] ?? ''

    if (rest === '')
      return sendJson(res, 200, {
        id: REPO_ID,
        name: repoName,
        full_name: `${owner}/${repoName}`,
        owner: { login: owner },
        private: false,
        default_branch: defaultBranch
      })

    let pm = /^\/pulls\/(\d+)$/.exec(rest)
    if (pm) {
      const pr = pulls.get(Number(pm[1]))
      if (!pr) return notFound(res)
      const mb = (await mergeBase(pr.baseSha, pr.headSha)) ?? pr.baseSha
      const files = await diff(mb, pr.headSha)
      return sendJson(res, 200, {
        number: pr.number,
        state: pr.state,
        merged: pr.merged,
        merged_at: pr.merged ? new Date().toISOString() : null,
        changed_files: files.length,
        commits: await commitCount(`${mb}..${pr.headSha}`),
        head: { ref: pr.headRef, sha: pr.headSha, repo: { id: REPO_ID, full_name: `${owner}/${repoName}` } },
        base: { ref: pr.baseRef, sha: pr.baseSha, repo: { id: REPO_ID, full_name: `${owner}/${repoName}` } }
      })
    }
    pm = /^\/pulls\/(\d+)\/files$/.exec(rest)
    if (pm) {
      const pr = pulls.get(Number(pm[1]))
      if (!pr) return notFound(res)
      const mb = (await mergeBase(pr.baseSha, pr.headSha)) ?? pr.baseSha
      // GitHub lists at most 3000 files of a pull request.
      const files = (await diff(mb, pr.headSha)).slice(0, PULL_FILES_LIMIT)
      return sendJson(res, 200, paginate(url, res, files))
    }
    const cm = /^\/compare\/(.+)$/.exec(rest)
    if (cm) {
      const at = cm[1].indexOf('...')
      if (at < 0) return notFound(res)
      const baseSha = await resolve(cm[1].slice(0, at))
      const headSha = await resolve(cm[1].slice(at + 3))
      if (!baseSha || !headSha)
        return sendJson(res, 404, { message: 'Not Found', documentation_url: DOCS, status: '404' })
      const mb = await mergeBase(baseSha, headSha)
      if (!mb) return sendJson(res, 404, { message: `No common ancestor between ${cm[1]}.`, status: '404' })
      const ahead = await commitCount(`${baseSha}..${headSha}`)
      const behind = await commitCount(`${headSha}..${baseSha}`)
      const allCommits = await commits(`${baseSha}..${headSha}`)
      const files = (await diff(mb, headSha)).slice(0, COMPARE_FILES_LIMIT)
      const perPage = Math.min(Math.max(Number(url.searchParams.get('per_page')) || 30, 1), 100)
      const paged = url.searchParams.has('per_page') || url.searchParams.has('page')
      let pageFiles = files
      let pageCommits = allCommits.slice(0, 250)
      if (paged) {
        const filePages = opts.compareFilesOnFirstPageOnly ? 1 : Math.ceil(files.length / perPage)
        const last = Math.max(Math.ceil(allCommits.length / perPage), filePages, 1)
        pageCommits = paginate(url, res, allCommits, last)
        const page = Math.max(Number(url.searchParams.get('page')) || 1, 1)
        pageFiles = opts.compareFilesOnFirstPageOnly
          ? page === 1
            ? files
            : []
          : files.slice((page - 1) * perPage, page * perPage)
      }
      return sendJson(res, 200, {
        url: `${base}/repos/${owner}/${repoName}/compare/${cm[1]}`,
        status: ahead && behind ? 'diverged' : ahead ? 'ahead' : behind ? 'behind' : 'identical',
        ahead_by: ahead,
        behind_by: behind,
        total_commits: ahead,
        base_commit: await commitInfo(baseSha),
        merge_base_commit: await commitInfo(mb),
        commits: pageCommits,
        files: pageFiles
      })
    }
    return notFound(res)
  }

  const server = createServer((req, res) => {
    const chunks: Buffer[] = []
    req.on('data', c => chunks.push(c))
    req.on('end', () => {
      handle(req, res, Buffer.concat(chunks).toString('utf8')).catch(err => {
        if (!res.headersSent) sendJson(res, 500, { message: `test server: ${String(err?.message ?? err)}` })
        else res.end()
      })
    })
  })
  await new Promise<void>(ok => server.listen(0, '127.0.0.1', ok))
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`

  return {
    url: base,
    requests,
    close: () =>
      new Promise<void>((ok, fail) => {
        server.closeAllConnections()
        server.close(err => (err ? fail(err) : ok()))
      }),
    async addPull(pull) {
      const baseSha = pull.baseSha ?? (await resolve(pull.baseRef))
      if (!baseSha) throw new Error(`addPull: base ${pull.baseRef} is not a commit of ${dir}`)
      const entry = {
        number: pull.number,
        baseRef: pull.baseRef,
        baseSha,
        headSha: pull.headSha,
        headRef: pull.headRef ?? `pr-${pull.number}`,
        state: pull.state ?? 'open',
        merged: pull.merged ?? false
      }
      pulls.set(pull.number, entry)
      // Compute the file list now, so that timing tests measure the client and not git.
      await diff((await mergeBase(baseSha, pull.headSha)) ?? baseSha, pull.headSha)
    },
    fail(f) {
      faults.push({ ...f, left: f.times ?? 1 })
    },
    route(method, pattern, handler) {
      routes.push({ method: method.toUpperCase(), pattern, handler })
    },
    reset() {
      requests.length = 0
      faults.length = 0
    },
    setLatency(ms) {
      latency = ms
    }
  }
}

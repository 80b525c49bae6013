// Registry credentials as the docker CLI reads them from `$DOCKER_CONFIG/config.json` (default
// `~/.docker`): `credHelpers[host]` first, else `credsStore`, else the `auths` entry. A credential
// helper is `docker-credential-<name> get`, the server on stdin, run without a shell.
import { execFile } from 'node:child_process'
import { readFile } from 'node:fs/promises'
import { homedir } from 'node:os'
import { join } from 'node:path'

export interface Credentials {
  username: string
  password: string
}

/** What the config holds for a host: a user and password, or an identity (refresh) token. */
export type DockerAuth = Credentials | { identityToken: string; username?: string }

/** The key `docker login` uses for Docker Hub in `auths` and credential stores. */
export const DOCKER_HUB_KEY = 'https://index.docker.io/v1/'
const HUB_HOSTS = ['docker.io', 'index.docker.io', 'registry-1.docker.io']
const HELPER_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/

interface AuthEntry {
  auth?: string
  username?: string
  password?: string
  identitytoken?: string
}

interface ConfigFile {
  auths?: Record<string, AuthEntry>
  credsStore?: string
  credHelpers?: Record<string, string>
}

export interface DockerAuthOptions {
  /** Directory of config.json; default `$DOCKER_CONFIG`, else `~/.docker`. */
  dir?: string
  /** Added to process.env for credential helpers (PATH) and `DOCKER_CONFIG`. */
  env?: Record<string, string | undefined>
}

export function dockerConfigDir(opts: DockerAuthOptions = {}): string {
  return opts.dir ?? opts.env?.DOCKER_CONFIG ?? process.env.DOCKER_CONFIG ?? join(homedir(), '.docker')
}

/** `host:port` as a config key names it: `https://ghcr.io/v1/` → `ghcr.io`. */
function keyHost(key: string): string {
  return key.replace(/^[a-z]+:\/\//i, '').replace(/\/.*$/, '')
}

/** The credentials the Docker config gives for `host` (Docker Hub: `docker.io`), or undefined. */
export async function dockerAuth(
  host: string,
  opts: DockerAuthOptions = {}
): Promise<DockerAuth | undefined> {
  const file = join(dockerConfigDir(opts), 'config.json')
  let text: string
  try {
    text = await readFile(file, 'utf8')
  } catch {
    return undefined
  }
  let config: ConfigFile
  try {
    config = JSON.parse(text) as ConfigFile
  } catch (e) {
    throw new Error(
      `${file} is not valid JSON (${(e as Error).message}); log in again with docker/login-action`
    )
  }
  if (typeof config !== 'object' || config === null) {
    throw new Error(`${file} is not a Docker config object; log in again with docker/login-action`)
  }
  const hub = HUB_HOSTS.includes(host)
  const hosts = hub ? HUB_HOSTS : [host]
  const server = hub ? DOCKER_HUB_KEY : host
  const helpers = config.credHelpers ?? {}
  const helper = hosts.map(h => helpers[h]).find(h => typeof h === 'string') ?? config.credsStore
  if (helper) return runHelper(helper, server, file, { ...process.env, ...opts.env })
  for (const [key, entry] of Object.entries(config.auths ?? {})) {
    if (hosts.includes(keyHost(key)) && entry && typeof entry === 'object') {
      const auth = fromEntry(entry)
      if (auth) return auth
    }
  }
  return undefined
}

function fromEntry(entry: AuthEntry): DockerAuth | undefined {
  if (entry.identitytoken) {
    return { identityToken: entry.identitytoken, ...(entry.username && { username: entry.username }) }
  }
  if (entry.auth) {
    const plain = Buffer.from(entry.auth, 'base64').toString('utf8')
    const colon = plain.indexOf(':')
    if (colon > 0) return { username: plain.slice(0, colon), password: plain.slice(colon + 1) }
  }
  if (entry.username && entry.password) return { username: entry.username, password: entry.password }
  return undefined
}

/** `docker-credential-<name> get` with `server` on stdin; "not found" means no credentials (as docker). */
async function runHelper(
  name: string,
  server: string,
  file: string,
  env: Record<string, string | undefined>
): Promise<DockerAuth | undefined> {
  if (!HELPER_NAME.test(name)) {
    throw new Error(
      `${file} names the credential helper ${JSON.stringify(name)}, which is not a helper name ` +
        `(letters, digits, . _ -): fix credsStore/credHelpers`
    )
  }
  const program = `docker-credential-${name}`
  const { code, stdout, stderr } = await new Promise<{ code: number; stdout: string; stderr: string }>(
    (resolve, reject) => {
      const child = execFile(
        program,
        ['get'],
        { env: env as NodeJS.ProcessEnv, timeout: 30_000, maxBuffer: 1 << 20, shell: false },
        (err, out, errOut) => {
          const e = err as (NodeJS.ErrnoException & { code?: unknown }) | null
          if (e && typeof e.code === 'string') {
            reject(new Error(`cannot run ${program} (named in ${file}): ${e.message}`))
          } else resolve({ code: e ? Number(e.code ?? 1) : 0, stdout: String(out), stderr: String(errOut) })
        }
      )
      child.stdin?.end(server)
    }
  )
  if (code !== 0) {
    if (/credentials not found/i.test(stdout + stderr)) return undefined
    const why = (stderr || stdout).trim().split('\n').pop()?.slice(0, 200) ?? ''
    throw new Error(
      `${program} get ${server} failed (exit ${code}): ${why}; log in again (docker login ${server})`
    )
  }
  let body: { Username?: unknown; Secret?: unknown }
  try {
    body = JSON.parse(stdout) as typeof body
  } catch {
    throw new Error(`${program} get ${server} printed something that is not JSON`)
  }
  if (typeof body.Secret !== 'string' || !body.Secret) return undefined
  const username = typeof body.Username === 'string' ? body.Username : ''
  // A helper stores an identity token under the user name `<token>` (docker's convention).
  if (username === '<token>') return { identityToken: body.Secret }
  return { username, password: body.Secret }
}

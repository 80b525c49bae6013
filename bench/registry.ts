// The bench's own registry (CNCF Distribution, `docker-registry serve`) on its own port and storage,
// started and stopped by the bench, so that its access log holds only the bench's traffic: bytes pushed
// and pulled per scenario are read from the slice of that log written during the scenario.
import { spawn, type ChildProcess } from 'node:child_process'
import { closeSync, openSync, statSync } from 'node:fs'
import { mkdir, open, writeFile } from 'node:fs/promises'
import { join } from 'node:path'

export interface Traffic {
  /** Blob bytes uploaded (each completed upload, sized from the registry's storage). */
  pushedBytes: number
  /** Blob bytes sent to clients (GET 200/206 on /blobs/). */
  pulledBytes: number
  blobsPushed: number
  blobsPulled: number
  /** Blobs mounted from another repository instead of uploaded. */
  blobsMounted: number
  manifestsPushed: number
  requests: number
}

export interface BenchRegistry {
  /** `localhost:<port>`: Docker talks plain HTTP to it without configuration. */
  host: string
  url: string
  /** Where the access log currently ends; pass it to trafficSince(). */
  mark(): number
  trafficSince(offset: number): Promise<Traffic>
  /** The digest a tag points to (HEAD on the manifest), or undefined. */
  digest(repo: string, tag: string): Promise<string | undefined>
  stop(): Promise<void>
}

const ACCEPT = [
  'application/vnd.oci.image.index.v1+json',
  'application/vnd.docker.distribution.manifest.list.v2+json',
  'application/vnd.oci.image.manifest.v1+json',
  'application/vnd.docker.distribution.manifest.v2+json'
].join(', ')

export async function startRegistry(dir: string, port: number): Promise<BenchRegistry> {
  const url = `http://127.0.0.1:${port}`
  if (await reachable(url)) {
    throw new Error(
      `127.0.0.1:${port} is already in use: stop what listens there, or set BENCH_REGISTRY_PORT`
    )
  }
  const data = join(dir, 'data')
  await mkdir(data, { recursive: true })
  const config = join(dir, 'config.yml')
  await writeFile(
    config,
    [
      'version: 0.1',
      'log: { level: warn, accesslog: { disabled: false } }',
      `storage: { filesystem: { rootdirectory: ${data} }, delete: { enabled: true } }`,
      `http: { addr: 127.0.0.1:${port} }`,
      ''
    ].join('\n')
  )
  const logFile = join(dir, 'registry.log')
  const fd = openSync(logFile, 'a')
  const child: ChildProcess = spawn('docker-registry', ['serve', config], { stdio: ['ignore', fd, fd] })
  closeSync(fd)
  const exited = new Promise<void>(res => child.once('exit', () => res()))
  let spawnError: Error | undefined
  child.once('error', e => (spawnError = e))
  for (let i = 0; i < 60 && !(await reachable(url)); i++) {
    if (spawnError) {
      throw new Error(`cannot start docker-registry (${spawnError.message}): run bash scripts/stack.sh up`)
    }
    await sleep(250)
  }
  if (!(await reachable(url))) {
    child.kill()
    throw new Error(`docker-registry did not answer on ${url}; see ${logFile}`)
  }

  const blobSize = (hex: string): number => {
    try {
      return statSync(join(data, 'docker/registry/v2/blobs/sha256', hex.slice(0, 2), hex, 'data')).size
    } catch {
      return 0
    }
  }

  return {
    host: `localhost:${port}`,
    url,
    mark: () => statSync(logFile).size,
    async trafficSince(offset) {
      await sleep(200) // the registry writes its log line just after the response
      const fh = await open(logFile, 'r')
      try {
        const size = (await fh.stat()).size
        const buf = Buffer.alloc(Math.max(0, size - offset))
        await fh.read(buf, 0, buf.length, offset)
        return parseAccessLog(buf.toString('utf8'), blobSize)
      } finally {
        await fh.close()
      }
    },
    async digest(repo, tag) {
      const res = await fetch(`${url}/v2/${repo}/manifests/${tag}`, {
        method: 'HEAD',
        headers: { accept: ACCEPT }
      })
      return res.ok ? (res.headers.get('docker-content-digest') ?? undefined) : undefined
    },
    async stop() {
      child.kill('SIGTERM')
      await Promise.race([exited, sleep(5000)])
    }
  }
}

// `127.0.0.1 - - [date] "GET /v2/x/blobs/sha256:… HTTP/1.1" 200 2039 "" "agent"` (combined log format).
const LINE = /"([A-Z]+) (\S+) HTTP\/[\d.]+" (\d{3}) (\d+|-)/

/** Sums one slice of the access log. Exported for the harness's self-check. */
export function parseAccessLog(text: string, blobSize: (hex: string) => number): Traffic {
  const t: Traffic = {
    pushedBytes: 0,
    pulledBytes: 0,
    blobsPushed: 0,
    blobsPulled: 0,
    blobsMounted: 0,
    manifestsPushed: 0,
    requests: 0
  }
  for (const line of text.split('\n')) {
    const m = LINE.exec(line)
    if (!m) continue
    const [, method, uri, statusText, written] = m
    const status = Number(statusText)
    t.requests++
    if (method === 'GET' && /\/blobs\/sha256:/.test(uri) && (status === 200 || status === 206)) {
      t.blobsPulled++
      t.pulledBytes += written === '-' ? 0 : Number(written)
    } else if (method === 'PUT' && /\/blobs\/uploads\//.test(uri) && status === 201) {
      const d = /[?&]digest=sha256(?::|%3A)([0-9a-f]{64})/i.exec(uri)
      t.blobsPushed++
      if (d) t.pushedBytes += blobSize(d[1].toLowerCase())
    } else if (method === 'POST' && /[?&]mount=/.test(uri) && status === 201) t.blobsMounted++
    else if (method === 'PUT' && /\/manifests\//.test(uri) && status === 201) t.manifestsPushed++
  }
  return t
}

async function reachable(url: string): Promise<boolean> {
  try {
    const res = await fetch(`${url}/v2/`, { signal: AbortSignal.timeout(1000) })
    return res.status === 200 || res.status === 401
  } catch {
    return false
  }
}

export const sleep = (ms: number): Promise<void> => new Promise(res => setTimeout(res, ms))

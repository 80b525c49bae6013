// SPEC 7a: one COPY --link written as BuildKit writes it, from the build context on disk: the copied
// files, links and folders (a folder source's contents go into the destination), the destination's
// parent folders (0755, the --chown owner), modes (or --chmod), owners (0:0 or --chown), link targets,
// one timestamp for every entry; a tar (tar-stream) gzip-compressed with node:zlib.
import { createHash } from 'node:crypto'
import { createReadStream } from 'node:fs'
import { lstat, readdir, readlink } from 'node:fs/promises'
import { posix } from 'node:path'
import { promisify } from 'node:util'
import { gzip } from 'node:zlib'
import { pack } from 'tar-stream'
import type { CopyLayer } from '../core/assemble-image.js'
import { cleanSource, hasWildcard, segmentMatcher, unescapeGlob } from '../core/derived-inputs.js'

export interface TarEntry {
  /** Absolute path in the image (`/app/run.sh`). */
  path: string
  type: 'file' | 'directory' | 'symlink'
  mode: number
  uid: number
  gid: number
  size: number
  linkname?: string
  /** The file on disk whose bytes the entry carries. */
  source?: string
}

export interface ContextView {
  /** Absolute path of the build context. */
  root: string
  /** Whether .dockerignore leaves a context-relative path out of what BuildKit sends. */
  ignored(rel: string): boolean
}

/** The entries of one copy, sorted: what it copies and the folders it makes (each copy on its own). */
export async function copyEntries(ctx: ContextView, layer: CopyLayer): Promise<TarEntry[]> {
  const out = new Map<string, TarEntry>()
  const own = { uid: layer.uid, gid: layer.gid }
  const mkdirs = (dir: string): void => {
    for (let d = dir; d !== '/' && !out.has(d); d = posix.dirname(d)) {
      out.set(d, { path: d, type: 'directory', size: 0, ...own, mode: 0o755 })
    }
  }
  const intoDir = layer.dest.endsWith('/')
  const dest = intoDir && layer.dest !== '/' ? layer.dest.slice(0, -1) : layer.dest
  for (const source of layer.sources) {
    const matches = await expand(ctx, source)
    if (!matches.length)
      throw new Error(`COPY ${source} at line ${layer.line}: no such file in the build context`)
    for (const rel of matches) {
      const real = await follow(ctx, rel)
      const st = await lstat(real.abs)
      if (st.isDirectory()) {
        mkdirs(dest)
        await walk(ctx, real.abs, real.rel, dest, layer, out)
      } else {
        const target = intoDir ? posix.join(dest, posix.basename(rel)) : dest
        mkdirs(posix.dirname(target))
        out.set(target, await entryOf(real.abs, target, st, layer))
      }
    }
  }
  return [...out.values()].sort((a, b) => byPath(a.path, b.path))
}

/** The contents of a folder, below `dest`: links stay links, .dockerignore'd paths are left out. */
async function walk(
  ctx: ContextView,
  abs: string,
  rel: string,
  dest: string,
  layer: CopyLayer,
  out: Map<string, TarEntry>
): Promise<void> {
  for (const name of (await readdir(abs)).sort()) {
    const childRel = rel === '' ? name : `${rel}/${name}`
    if (ctx.ignored(childRel)) continue
    const childAbs = `${abs}/${name}`
    const st = await lstat(childAbs)
    const target = posix.join(dest, name)
    out.set(target, await entryOf(childAbs, target, st, layer))
    if (st.isDirectory()) await walk(ctx, childAbs, childRel, target, layer, out)
  }
}

async function entryOf(
  abs: string,
  path: string,
  st: Awaited<ReturnType<typeof lstat>>,
  layer: CopyLayer
): Promise<TarEntry> {
  const own = { uid: layer.uid, gid: layer.gid }
  const mode = layer.mode ?? Number(st.mode) & 0o7777
  if (st.isSymbolicLink()) {
    return { path, type: 'symlink', mode: 0o777, size: 0, ...own, linkname: await readlink(abs) }
  }
  if (st.isDirectory()) return { path, type: 'directory', mode, size: 0, ...own }
  if (st.isFile()) return { path, type: 'file', mode, size: Number(st.size), ...own, source: abs }
  throw new Error(`${abs}: neither a file, a folder nor a link; BuildKit cannot send it`)
}

/** A source (`.`, `app/`, `*.sh`) → the context-relative paths it names ('' for the root). */
async function expand(ctx: ContextView, source: string): Promise<string[]> {
  const clean = cleanSource(source)
  if (!hasWildcard(clean)) {
    const rel = unescapeGlob(clean)
    return rel !== '' && ctx.ignored(rel) ? [] : [rel]
  }
  let found = ['']
  for (const segment of clean.split('/')) {
    const match = segmentMatcher(segment)
    const next: string[] = []
    for (const dir of found) {
      const names = await readdir(dir === '' ? ctx.root : `${ctx.root}/${dir}`).catch(() => [] as string[])
      for (const n of names.sort()) {
        const rel = dir === '' ? n : `${dir}/${n}`
        if (match(n) && !ctx.ignored(rel)) next.push(rel)
      }
    }
    found = next
  }
  return found
}

/** Follows a source that is a link inside the context, as BuildKit does: the context is the root. */
async function follow(ctx: ContextView, rel: string): Promise<{ abs: string; rel: string }> {
  let parts = rel === '' ? [] : rel.split('/')
  for (let hops = 0; hops < 40;) {
    let i = 0
    for (; i < parts.length; i++) {
      const here = parts.slice(0, i + 1).join('/')
      const st = await lstat(`${ctx.root}/${here}`).catch(() => null)
      if (!st) throw new Error(`COPY ${rel}: ${here} does not exist in the build context`)
      if (st.isSymbolicLink()) {
        const link = await readlink(`${ctx.root}/${here}`)
        const base = link.startsWith('/') ? '/' : `/${parts.slice(0, i).join('/')}`
        const joined = posix.normalize(posix.join(base, link)).slice(1)
        parts = [...(joined ? joined.split('/') : []), ...parts.slice(i + 1)]
        hops++
        break
      }
    }
    if (i === parts.length) {
      const r = parts.join('/')
      return { abs: r === '' ? ctx.root : `${ctx.root}/${r}`, rel: r }
    }
  }
  throw new Error(`COPY ${rel}: too many symbolic links`)
}

export interface LayerBlob {
  /** The gzip-compressed tar. */
  gz: Buffer
  /** sha256 of the gzip bytes (the blob) and of the tar (the diff id). */
  digest: string
  diffId: string
}

/** Writes the entries as one tar (every timestamp `mtime`), gzip-compressed. */
export async function layerBlob(entries: TarEntry[], mtime: Date): Promise<LayerBlob> {
  const tar = pack()
  const chunks: Buffer[] = []
  const read = (async () => {
    for await (const c of tar) chunks.push(c as Buffer)
  })()
  for (const e of entries) await writeEntry(tar, e, mtime)
  tar.finalize()
  await read
  const raw = Buffer.concat(chunks)
  const gz = await gzipped(raw)
  return { gz, digest: sha256(gz), diffId: sha256(raw) }
}

const gzipped = promisify(gzip)
const sha256 = (b: Buffer): string => `sha256:${createHash('sha256').update(b).digest('hex')}`

async function writeEntry(tar: ReturnType<typeof pack>, e: TarEntry, mtime: Date): Promise<void> {
  const name = e.path.slice(1) + (e.type === 'directory' ? '/' : '')
  const header = {
    name,
    type: e.type,
    mode: e.mode,
    uid: e.uid,
    gid: e.gid,
    mtime,
    size: e.size,
    uname: '',
    gname: ''
  }
  if (e.type === 'symlink') header.size = 0
  const full = { ...header, ...(e.linkname !== undefined && { linkname: e.linkname }) }
  await new Promise<void>((resolve, reject) => {
    const done = (err?: Error | null): void => (err ? reject(err) : resolve())
    if (e.type !== 'file' || !e.source) return void tar.entry(full, Buffer.alloc(0), done)
    const sink = tar.entry(full, done)
    createReadStream(e.source)
      .on('error', reject)
      .pipe(sink as unknown as NodeJS.WritableStream)
  })
}

/** Paths in tar order: a folder before what it holds. */
function byPath(a: string, b: string): number {
  const x = a.split('/')
  const y = b.split('/')
  for (let i = 0; i < Math.min(x.length, y.length); i++) if (x[i] !== y[i]) return x[i] < y[i] ? -1 : 1
  return x.length - y.length
}

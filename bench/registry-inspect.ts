// Stable-tag look-ups, the old way (`docker buildx imagetools inspect`, one process per tag, side by
// side) against the registry's HTTP API (createRegistry().inspect, side by side), interleaved.
// Needs the open registry of scripts/stack.sh on localhost:5000. Usage: bash bench/registry-inspect.sh [rounds]
import { execFile } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { promisify } from 'node:util'
import { createRegistry } from '../src/adapters/registry.js'
import { pushTestImage } from '../__fixtures__/registry-proxy.js'

const run = promisify(execFile)
const rounds = Number(process.argv[2] ?? 5)
const name = `strata-bench/inspect-${randomBytes(4).toString('hex')}`
const refs = ['base-stable', 'tooling-stable', 'latest'].map(t => `localhost:5000/${name}:${t}`)

async function imagetools(): Promise<string[]> {
  return Promise.all(
    refs.map(async ref => {
      const { stdout } = await run('docker', [
        'buildx',
        'imagetools',
        'inspect',
        ref,
        '--format',
        '{{json .Manifest}}'
      ])
      return (JSON.parse(stdout) as { digest: string }).digest
    })
  )
}

async function http(): Promise<string[]> {
  const registry = createRegistry() // a fresh adapter: nothing memoized
  return Promise.all(refs.map(async ref => (await registry.inspect(ref))?.digest ?? ''))
}

async function time(fn: () => Promise<string[]>, expected: string[]): Promise<number> {
  const t0 = process.hrtime.bigint()
  const digests = await fn()
  const ms = Number(process.hrtime.bigint() - t0) / 1e6
  if (digests.join() !== expected.join()) throw new Error(`wrong digests: ${digests.join(', ')}`)
  return ms
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b)
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2
}

async function main(): Promise<void> {
  const expected: string[] = []
  for (const [i, ref] of refs.entries()) {
    const pushed = await pushTestImage('http://127.0.0.1:5000', name, {
      created: new Date(),
      id: `bench-${i}`,
      tags: [ref.slice(ref.lastIndexOf(':') + 1)]
    })
    expected.push(pushed.digest)
  }
  // One warm-up each (first docker start, first connection), not counted.
  await time(imagetools, expected)
  await time(http, expected)
  const results: Record<'imagetools' | 'http', number[]> = { imagetools: [], http: [] }
  for (let r = 0; r < rounds; r++) {
    // Interleaved, and the order alternates, so that neither always runs second.
    const order = r % 2 ? (['http', 'imagetools'] as const) : (['imagetools', 'http'] as const)
    for (const way of order) results[way].push(await time(way === 'http' ? http : imagetools, expected))
  }
  console.log(`3 stable-tag look-ups on localhost:5000, ${rounds} interleaved rounds (ms)`)
  for (const [way, xs] of Object.entries(results)) {
    const rounded = xs.map(x => x.toFixed(1)).join(', ')
    console.log(
      `${way.padEnd(10)} median ${median(xs).toFixed(1)}  min ${Math.min(...xs).toFixed(1)}  max ${Math.max(...xs).toFixed(1)}  [${rounded}]`
    )
  }
  console.log(
    `ratio (imagetools / http, medians): ${(median(results.imagetools) / median(results.http)).toFixed(1)}×`
  )
}

main().catch((e: Error) => {
  console.error(e.message)
  process.exit(1)
})

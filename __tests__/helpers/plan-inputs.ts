// Each layer's input digest as `strata plan` computes it for HEAD of a clone (the differential tests' referee input).
import { git } from '../../__fixtures__/github-api-server.js'
import { cli } from '../../src/cli.js'

export async function planInputs(repo: string): Promise<Record<string, string | undefined>> {
  const head = git(repo, 'rev-parse', 'HEAD')
  let out = ''
  let err = ''
  const code = await cli(['plan', '--base', head, '--head', head, '--json', '-C', repo], {
    out: t => void (out += t),
    err: t => void (err += t)
  })
  if (code !== 0) throw new Error(`strata plan exited ${code}:\n${err}`)
  const layers = (JSON.parse(out) as { layers: Record<string, { inputs?: string }> }).layers
  return Object.fromEntries(Object.entries(layers).map(([name, d]) => [name, d.inputs]))
}

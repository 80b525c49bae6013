// Fails when `npm ci` would fail on package-lock.json, or when a locked package's `engines.node`
// excludes a Node release that package.json's `engines.node` promises. Reads the two files only (no
// network, no node_modules), so `npm run lint` catches a stale lock before CI's `npm ci` step does.
//
//   node scripts/check-lock.mjs [--package <package.json>] [--lock <package-lock.json>]
//
// What `npm ci` checks, as npm 7+ does it: the lock's root entry declares the dependencies package.json
// declares, and every dependency of every locked package (optional ones too: a lock without another
// platform's optional binary fails `npm ci` there) resolves, by node_modules lookup, to a locked
// package whose version satisfies the range (after package.json's `overrides`).
import { readFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import { firstExcluded, isRange, satisfies } from './semver-range.mjs'

const KINDS = ['dependencies', 'devDependencies', 'optionalDependencies', 'peerDependencies']
const FIX = 'run `npm install` and commit package-lock.json'

/** Where npm finds `name` for the package at `from`: its own node_modules, then each parent's. */
function resolve(packages, from, name) {
  let at = from
  for (;;) {
    const candidate = `${at ? `${at}/` : ''}node_modules/${name}`
    if (packages[candidate]) return candidate
    if (at === '') return undefined
    const cut = at.lastIndexOf('/node_modules/')
    at = cut === -1 ? '' : at.slice(0, cut)
  }
}

/** package.json's `overrides` as name → range; forms this check cannot follow are problems. */
function readOverrides(pkg, problems) {
  const out = new Map()
  for (const [key, value] of Object.entries(pkg.overrides ?? {})) {
    const spec =
      typeof value === 'object' && value !== null && Object.keys(value).join() === '.' ? value['.'] : value
    if (key.lastIndexOf('@') > 0 || typeof spec !== 'string') {
      problems.push(
        `package.json: overrides.${key}: this check follows only \`"name": "range"\` overrides; extend scripts/check-lock.mjs or use that form`
      )
      continue
    }
    out.set(key, spec.startsWith('$') ? (pkg.dependencies?.[spec.slice(1)] ?? spec) : spec)
  }
  return out
}

function checkRoot(pkg, root, problems) {
  for (const kind of [...KINDS, 'engines']) {
    const want = pkg[kind] ?? {}
    const have = root[kind] ?? {}
    for (const name of new Set([...Object.keys(want), ...Object.keys(have)])) {
      if (want[name] === have[name]) continue
      const w = want[name] === undefined ? 'nothing' : `"${want[name]}"`
      const h = have[name] === undefined ? 'nothing' : `"${have[name]}"`
      problems.push(`package-lock.json: package.json has ${kind}.${name} ${w}, the lock file ${h}: ${FIX}`)
    }
  }
}

/** The dependency edges of one locked package (or of the root), with whether a missing one is fine. */
function edges(entry) {
  const out = []
  for (const kind of ['dependencies', 'optionalDependencies', 'peerDependencies']) {
    for (const [name, spec] of Object.entries(entry[kind] ?? {})) {
      const optionalPeer =
        kind === 'peerDependencies' && entry.peerDependenciesMeta?.[name]?.optional === true
      out.push({ name, spec, kind, mayBeMissing: optionalPeer || entry.inBundle === true })
    }
  }
  return out
}

function checkEdge(packages, from, edge, spec, problems) {
  const name = from.replace(/^.*node_modules\//, '')
  const who = from === '' ? 'package.json' : name === from ? from : `${name} (${from})`
  const at = resolve(packages, from, edge.name)
  if (!at) {
    if (!edge.mayBeMissing) {
      problems.push(
        `package-lock.json: ${who} needs ${edge.name}@${spec} (${edge.kind}) and the lock file has none: \`npm ci\` stops with "Missing: ${edge.name}"; ${FIX}`
      )
    }
    return
  }
  const locked = packages[at].link ? packages[packages[at].resolved] : packages[at]
  if (!locked?.version) return // a link to a folder: no version to check
  const alias = /^npm:((?:@[^/@]+\/)?[^@]+)@(.*)$/.exec(spec)
  const range = alias ? alias[2] : spec
  if (alias && (locked.name ?? edge.name) !== alias[1]) {
    problems.push(
      `package-lock.json: ${who} needs ${edge.name} as ${spec}, ${at} is ${locked.name ?? edge.name}: ${FIX}`
    )
  } else if (isRange(range) && !satisfies(locked.version, range)) {
    problems.push(
      `package-lock.json: ${who} needs ${edge.name}@${range}, ${at} is ${locked.version}: \`npm ci\` stops with "Invalid: lock file's ${edge.name}@${locked.version} does not satisfy ${edge.name}@${range}"; ${FIX}`
    )
  }
}

function checkEngines(pkg, packages, problems) {
  const declared = pkg.engines?.node
  if (typeof declared !== 'string' || !isRange(declared)) {
    problems.push(
      `package.json: engines.node is ${JSON.stringify(declared)}: declare the Node versions the CLI and the tests run on, e.g. "^20.19.0 || >=24"`
    )
    return
  }
  // Grouped by range: a dozen packages of one project declare the same one.
  const excluding = new Map()
  for (const [at, entry] of Object.entries(packages)) {
    const node = entry.engines?.node
    if (at === '' || entry.link || typeof node !== 'string') continue
    const role = entry.dev ? 'development' : 'production'
    if (!isRange(node)) {
      problems.push(
        `package-lock.json: ${at} (${role} dependency) declares engines.node "${node}", which is not a version range`
      )
      continue
    }
    const excluded = firstExcluded(declared, node)
    if (!excluded) continue
    const key = `${role}\0${node}`
    if (!excluding.has(key)) excluding.set(key, { role, node, excluded, names: [] })
    excluding.get(key).names.push(`${at.replace(/^.*node_modules\//, '')}@${entry.version}`)
  }
  for (const { role, node, excluded, names } of excluding.values()) {
    const shown =
      names.length > 4 ? `${names.slice(0, 4).join(', ')} and ${names.length - 4} more` : names.join(', ')
    problems.push(
      `package-lock.json: ${shown} (${role}) declare${names.length === 1 ? 's' : ''} engines.node "${node}", which excludes Node ${excluded}; package.json's engines.node "${declared}" allows it: narrow engines.node, or override the dependency to a version that runs there`
    )
  }
}

/** Every problem, one line each naming the file, the package and the fix; empty when the lock is sound. */
export function checkLock(pkg, lock) {
  const problems = []
  if (!(lock.lockfileVersion >= 2) || typeof lock.packages !== 'object' || !lock.packages['']) {
    return [
      `package-lock.json: lockfileVersion ${lock.lockfileVersion} has no "packages" section: ${FIX} with npm 7 or later`
    ]
  }
  const packages = lock.packages
  const overrides = readOverrides(pkg, problems)
  checkRoot(pkg, packages[''], problems)
  for (const kind of KINDS.filter(k => k !== 'peerDependencies')) {
    for (const [name, spec] of Object.entries(pkg[kind] ?? {})) {
      checkEdge(packages, '', { name, spec, kind, mayBeMissing: false }, spec, problems)
    }
  }
  for (const [at, entry] of Object.entries(packages)) {
    if (at === '' || entry.link) continue
    for (const edge of edges(entry))
      checkEdge(packages, at, edge, overrides.get(edge.name) ?? edge.spec, problems)
  }
  checkEngines(pkg, packages, problems)
  return problems
}

function readJson(file) {
  let text
  try {
    text = readFileSync(file, 'utf8')
  } catch (e) {
    throw new Error(`${file}: cannot read it (${e.code ?? e.message})`)
  }
  try {
    return JSON.parse(text)
  } catch (e) {
    throw new Error(`${file}: not JSON (${e.message}); ${FIX}`)
  }
}

function main() {
  const root = join(dirname(fileURLToPath(import.meta.url)), '..')
  const { values } = parseArgs({
    options: {
      package: { type: 'string', default: join(root, 'package.json') },
      lock: { type: 'string', default: join(root, 'package-lock.json') }
    }
  })
  let problems
  let count = 0
  try {
    const lock = readJson(values.lock)
    count = Object.keys(lock.packages ?? {}).length - 1
    problems = checkLock(readJson(values.package), lock)
  } catch (e) {
    problems = [e.message]
  }
  if (problems.length) {
    console.error(problems.join('\n'))
    console.error(`check-lock: ${problems.length} problem${problems.length === 1 ? '' : 's'}`)
    process.exit(1)
  }
  console.log(
    `check-lock: package-lock.json (${count} packages) is in sync with package.json, and every engines.node allows its Node versions`
  )
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) main()

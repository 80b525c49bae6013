// Just enough of npm's semver ranges for scripts/check-lock.mjs, without a dependency: does a version
// satisfy a range (prereleases as npm treats them), and which Node release does one `engines.node`
// range allow that another excludes. Ranges: `||`, space-joined comparators (< <= > >= =), partial
// and x versions (1, 1.2, 1.x, *), ^, ~, `a - b`.

const NUM = /^(0|[1-9]\d*)$/
const VERSION =
  /^v?(\d+|[xX*])(?:\.(\d+|[xX*]))?(?:\.(\d+|[xX*]))?(?:-([0-9A-Za-z.-]+))?(?:\+[0-9A-Za-z.-]+)?$/

/** A full version `1.2.3-pre.1` as { t: [1, 2, 3], pre: ['pre', 1] }, or undefined. */
export function parseVersion(text) {
  const m = /^v?(\d+)\.(\d+)\.(\d+)(?:-([0-9A-Za-z.-]+))?(?:\+[0-9A-Za-z.-]+)?$/.exec(String(text).trim())
  if (!m) return undefined
  return { t: [+m[1], +m[2], +m[3]], pre: m[4] ? m[4].split('.').map(id => (NUM.test(id) ? +id : id)) : [] }
}

function comparePre(a, b) {
  if (!a.length || !b.length) return (b.length ? 1 : 0) - (a.length ? 1 : 0) // a release is higher
  for (let i = 0; i < Math.max(a.length, b.length); i++) {
    if (a[i] === undefined) return -1
    if (b[i] === undefined) return 1
    if (a[i] === b[i]) continue
    if (typeof a[i] !== typeof b[i]) return typeof a[i] === 'number' ? -1 : 1
    return a[i] < b[i] ? -1 : 1
  }
  return 0
}

export function compare(a, b) {
  for (let i = 0; i < 3; i++) if (a.t[i] !== b.t[i]) return a.t[i] < b.t[i] ? -1 : 1
  return comparePre(a.pre, b.pre)
}

const v = (t, pre = []) => ({ t, pre })
const ZERO_PRE = [0]

/** A partial version `1.x` as its numbers (undefined where x or absent) and prerelease. */
function partial(text) {
  const m = VERSION.exec(text)
  if (!m) throw new Error(`not a version: "${text}"`)
  const nums = [m[1], m[2], m[3]].map(p => (p === undefined || /^[xX*]$/.test(p) ? undefined : +p))
  // After an x, nothing is fixed: 1.x.3 is 1.x.
  const x = nums.indexOf(undefined)
  if (x !== -1) nums.fill(undefined, x)
  return { nums, pre: m[4] && x === -1 ? m[4].split('.').map(id => (NUM.test(id) ? +id : id)) : [] }
}

/** The lowest version of a partial (1.2 → 1.2.0) and the first version past it (1.2 → 1.3.0-0). */
function floor({ nums, pre }) {
  return v(
    nums.map(n => n ?? 0),
    pre
  )
}
function pastEnd({ nums }) {
  const fixed = nums.filter(n => n !== undefined).length
  if (fixed === 0) return undefined
  if (fixed === 3) return v([nums[0], nums[1], nums[2] + 1], ZERO_PRE)
  const t = [...nums.slice(0, fixed), 0, 0].slice(0, 3)
  t[fixed - 1] += 1
  return v(t, ZERO_PRE)
}

/** One comparator (op, partial) as comparators over full versions. */
function desugar(op, text) {
  const p = partial(text)
  const full = p.nums.every(n => n !== undefined)
  const lo = floor(p)
  const hi = pastEnd(p)
  const never = [['<', v([0, 0, 0], ZERO_PRE)]]
  switch (op) {
    case '':
    case '=':
      if (full) return [['=', lo]]
      return hi
        ? [
            ['>=', lo],
            ['<', hi]
          ]
        : []
    case '>':
      if (full) return [['>', lo]]
      return hi ? [['>=', v(hi.t)]] : never
    case '>=':
      return [['>=', lo]]
    case '<':
      if (full) return [['<', lo]]
      return hi ? [['<', v(lo.t, ZERO_PRE)]] : never
    case '<=':
      if (full) return [['<=', lo]]
      return hi ? [['<', hi]] : []
    case '~': {
      const [a, b] = p.nums
      if (a === undefined) return []
      const end = b === undefined ? v([a + 1, 0, 0], ZERO_PRE) : v([a, b + 1, 0], ZERO_PRE)
      return [
        ['>=', lo],
        ['<', end]
      ]
    }
    case '^': {
      const [a, b, c] = p.nums
      if (a === undefined) return []
      let end
      if (a > 0 || b === undefined) end = v([a + 1, 0, 0], ZERO_PRE)
      else if (b > 0 || c === undefined) end = v([0, b + 1, 0], ZERO_PRE)
      else end = v([0, 0, c + 1], ZERO_PRE)
      return [
        ['>=', lo],
        ['<', end]
      ]
    }
  }
  throw new Error(`unknown operator "${op}"`)
}

/** A range as its alternatives, each a list of [op, version] that must all hold; throws if not a range. */
export function parseRange(text) {
  return String(text)
    .split('||')
    .map(alt => {
      const s = alt.trim().replace(/(<=|>=|<|>|=|~>?|\^)\s+/g, '$1')
      const hyphen = /^(\S+)\s+-\s+(\S+)$/.exec(s)
      if (hyphen) {
        const to = partial(hyphen[2])
        const upper = to.nums.every(n => n !== undefined) ? [['<=', floor(to)]] : desugar('<=', hyphen[2])
        return [['>=', floor(partial(hyphen[1]))], ...upper]
      }
      if (s === '') return []
      return s.split(/\s+/).flatMap(c => {
        const m = /^(<=|>=|<|>|=|~>|~|\^)?(.*)$/.exec(c)
        return desugar(m[1] === '~>' ? '~' : (m[1] ?? ''), m[2])
      })
    })
}

function holds([op, bound], ver) {
  const c = compare(ver, bound)
  return { '<': c < 0, '<=': c <= 0, '>': c > 0, '>=': c >= 0, '=': c === 0 }[op]
}

/** npm's satisfies: a prerelease matches only an alternative that names a prerelease of the same x.y.z. */
export function satisfies(version, range) {
  const ver = typeof version === 'string' ? parseVersion(version) : version
  if (!ver) return false
  return parseRange(range).some(
    alt =>
      alt.every(c => holds(c, ver)) &&
      (ver.pre.length === 0 || alt.some(([, b]) => b.pre.length > 0 && b.t.join() === ver.t.join()))
  )
}

export function isRange(text) {
  try {
    parseRange(text)
    return true
  } catch {
    return false
  }
}

// Node releases have no prerelease, so over releases each alternative is one interval [lo, hi) of x.y.z.
const INF = [Infinity, 0, 0]
const lt = (a, b) => (a[0] !== b[0] ? a[0] < b[0] : a[1] !== b[1] ? a[1] < b[1] : a[2] < b[2])
const max = (a, b) => (lt(a, b) ? b : a)
const min = (a, b) => (lt(a, b) ? a : b)
const next = t => [t[0], t[1], t[2] + 1]

function interval(alt) {
  let lo = [0, 0, 0]
  let hi = INF
  for (const [op, { t, pre }] of alt) {
    const release = pre.length === 0
    if (op === '>=' || (op === '>' && !release)) lo = max(lo, t)
    else if (op === '>') lo = max(lo, next(t))
    else if (op === '<' || (op === '<=' && !release)) hi = min(hi, t)
    else if (op === '<=') hi = min(hi, next(t))
    else if (release) [lo, hi] = [max(lo, t), min(hi, next(t))]
    else hi = lo // = of a prerelease: no release
  }
  return lt(lo, hi) ? [lo, hi] : undefined
}

/**
 * The lowest Node release that `declared` allows and `supported` does not, as "x.y.z", or undefined
 * when every release `declared` allows is in `supported`.
 */
export function firstExcluded(declared, supported) {
  const have = parseRange(supported)
    .map(interval)
    .filter(Boolean)
    .sort((a, b) => (lt(a[0], b[0]) ? -1 : lt(b[0], a[0]) ? 1 : 0))
  const wanted = parseRange(declared).map(interval).filter(Boolean)
  const gaps = []
  for (const [lo, hi] of wanted) {
    let at = lo
    for (const [a, b] of have) if (!lt(at, a) && lt(at, b)) at = b
    if (lt(at, hi)) gaps.push(at)
  }
  if (!gaps.length) return undefined
  return gaps.reduce(min).join('.')
}

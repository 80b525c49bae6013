// The order layers build in: parents first, ties in config order; a cycle found before that.
import type { LayerConfig } from '../types.js'

/**
 * The first cycle of `from` edges met walking the layers in config order, printed parent → child
 * from the first of its layers in config order; undefined: none.
 */
export function findCycle(layers: LayerConfig[]): string[] | undefined {
  const byName = new Map(layers.map(l => [l.name, l]))
  const state = new Map<string, 'open' | 'done'>()
  const stack: string[] = []
  const visit = (name: string): string[] | undefined => {
    if (state.get(name) === 'done') return undefined
    if (state.get(name) === 'open') {
      // stack follows parent edges; printed parent → child, from the first layer in config order.
      const cycle = stack.slice(stack.indexOf(name)).reverse()
      const first = layers.findIndex(l => cycle.includes(l.name))
      const start = cycle.indexOf(layers[first].name)
      return [...cycle.slice(start), ...cycle.slice(0, start)]
    }
    state.set(name, 'open')
    stack.push(name)
    for (const p of byName.get(name)!.from) {
      const ring = visit(p.layer)
      if (ring) return ring
    }
    stack.pop()
    state.set(name, 'done')
    return undefined
  }
  for (const l of layers) {
    const ring = visit(l.name)
    if (ring) return ring
  }
  return undefined
}

/**
 * Parents first; among the layers ready at a step, the first in config order (Kahn's algorithm with
 * the ready layers kept by config index, so thousands of layers take n log n, not n²).
 */
export function topologicalOrder(layers: LayerConfig[]): string[] {
  const index = new Map(layers.map((l, i) => [l.name, i]))
  const waiting = layers.map(l => new Set(l.from.map(p => p.layer)).size)
  const children: number[][] = layers.map(() => [])
  layers.forEach((l, i) => new Set(l.from.map(p => p.layer)).forEach(p => children[index.get(p)!].push(i)))
  const ready = new MinHeap()
  waiting.forEach((w, i) => w === 0 && ready.push(i))
  const order: string[] = []
  for (let i = ready.pop(); i !== undefined; i = ready.pop()) {
    order.push(layers[i].name)
    for (const c of children[i]) if (--waiting[c] === 0) ready.push(c)
  }
  return order
}

/** The smallest number first. */
class MinHeap {
  private readonly items: number[] = []
  push(n: number): void {
    const a = this.items
    a.push(n)
    for (let i = a.length - 1; i > 0;) {
      const up = (i - 1) >> 1
      if (a[up] <= a[i]) break
      ;[a[up], a[i]] = [a[i], a[up]]
      i = up
    }
  }
  pop(): number | undefined {
    const a = this.items
    const top = a[0]
    const last = a.pop()
    if (a.length > 0 && last !== undefined) {
      a[0] = last
      for (let i = 0; ;) {
        const l = 2 * i + 1
        const r = l + 1
        let m = i
        if (l < a.length && a[l] < a[m]) m = l
        if (r < a.length && a[r] < a[m]) m = r
        if (m === i) break
        ;[a[m], a[i]] = [a[i], a[m]]
        i = m
      }
    }
    return top
  }
}

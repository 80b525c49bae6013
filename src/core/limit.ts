// The one concurrency helper: at most N tasks at once, in the order they asked. Pure (no I/O).

/** Runs each given task when fewer than `n` run; resolves with the task's result. */
export type Limiter = <T>(task: () => Promise<T>) => Promise<T>

export function createLimiter(n: number): Limiter {
  if (!Number.isInteger(n) || n < 1) throw new Error(`a limiter needs a positive whole number, not ${n}`)
  let free = n
  const waiting: (() => void)[] = []
  const release = (): void => {
    const next = waiting.shift()
    if (next) next()
    else free++
  }
  return async task => {
    if (free > 0) free--
    else await new Promise<void>(res => waiting.push(res))
    try {
      return await task()
    } finally {
      release()
    }
  }
}

/** Promise.all over `items`, at most `limit` at a time, results in item order; rejects on the first failure. */
export async function mapLimit<T, R>(
  items: readonly T[],
  limit: number,
  fn: (item: T) => Promise<R>
): Promise<R[]> {
  const run = createLimiter(limit)
  return Promise.all(items.map(item => run(() => fn(item))))
}

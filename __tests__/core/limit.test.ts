import { createLimiter, mapLimit } from '../../src/core/limit.js'

const tick = (): Promise<void> => new Promise(r => setTimeout(r, 1))

test('never more than n at once, and every task runs', async () => {
  const run = createLimiter(2)
  let now = 0
  let most = 0
  const done = await Promise.all(
    Array.from({ length: 7 }, (_, i) =>
      run(async () => {
        most = Math.max(most, ++now)
        await tick()
        now--
        return i
      })
    )
  )
  expect(most).toBe(2)
  expect(done).toEqual([0, 1, 2, 3, 4, 5, 6])
})

test('a failing task frees its place', async () => {
  const run = createLimiter(1)
  await expect(run(() => Promise.reject(new Error('x')))).rejects.toThrow('x')
  await expect(run(async () => 'next')).resolves.toBe('next')
})

test('mapLimit keeps item order', async () => {
  expect(await mapLimit([3, 1, 2], 2, async n => n * 10)).toEqual([30, 10, 20])
})

test.each([0, -1, 1.5])('a limit of %p is refused', n => {
  expect(() => createLimiter(n)).toThrow('positive whole number')
})

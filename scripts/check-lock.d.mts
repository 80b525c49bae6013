// Types for __tests__/check-lock.test.ts, which imports the script's pure part.
export function checkLock(pkg: Record<string, unknown>, lock: Record<string, unknown>): string[]

// Types for __tests__/check-lock.test.ts, which imports the script's pure part.
export function satisfies(version: string, range: string): boolean
export function isRange(text: string): boolean
export function firstExcluded(declared: string, supported: string): string | undefined

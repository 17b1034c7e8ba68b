/** Wrap an async close so a second call returns the first call's promise. */
export function onceAsync(fn: () => Promise<void>): () => Promise<void> {
  let promise: Promise<void> | null = null
  return () => (promise ??= fn())
}

/**
 * Run every cleanup step even if an earlier one throws; rethrow the first failure afterwards.
 * `slow` hears of a step still running after `slowMs`, so a stop that overruns its bound says
 * which step held it.
 */
export async function runAll(
  steps: Array<[string, () => unknown]>,
  slow?: { ms: number; report: (step: string) => void },
): Promise<void> {
  const errors: Error[] = []
  for (const [name, step] of steps) {
    const timer = slow ? setTimeout(() => slow.report(name), slow.ms) : null
    timer?.unref()
    try {
      await step()
    } catch (err) {
      errors.push(
        new Error(`${name} failed while closing: ${(err as Error).message}`, { cause: err }),
      )
    } finally {
      if (timer) clearTimeout(timer)
    }
  }
  if (errors.length > 1) throw new AggregateError(errors, errors.map((e) => e.message).join('; '))
  const [only] = errors
  if (only) throw only
}

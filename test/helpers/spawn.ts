import type { ChildProcess } from 'node:child_process'

// Spawning `sluice` and reading its JSON log are the test kit's (sluice/testing).
export { spawnSluice, waitForLog } from '../../src/testing/spawn.js'

/**
 * Environment that points the broker and the database at a closed port: the engine ingests and
 * journals, but nothing leaves the journal, so a test can read every acknowledged event there.
 */
export const JOURNAL_ONLY_ENV: Readonly<NodeJS.ProcessEnv> = Object.freeze({
  SLUICE_BROKER: 'rabbitmq',
  AMQP_URL: 'amqp://guest:guest@127.0.0.1:1',
  DATABASE_URL: 'postgres://postgres@127.0.0.1:1/none',
})

/** Collect a child's output and resolve with its exit code once its streams closed. */
export function collect(
  child: ChildProcess,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  let stdout = ''
  let stderr = ''
  child.stdout?.on('data', (d: Buffer) => (stdout += d.toString()))
  child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()))
  return new Promise((resolve) => child.once('close', (code) => resolve({ code, stdout, stderr })))
}

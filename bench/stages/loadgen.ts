import { spawn } from 'node:child_process'
import { join } from 'node:path'
import { onJsonLines } from '../proc.js'
import type { BenchContext } from '../types.js'

export interface LoadSpec {
  url: string
  connections: number
  /** Seconds; the load may be stopped earlier with stop(). */
  duration: number
  /** Exact request body. */
  body: string
  headers?: Record<string, string>
  /** Requests per second offered in total; max throughput when absent. */
  overallRate?: number
}

export interface LoadResult {
  rps: number
  seconds: number
  total: number
  ok: number
  non2xx: number
  errors: number
  timeouts: number
  p50: number
  p99: number
  p99_9: number
  max: number
}

export interface RunningLoad {
  /** Resolves with autocannon's summary when the run ends (duration over, or stop()). */
  result: Promise<LoadResult>
  /** End the run now; resolves with the summary of what was sent so far. */
  stop(): Promise<LoadResult>
}

/** Start autocannon in its own process (bench/stages/load.ts); resolves once it is sending. */
export function startLoad(ctx: BenchContext, spec: LoadSpec): Promise<RunningLoad> {
  const child = spawn(
    process.execPath,
    [join(ctx.root, 'dist', 'bench', 'stages', 'load.js'), JSON.stringify(spec)],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  )
  let started: () => void
  const whenStarted = new Promise<void>((r) => (started = r))
  const result = new Promise<LoadResult>((resolve, reject) => {
    onJsonLines(child.stdout, (line) => {
      if (line.msg === 'started') started()
      else if ('rps' in line) resolve(line as unknown as LoadResult)
    })
    child.once('exit', (code) => reject(new Error(`load generator exited with ${code}`)))
  })
  // Surface a start failure through whenStarted too.
  result.catch(() => started())
  return whenStarted.then(() => ({
    result,
    stop: () => {
      if (child.exitCode === null) child.kill('SIGTERM')
      return result
    },
  }))
}

/** Run a load to its end. */
export async function runLoad(ctx: BenchContext, spec: LoadSpec): Promise<LoadResult> {
  return (await startLoad(ctx, spec)).result
}

/** A JSON webhook body of exactly `bytes` bytes. */
export function jsonBody(bytes: number): string {
  const head = '{"type":"bench.event","data":"'
  return `${head}${'x'.repeat(Math.max(0, bytes - head.length - 2))}"}`
}

import { join } from 'node:path'
import { startNode } from '../proc.js'
import type { BenchContext } from '../types.js'
import type { BareResult, BareSpec } from './bare-loop.js'

/** Run the bare undici loop (bench/outbound/bare-loop.ts) in its own process to its end. */
export async function runBare(ctx: BenchContext, spec: BareSpec): Promise<BareResult> {
  const { line } = await startNode(
    join(ctx.root, 'dist', 'bench', 'outbound', 'bare-loop.js'),
    [JSON.stringify(spec)],
    {},
    (l) => 'perSecond' in l,
  )
  return line as unknown as BareResult
}

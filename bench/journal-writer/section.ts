import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { SqliteJournal, type WriterMode } from '../../journal/index.js'
import { load, startSluice } from '../ingest/section.js'
import type { BenchContext, BenchSection, SectionResult } from '../types.js'

const CONCURRENCY = [16, 256]

/** Appenders in this process, each awaiting its append before the next, for `seconds`. */
async function appendLoad(writer: WriterMode, concurrency: number, seconds: number) {
  const dir = mkdtempSync(join(tmpdir(), 'sluice-jw-'))
  let commits = 0
  const journal = new SqliteJournal({
    dataDir: dir,
    writer,
    sync: 'full',
    onCommit: () => commits++,
  })
  await journal.start()
  const body = Buffer.alloc(5 * 1024, 'x')
  let events = 0
  const until = performance.now() + seconds * 1000
  const appender = async () => {
    while (performance.now() < until) {
      await journal.append({
        id: `e${events}`,
        source: 'default',
        contentType: 'application/json',
        headers: { 'content-type': 'application/json' },
        body,
        verifiedBy: null,
      })
      events++
    }
  }
  const started = performance.now()
  await Promise.all(Array.from({ length: concurrency }, appender))
  const elapsed = (performance.now() - started) / 1000
  await journal.close()
  rmSync(dir, { recursive: true, force: true })
  return { commitsPerSec: commits / elapsed, eventsPerSec: events / elapsed }
}

/**
 * Inline writer (commits on the HTTP thread) vs the writer worker thread, with sync full:
 * raw append throughput in-process, then end to end over HTTP. Backs docs/journal-writer.md.
 */
export const journalWriterSection: BenchSection = {
  name: 'journal-writer',
  description: 'inline vs worker-thread journal writer, sync full (median of BENCH_REPEAT rounds)',
  async run(ctx: BenchContext): Promise<SectionResult> {
    // The machine is shared: rounds alternate inline and worker, and the median is reported.
    const repeat = Math.max(1, Number(process.env.BENCH_REPEAT ?? 3))
    const runs: Record<string, Array<Record<string, number>>> = {}
    const add = (key: string, v: Record<string, number>) => (runs[key] ??= []).push(v)
    for (let round = 0; round < repeat; round++) {
      for (const writer of ['inline', 'worker'] as const) {
        for (const c of CONCURRENCY) {
          ctx.log(`round ${round + 1}/${repeat} ${writer}: ${c} concurrent appenders`)
          add(`${writer}|append x${c}`, await appendLoad(writer, c, ctx.duration))
        }
        ctx.log(`round ${round + 1}/${repeat} ${writer}: HTTP, 100 connections`)
        const s = await startSluice(ctx, writer)
        await load(ctx, { url: s.url, connections: 100, duration: 2, bodyBytes: 5120 })
        const h = await load(ctx, {
          url: s.url,
          connections: 100,
          duration: ctx.duration,
          bodyBytes: 5120,
        })
        await s.close()
        add(`${writer}|HTTP x100`, { eventsPerSec: h.rps, p99: h.p99 })
      }
    }
    const median = (xs: number[]) => {
      const s = [...xs].sort((a, b) => a - b)
      return s[Math.floor(s.length / 2)] ?? 0
    }
    const rows = Object.entries(runs).map(([key, vs]) => {
      const [writer, loadName] = key.split('|')
      const pick = (k: string) =>
        vs[0]?.[k] === undefined ? null : Math.round(median(vs.map((v) => v[k] ?? 0)))
      return {
        writer: writer ?? '',
        load: loadName ?? '',
        'commits/s': pick('commitsPerSec'),
        'events/s': pick('eventsPerSec'),
        'p99 ms': pick('p99'),
      }
    })
    return {
      tables: [
        {
          title: `journal writer: inline vs worker (sync full, 5 KB events, median of ${repeat})`,
          rows,
        },
      ],
      data: { repeat, runs },
    }
  },
}

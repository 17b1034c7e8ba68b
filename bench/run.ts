import { existsSync, mkdirSync, writeFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { sections, optionalSections } from './sections.js'
import { formatTable } from './table.js'
import type { BenchContext, SectionResult } from './types.js'

/** Walk up from this file to the directory holding package.json (works from bench/ and dist/bench/). */
function findRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url))
  while (!existsSync(join(dir, 'package.json'))) {
    const up = dirname(dir)
    if (up === dir) throw new Error('cannot find the repository root')
    dir = up
  }
  return dir
}

async function main(): Promise<number> {
  const root = findRoot()
  const ctx: BenchContext = {
    root,
    duration: Number(process.env.BENCH_DURATION ?? 10),
    log: (m) => process.stderr.write(`[bench] ${m}\n`),
  }
  if (!(ctx.duration > 0)) throw new Error('BENCH_DURATION must be a positive number of seconds')
  const wanted = [
    ...process.argv.slice(2),
    ...(process.env.BENCH_SECTIONS?.split(',').filter(Boolean) ?? []),
  ]
  const all = [...sections, ...optionalSections]
  const chosen = wanted.length === 0 ? sections : all.filter((s) => wanted.includes(s.name))
  const unknown = wanted.filter((w) => !all.some((s) => s.name === w))
  if (unknown.length > 0) {
    process.stderr.write(
      `unknown section(s): ${unknown.join(', ')}; known: ${all.map((s) => s.name).join(', ')}\n`,
    )
    return 1
  }
  const results: Record<string, SectionResult['data']> = {}
  for (const s of chosen) {
    ctx.log(`section ${s.name}: ${s.description}`)
    const r = await s.run(ctx)
    results[s.name] = r.data
    for (const t of r.tables) process.stdout.write(`\n${formatTable(t)}`)
  }
  const dir = join(root, 'bench', 'results')
  mkdirSync(dir, { recursive: true })
  const file = join(dir, `${new Date().toISOString().replace(/[:.]/g, '-')}.json`)
  writeFileSync(
    file,
    JSON.stringify({ at: new Date().toISOString(), duration: ctx.duration, results }, null, 2),
  )
  process.stdout.write(`\nresults written to ${file}\n`)
  return 0
}

main().then(
  (code) => (process.exitCode = code),
  (err: unknown) => {
    console.error(err)
    process.exitCode = 1
  },
)

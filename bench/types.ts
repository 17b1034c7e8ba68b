/** What a benchmark section gets: knobs from the environment and where the repo is. */
export interface BenchContext {
  /** Repository root (holds package.json, bin/, dist/). */
  root: string
  /** Seconds per measured run (BENCH_DURATION). */
  duration: number
  log(message: string): void
}

/** One printed table: rows share the same keys, in column order. */
export interface BenchTable {
  title: string
  rows: Array<Record<string, string | number | null>>
}

export interface SectionResult {
  tables: BenchTable[]
  /** Everything measured, written to the JSON results file under the section's name. */
  data: Record<string, unknown>
}

/**
 * A benchmark section. To add one: write `bench/<name>/section.ts` exporting a BenchSection
 * and append it to the list in bench/sections.ts. `npm run bench` runs every section;
 * `npm run bench -- <name> ...` (or BENCH_SECTIONS=a,b) runs only those.
 */
export interface BenchSection {
  name: string
  description: string
  run(ctx: BenchContext): Promise<SectionResult>
}

import type { BenchTable } from './types.js'

/** Render rows as an aligned plain-text table. */
export function formatTable(table: BenchTable): string {
  const first = table.rows[0]
  if (!first) return `${table.title}\n  (no rows)\n`
  const cols = Object.keys(first)
  const cell = (v: string | number | null | undefined) =>
    v === null || v === undefined ? '-' : String(v)
  const widths = cols.map((c) => Math.max(c.length, ...table.rows.map((r) => cell(r[c]).length)))
  const line = (vals: string[]) => vals.map((v, i) => v.padStart(widths[i]!)).join('  ')
  return [
    table.title,
    line(cols),
    widths.map((w) => '-'.repeat(w)).join('  '),
    ...table.rows.map((r) => line(cols.map((c) => cell(r[c])))),
    '',
  ].join('\n')
}

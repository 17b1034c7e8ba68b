import pg from 'pg'

/** What the events table says about a run: rows stored and processed_at - received_at. */
export interface StoreStats {
  rows: number
  p50Ms: number | null
  p99Ms: number | null
  maxMs: number | null
}

/** Latency percentiles over the rows received in [fromMs, toMs) (all rows when omitted). */
export async function storeStats(url: string, fromMs = 0, toMs = 8.64e15): Promise<StoreStats> {
  const c = new pg.Client({ connectionString: url })
  await c.connect()
  try {
    const { rows } = await c.query<{ n: string; p50: number; p99: number; max: number }>(
      `SELECT count(*) AS n,
              percentile_cont(0.5) WITHIN GROUP (ORDER BY lat) AS p50,
              percentile_cont(0.99) WITHIN GROUP (ORDER BY lat) AS p99,
              max(lat) AS max
         FROM (SELECT extract(epoch FROM processed_at - received_at) * 1000 AS lat
                 FROM events
                WHERE received_at >= to_timestamp($1::double precision / 1000)
                  AND received_at < to_timestamp($2::double precision / 1000)) t`,
      [fromMs, toMs],
    )
    const r = rows[0]
    const num = (v: unknown) =>
      v === null || v === undefined ? null : Number(Number(v).toFixed(2))
    return { rows: Number(r?.n ?? 0), p50Ms: num(r?.p50), p99Ms: num(r?.p99), maxMs: num(r?.max) }
  } finally {
    await c.end()
  }
}

/** Rows whose processed_at falls in [fromMs, toMs): the stored rate over a window. */
export async function rowsProcessedBetween(url: string, fromMs: number, toMs: number) {
  const c = new pg.Client({ connectionString: url })
  await c.connect()
  try {
    const { rows } = await c.query<{ n: string }>(
      `SELECT count(*) AS n FROM events
        WHERE processed_at >= to_timestamp($1::double precision / 1000)
          AND processed_at < to_timestamp($2::double precision / 1000)`,
      [fromMs, toMs],
    )
    return Number(rows[0]?.n ?? 0)
  } finally {
    await c.end()
  }
}

export async function countRows(url: string): Promise<number> {
  const c = new pg.Client({ connectionString: url })
  await c.connect()
  try {
    const { rows } = await c.query<{ n: string }>('SELECT count(*) AS n FROM events')
    return Number(rows[0]?.n ?? 0)
  } finally {
    await c.end()
  }
}

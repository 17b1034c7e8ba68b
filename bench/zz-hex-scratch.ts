import pg from 'pg'
import { randomBytes } from 'node:crypto'
const admin = 'postgres://postgres@127.0.0.1:5432/postgres'
const name = `sluice_hex_${randomBytes(3).toString('hex')}`
const c = new pg.Client({ connectionString: admin }); await c.connect(); await c.query(`CREATE DATABASE ${name}`)
const p = new pg.Pool({ connectionString: admin.replace(/postgres$/, name), max: 1 })
await p.query('CREATE TABLE t (id int, body bytea)')
const body = randomBytes(5120)
const N = 500, ROUNDS = 40
async function time(label: string, fn: (r: number) => Promise<unknown>) {
  const s = performance.now(); for (let r = 0; r < ROUNDS; r++) await fn(r); const sec = (performance.now() - s) / 1000
  console.log(label, Math.round((N * ROUNDS) / sec), 'rows/s')
}
const vals = Array.from({ length: N }, (_, i) => `($${2 * i + 1}::int,$${2 * i + 2}::bytea)`).join(',')
for (let k = 0; k < 2; k++) {
  await time('buffer params (binary)', () => p.query(`INSERT INTO t VALUES ${vals}`, Array.from({ length: N }, (_, i) => [i, body]).flat()))
  await time('bytea[] array (hex text)', () => p.query('INSERT INTO t SELECT * FROM unnest($1::int[], $2::bytea[])', [Array.from({ length: N }, (_, i) => i), Array.from({ length: N }, () => body)]))
}
await p.end(); await c.query(`DROP DATABASE ${name} WITH (FORCE)`); await c.end()

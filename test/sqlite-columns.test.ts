import Database from 'better-sqlite3'
import t from 'tap'
import { addColumnIfMissing } from '../src/util/sqlite-columns.js'

t.test('a column missing from an older file is added once, rows kept, NULL in them', async (t) => {
  const db = new Database(':memory:')
  t.teardown(() => db.close())
  db.exec('CREATE TABLE messages (seq INTEGER PRIMARY KEY, body BLOB)')
  db.prepare('INSERT INTO messages (body) VALUES (?)').run(Buffer.from('old'))
  addColumnIfMissing(db, 'messages', 'traceparent', 'TEXT')
  addColumnIfMissing(db, 'messages', 'traceparent', 'TEXT')
  const columns = (
    db.pragma('table_info(messages)') as Array<{ name: string; type: string }>
  ).filter((c) => c.name === 'traceparent')
  t.same(
    columns.map((c) => c.type),
    ['TEXT'],
    'exactly one traceparent column, TEXT',
  )
  const row = db.prepare('SELECT body, traceparent FROM messages').get() as Record<string, unknown>
  t.same(row, { body: Buffer.from('old'), traceparent: null }, 'the old row kept, NULL in it')
})

import t from 'tap'
import { randomBytes } from 'node:crypto'
import { BodySlab } from '../src/server/body-slab.js'
import { startServer } from './helpers/http-server.js'
import { failOnLeaks } from './helpers/leaks.js'

t.test('bodies carved from one slab never share bytes', async (t) => {
  const slab = new BodySlab(4096, 1024)
  const sizes = [1, 7, 8, 9, 1000, 1024, 0, 513, 700, 1024]
  const bodies = sizes.map((n, i) => {
    const b = slab.alloc(n)
    t.equal(b.length, n, `body ${i} has its size`)
    b.fill(i + 1)
    return b
  })
  // Filled in order, so a body overlapping a later one would now hold the later one's byte.
  bodies.forEach((b, i) =>
    t.ok(
      b.every((x) => x === i + 1),
      `body ${i} kept its bytes`,
    ),
  )
  const first = bodies[0]!
  t.equal(bodies[1]!.buffer, first.buffer, 'small bodies share a slab')
  t.ok(bodies[1]!.byteOffset >= first.byteOffset + 8, 'each starts on its own 8-byte word')
  t.not(bodies.at(-1)!.buffer, first.buffer, 'a slab that is full is replaced, not reused')
})

t.test('a body over the carving limit gets its own buffer', async (t) => {
  const slab = new BodySlab(4096, 1024)
  const small = slab.alloc(10)
  const big = slab.alloc(1025)
  t.not(big.buffer, small.buffer)
  t.equal(slab.alloc(10).buffer, small.buffer, 'the slab goes on after a large body')
})

t.test('a size that cannot be carved throws for that call and breaks no later one', async (t) => {
  const slab = new BodySlab(4096, 1024)
  const before = slab.alloc(10).fill(1)
  t.throws(() => slab.alloc(-16), RangeError)
  const after = slab.alloc(10).fill(2)
  t.equal(after.buffer, before.buffer, 'the slab goes on')
  t.ok(after.byteOffset >= before.byteOffset + 16, 'past the body before it')
  t.ok(
    before.every((x) => x === 1),
    'which kept its bytes',
  )
})

t.test('concurrent requests each commit their own bytes', async (t) => {
  failOnLeaks(t)
  const { url, journal } = await startServer(t)
  // More than one 512 KiB slab's worth, posted at once so their bodies are carved side by side.
  const bodies = Array.from({ length: 300 }, (_, i) => randomBytes(3000 + i * 7))
  const ids = await Promise.all(
    bodies.map(async (body) => {
      const r = await fetch(`${url}/webhook`, { method: 'POST', body: new Uint8Array(body) })
      t.equal(r.status, 200)
      return ((await r.json()) as { id: string }).id
    }),
  )
  const byId = new Map((await journal.readPending(0, 1000)).map((e) => [e.id, e.body]))
  t.equal(byId.size, bodies.length, 'every event is in the journal')
  const wrong = bodies.filter((b, i) => !byId.get(ids[i]!)?.equals(b)).length
  t.equal(wrong, 0, 'every body byte for byte')
})

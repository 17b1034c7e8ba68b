import t from 'tap'
import { SpareBuffers } from '../workers/spare-buffers.js'

const KiB = 1024

t.test('a kept buffer is handed out again when it fits', async (t) => {
  const spares = new SpareBuffers(2)
  const a = spares.take(100 * KiB)
  t.equal(a.byteLength, 128 * KiB, 'new ones are sized to the next power of two')
  t.equal(spares.take(10).byteLength, 10, 'small ones are made to measure')
  spares.give(a)
  t.equal(spares.size, 1)
  t.equal(spares.take(200 * KiB).byteLength, 256 * KiB, 'too small for the batch: a new one')
  t.equal(spares.size, 1, 'and the kept one stays')
  t.equal(spares.take(120 * KiB), a, 'one that fits is reused')
  t.equal(spares.size, 0)
})

t.test('what is not kept', async (t) => {
  const spares = new SpareBuffers(2, 1024 * KiB)
  spares.give(undefined)
  spares.give(new ArrayBuffer(10 * KiB))
  spares.give(new ArrayBuffer(2048 * KiB))
  const moved = new ArrayBuffer(128 * KiB)
  structuredClone(moved, { transfer: [moved] })
  spares.give(moved)
  t.equal(spares.size, 0, 'none, too small, too large or detached')

  const [b64, b128, b256] = [64, 128, 256].map((k) => new ArrayBuffer(k * KiB))
  spares.give(b64)
  spares.give(b128)
  spares.give(b256)
  t.equal(spares.size, 2, 'at most maxCount')
  t.equal(spares.take(200 * KiB), b256, 'a larger one replaced the smallest')
  t.equal(spares.take(100 * KiB), b128)
})

import t from 'tap'
import { packBodies, unpackBodies } from '../src/util/packed-bodies.js'

t.test('bodies packed into one buffer come back whole, the originals untouched', async (t) => {
  // One body a view into the middle of a larger buffer, as Node's pool and broker frames make.
  const shared = Buffer.from('xxhello worldyy')
  const items = [
    { id: 'a', body: shared.subarray(2, 13) },
    { id: 'b', body: new Uint8Array(0) },
    { id: 'c', body: Buffer.from([0, 255, 1]) },
  ]
  const packed = packBodies(items)
  t.equal(packed.bodies.byteLength, 14, 'only the bodies, not the buffers they live in')
  t.same(
    packed.items.map((i) => [i.id, i.bodyLength]),
    [
      ['a', 11],
      ['b', 0],
      ['c', 3],
    ],
  )
  t.notOk('body' in packed.items[0]!, 'bodies are not cloned with the metadata')

  // What a transfer does to the sender's side: the packed buffer is detached, not the bodies.
  const moved = structuredClone(packed, { transfer: [packed.bodies] })
  t.equal(packed.bodies.byteLength, 0, 'the packed buffer moved')
  t.equal(items[0]!.body.toString(), 'hello world', 'the original body is intact')

  const back = unpackBodies(moved)
  t.same(
    back.map((i) => [i.id, Buffer.from(i.body).toString('hex')]),
    [
      ['a', Buffer.from('hello world').toString('hex')],
      ['b', ''],
      ['c', '00ff01'],
    ],
  )
  t.ok(back.every((i) => Buffer.isBuffer(i.body)))
})

import t from 'tap'
import { OrderCheck } from '../bench/outbound/order-check.js'

// Keys are seq % 10 here: 1 and 11 share a key, 2 does not.
const check = () => new OrderCheck((seq) => seq % 10)

t.test('in order, one at a time: no violation; a wait in the chain counts as held', async (t) => {
  const c = check()
  c.posted(1, 0)
  c.acked(1, 1)
  c.posted(11, 2) // after 1's 200: received after it
  c.acked(11, 3)
  c.arrived(0, 1, 4)
  c.answered(0, 1, 10)
  c.arrived(0, 11, 11)
  c.answered(0, 11, 12)
  t.same(c.report(), { checked: 2, held: 1, overlaps: 0, outOfOrder: 0, violations: 0 })
})

t.test(
  'a later event of the key first is out of order, even once the earlier arrived',
  async (t) => {
    const c = check()
    c.posted(1, 0)
    c.acked(1, 1)
    c.posted(11, 2)
    c.acked(11, 3)
    c.arrived(0, 11, 4)
    c.answered(0, 11, 5)
    c.arrived(0, 1, 6)
    t.same(c.report(), { checked: 2, held: 0, overlaps: 0, outOfOrder: 1, violations: 1 })
    // Another receiver is another subscription: its order is its own.
    c.arrived(1, 1, 7)
    c.answered(1, 1, 8)
    c.arrived(1, 11, 9)
    t.equal(c.report().violations, 1)
  },
)

t.test('two of a key in flight at one receiver overlap; other keys do not', async (t) => {
  const c = check()
  c.posted(1, 0)
  c.posted(11, 0) // both in flight: their receipt order is unknown, only overlap counts
  c.posted(2, 0)
  for (const s of [1, 11, 2]) c.acked(s, 1)
  c.arrived(0, 1, 2)
  c.arrived(0, 2, 3)
  c.arrived(0, 11, 4)
  t.same(c.report(), { checked: 3, held: 0, overlaps: 1, outOfOrder: 0, violations: 1 })
})

t.test(
  'a repeat of a delivery is not checked again; arriving before its 200 is checked',
  async (t) => {
    const c = check()
    c.posted(1, 0)
    c.arrived(0, 1, 1) // before the runner read the POST's 200
    c.acked(1, 2)
    c.answered(0, 1, 3)
    c.arrived(0, 1, 4)
    c.posted(11, 5)
    c.acked(11, 6)
    c.arrived(0, 11, 7)
    t.same(c.report(), { checked: 2, held: 0, overlaps: 0, outOfOrder: 0, violations: 0 })
  },
)

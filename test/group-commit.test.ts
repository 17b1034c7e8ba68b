import t from 'tap'
import { GroupCommitter } from '../journal/group-commit.js'
import type { NewEvent } from '../journal/index.js'

function event(i: number): NewEvent {
  return {
    id: `evt-${i}`,
    source: 'default',
    contentType: 'application/json',
    headers: {},
    body: Buffer.from(`{"n":${i}}`),
    verifiedBy: null,
  }
}

// A writer that answers fewer sequence numbers than it was given events has told us nothing
// about which of them are on disk: answering any of them 200 would break the promise.
t.test('a commit answering fewer seqs than events rejects every waiter of the batch', async (t) => {
  const batches: number[] = []
  const gc = new GroupCommitter(async (events) => {
    batches.push(events.length)
    return { seqs: events.slice(1).map((_, i) => i + 1), receivedAt: Date.now() }
  })
  const results = await Promise.allSettled([0, 1, 2, 3].map((i) => gc.add(event(i))))
  t.same(batches, [4], 'the four appends shared one commit')
  for (const r of results) {
    t.equal(r.status, 'rejected', `rejected, never answered: ${JSON.stringify(r)}`)
    if (r.status === 'rejected') t.match(String(r.reason), /4 events .* 3 sequence numbers/)
  }
  await gc.idle()
})

t.test('a commit answering more seqs than events rejects every waiter too', async (t) => {
  const gc = new GroupCommitter(async (events) => ({
    seqs: [...events.map((_, i) => i + 1), 99],
    receivedAt: Date.now(),
  }))
  const results = await Promise.allSettled([0, 1].map((i) => gc.add(event(i))))
  t.same(
    results.map((r) => r.status),
    ['rejected', 'rejected'],
  )
})

t.test('the next batch after a mismatched one commits normally', async (t) => {
  let n = 0
  const gc = new GroupCommitter(async (events) => {
    n++
    const seqs = events.map((_, i) => n * 100 + i)
    return { seqs: n === 1 ? seqs.slice(1) : seqs, receivedAt: 1 }
  })
  const first = await Promise.allSettled([gc.add(event(0)), gc.add(event(1))])
  t.same(
    first.map((r) => r.status),
    ['rejected', 'rejected'],
  )
  const second = await Promise.all([gc.add(event(2)), gc.add(event(3))])
  t.same(second, [
    { seq: 200, receivedAt: 1 },
    { seq: 201, receivedAt: 1 },
  ])
})

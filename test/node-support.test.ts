import t from 'tap'
import { nodeEndOfLife, supportedLines, warnNodeEndOfLife } from '../src/node-support.js'
import { captureLogger } from './helpers/log-capture.js'

const day = (iso: string) => new Date(`${iso}T12:00:00Z`)

t.test('Node 20 after 2026-04-30 starts with a warn naming its end of life', async (t) => {
  const { logger, lines } = captureLogger()
  warnNodeEndOfLife(logger, 'v20.19.5', day('2026-05-01'))
  t.equal(lines.length, 1)
  t.match(lines[0], {
    level: 40,
    msg: /^Node 20 reached end of life on 2026-04-30: .*Node 22 or 24/,
    node: 'v20.19.5',
    endOfLife: '2026-04-30',
  })
})

t.test('no warning on a line still supported that day', async (t) => {
  const { logger, lines } = captureLogger()
  warnNodeEndOfLife(logger, 'v20.19.5', day('2026-04-30'))
  warnNodeEndOfLife(logger, 'v22.23.5', day('2026-12-06'))
  warnNodeEndOfLife(logger, 'v24.22.3', day('2026-12-06'))
  t.same(lines, [], 'Node 20 on its last day, Node 22 and 24 now')
})

t.test('Node 22 warns once its maintenance ends; unknown lines are not guessed', async (t) => {
  t.same(nodeEndOfLife('v22.23.5', day('2027-05-01')), { major: 22, endOfLife: '2027-04-30' })
  t.equal(nodeEndOfLife('v26.0.0', day('2027-05-01')), null, 'no date known for Node 26')
  t.equal(nodeEndOfLife('not a version', day('2030-01-01')), null)
})

t.test('on this Node today, the warning is there exactly when its line has ended', async (t) => {
  const { logger, lines } = captureLogger()
  warnNodeEndOfLife(logger)
  const ended = nodeEndOfLife(process.version) !== null
  t.equal(lines.length, ended ? 1 : 0, `${process.version}: ended ${ended}`)
  if (process.versions.node.startsWith('20.')) t.ok(ended, 'Node 20 ended on 2026-04-30')
})

t.test('the supported lines named in the warning follow the table and the day', async (t) => {
  t.equal(supportedLines(day('2026-04-30')), 'Node 20, 22 or 24', 'Node 20 on its last day')
  t.equal(supportedLines(day('2026-12-06')), 'Node 22 or 24')
  t.equal(supportedLines(day('2027-05-01')), 'Node 24', 'after Node 22 ends')
  t.match(supportedLines(day('2030-01-01')), /newer than/, 'no line of the table left')
  const { logger, lines } = captureLogger()
  warnNodeEndOfLife(logger, 'v22.1.0', day('2027-05-01'))
  t.match(lines[0], { msg: /run Node 24 \(/, supported: 'Node 24' })
})

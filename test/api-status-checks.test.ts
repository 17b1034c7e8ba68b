import t from 'tap'
import { statusChecks } from '../src/api/status.js'
import type { Journal } from '../journal/index.js'
import { threadChecks } from '../src/pipeline/pipeline-thread.js'
import { readinessReport } from '../src/server/probes.js'

// GET /v1/status's checks as the engine makes them when a part cannot report: the schema the
// client checks every answer against (and `sluice status` with it) must take them, or the CLI
// fails exactly when the operator needs it.

t.test(
  'a pipeline thread that is starting or not answering: broker and database { ok, state, error }',
  async (t) => {
    for (const check of [
      { ok: true, state: 'starting' },
      { ok: false, state: 'unresponsive', error: 'no answer within 2000 ms' },
    ]) {
      const checks = { accepting: { ok: true }, journal: { ok: true }, ...threadChecks(check) }
      const parsed = statusChecks.safeParse(checks)
      t.ok(parsed.success, `${check.state}: ${parsed.error?.message ?? 'parsed'}`)
      t.equal(parsed.data?.broker?.state, check.state)
    }
  },
)

t.test(
  'readiness itself failed: a readiness check instead of the broker and the database',
  async (t) => {
    const brokenJournal = {} as Journal // its stats throw: the journal check becomes { ok, error }
    const report = await readinessReport(
      brokenJournal,
      () => Promise.reject(new Error('the pipeline is gone')),
      () => true,
    )
    t.same(Object.keys(report.checks).sort(), ['accepting', 'journal', 'readiness'])
    const parsed = statusChecks.safeParse(report.checks)
    t.ok(parsed.success, parsed.error?.message ?? 'parsed')
    t.equal(parsed.data?.readiness?.error, 'the pipeline is gone')
    t.equal(parsed.data?.broker, undefined)
  },
)

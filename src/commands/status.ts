import { AdminCallError, adminClient } from './admin-client.js'
import { ExitCode, parseCommand, type CommandSpec } from './args.js'
import { commandConfig } from './config.js'
import { PENDING_COUNT_CAP } from '../db/outbound-backlog.js'
import type { Status } from '../client/index.js'

export const statusSpec: CommandSpec = {
  name: 'sluice status',
  synopsis: '[--json]',
  description:
    "What the running engine's GET /v1/status answers (the admin API on SLUICE_ADMIN_HOST:\n" +
    'SLUICE_ADMIN_PORT, token from SLUICE_ADMIN_TOKEN or SLUICE_DATA_DIR/admin-token): readiness,\n' +
    'journal backlog, broker and database state, rates over the last minute, outbound\n' +
    'deliveries (WARN while a subscription fails or is paused), dead letters.\n' +
    'Exit code 0 when the engine is ready, 1 when it is not or cannot be reached.',
  options: { json: { type: 'boolean', help: 'print the JSON document instead (for scripts)' } },
}

/** One readiness check as printed: the fields each component may report (src/api/status.ts). */
interface Check {
  ok: boolean
  state?: string
  error?: string
  lastError?: string | null
  code?: string
  hint?: string
  [k: string]: unknown
}
type Deliveries = Status['deliveries']

/** `sluice status`: resolves with the exit code. */
export async function statusCommand(args: string[]): Promise<number> {
  const parsed = parseCommand(statusSpec, args)
  if (!parsed.ok) return parsed.exitCode
  const config = commandConfig()
  if (!config) return ExitCode.usage
  let s: Status
  try {
    s = await adminClient(config).status()
  } catch (err) {
    if (!(err instanceof AdminCallError)) throw err
    process.stderr.write(`sluice status: ${err.message}\n`)
    return ExitCode.failure
  }
  process.stdout.write(parsed.values.json ? `${JSON.stringify(s)}\n` : humanStatus(s))
  return s.status === 'ready' ? ExitCode.ok : ExitCode.failure
}

function humanStatus(s: Status): string {
  // Loose objects (each component reports its own fields): printed through one shape.
  const c = s.checks as Record<string, Check | undefined>
  const j = c.journal ?? { ok: false }
  const line = (name: string, check: Check | undefined, detail: string) => {
    const problem = check?.error ?? check?.lastError ?? ''
    const mark = check?.ok ? 'ok  ' : 'FAIL'
    return `  ${mark} ${name.padEnd(9)} ${detail}${problem ? `  (${check?.code ?? 'error'}: ${problem})` : ''}${check?.hint ? `\n                 hint: ${check.hint}` : ''}`
  }
  const age =
    typeof j.oldestPendingAgeMs === 'number'
      ? `${Math.round(j.oldestPendingAgeMs / 1000)} s`
      : 'none'
  const r = s.rates
  return [
    `${s.node.hostname}: ${s.status.toUpperCase()} (Sluice ${s.version}, up ${s.node.uptimeSeconds} s)`,
    line('journal', j, `${String(j.state)}, backlog ${String(j.backlog)}, oldest ${age}`),
    line(
      'broker',
      c.broker,
      `${String((c.broker?.name as string | undefined) ?? '?')} ${String(c.broker?.state)}, forwarder ${String(c.broker?.forwarder)}`,
    ),
    line(
      'database',
      c.database,
      `${String(c.database?.state)}${c.database?.consuming ? ', consuming' : ''}`,
    ),
    deliveriesLine(s.deliveries),
    `  rates/s   received ${r.receivedPerSecond}, stored ${r.storedPerSecond}, dead-lettered ${r.failedPerSecond} (last minute)`,
    `  dead letters ${s.deadLetters ?? 'unknown (database not up)'} (events that could not be stored: sluice dlq list)`,
    '',
  ].join('\n')
}

/** Outbound: WARN while a subscription fails or is paused (the engine is still ready). */
function deliveriesLine(d: Deliveries | undefined): string {
  if (!d) return '  ?    deliveries not reported by this engine'
  const n = (v: number | null | undefined) => (v === null || v === undefined ? '?' : String(v))
  const capped = d.pending !== null && d.pending >= PENDING_COUNT_CAP ? '+' : ''
  const oldest = d.oldestPendingSeconds === null ? '?' : `${Math.round(d.oldestPendingSeconds)} s`
  const trouble = (d.failingSubscriptions ?? 0) > 0 || (d.pausedSubscriptions ?? 0) > 0
  const detail = [
    `pending ${n(d.pending)}${capped}, oldest ${oldest}`,
    `delivered ${d.deliveredPerSecond}/s, failed attempts ${d.failedPerSecond}/s`,
    `subscriptions failing ${n(d.failingSubscriptions)}, paused ${n(d.pausedSubscriptions)}`,
  ].join('; ')
  const hint = trouble
    ? '\n                 hint: sluice subscriptions list; the operator page; GET /v1/deliveries/:id'
    : ''
  return `  ${trouble ? 'WARN' : 'ok  '} deliveries ${detail}${hint}`
}

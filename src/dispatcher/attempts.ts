import type { Dispatcher as UndiciDispatcher } from 'undici'
import type { ClaimedDelivery } from '../db/deliveries.js'
import type { DeliveryResult, RecordOutcome } from '../db/delivery-results.js'
import { attemptDelivery, type AttemptResult } from '../outbound/attempt.js'
import { sleep } from '../util/backoff.js'
import type { Lane } from './lanes.js'
import {
  attemptSeconds,
  deliveriesTotal,
  flowTransitions,
  ssrfRefusals,
  subscriptionsDisabled,
} from './metrics.js'
import type { ResolvedOptions } from './options.js'
import { attemptRequest } from './request.js'
import { FailureLog } from './failure-log.js'
import { decide, signalOf, type Decision } from './schedule.js'
import type { CachedSubscription } from './subscription-cache.js'
import type { ResultWriter } from './result-writer.js'
import { deliverSpan, endDeliverSpan } from './trace.js'

export interface AttemptEvents {
  /** Recording disabled, paused or resumed subscriptions: the cache should know. */
  changed(outcome: RecordOutcome): void
  /** The earliest retry just recorded is due at `at` (ms since the epoch). */
  retryAt(at: number): void
}

/**
 * The attempts in progress on this node: each one POSTs (src/outbound/attempt.ts), applies the
 * contract's rules (schedule.ts decide), tells its lane's flow control and queues its result.
 */
export class Attempts {
  private readonly running = new Map<string, Promise<void>>()
  /** Ended attempts whose result is not written yet: their lease still counts in their lane. */
  private readonly unwritten = new Map<string, Lane>()
  private readonly failureLog = new FailureLog(() => this.o.logger)

  constructor(
    private readonly o: ResolvedOptions,
    private readonly agent: UndiciDispatcher,
    private readonly writer: ResultWriter,
    private readonly events: AttemptEvents,
  ) {}

  /** Attempts running or waiting for their result to be written (leases held). */
  get size(): number {
    return this.running.size + this.unwritten.size
  }

  /** Being attempted, or its result not written yet. */
  has(id: string): boolean {
    return this.running.has(id) || this.unwritten.has(id)
  }

  ids(): IterableIterator<string> {
    return this.running.keys()
  }

  run(d: ClaimedDelivery, sub: CachedSubscription, lane: Lane, probe: boolean): void {
    const done = this.attempt(d, sub, lane, probe)
      .catch((err: unknown) => {
        this.o.logger?.error({ err, delivery: d.id }, 'attempt crashed')
        // No result to write: its lease expires and it is attempted again.
        if (!this.unwritten.has(d.id)) lane.released()
      })
      .finally(() => this.running.delete(d.id))
    this.running.set(d.id, done)
  }

  /** Wait up to `graceMs` for the attempts in progress and the writes of their results. */
  async settle(graceMs: number): Promise<void> {
    const timeUp = new AbortController()
    const all = Promise.all(this.running.values()).then(() => this.writer.flushed())
    await Promise.race([all, sleep(graceMs, timeUp.signal)])
    timeUp.abort()
    // Closing: what the log left out so far is summarised now, not never.
    this.failureLog.flush()
  }

  private async attempt(
    d: ClaimedDelivery,
    sub: CachedSubscription,
    lane: Lane,
    probe: boolean,
  ): Promise<void> {
    const attemptedAt = new Date()
    let result: AttemptResult | null = null
    let decision: Decision
    if (d.body === null) {
      // Retention dropped the event: nothing to send, and not the subscriber's doing.
      decision = { status: 'failed', nextAttemptAt: null, effect: 'none' }
    } else {
      const body = d.body
      const span = this.o.tracer ? deliverSpan(this.o.tracer, d, sub) : null
      const req = attemptRequest({ ...d, body }, sub, attemptedAt.getTime())
      result = await attemptDelivery(span ? { ...req, traceparent: span.traceparent } : req, {
        dispatcher: this.agent,
        timeoutMs: this.o.timeoutMs,
      })
      if (span) endDeliverSpan(span, result)
      decision = decide(d.attempts, result, this.o.schedule, Date.now(), Math.random, probe)
      attemptSeconds.observe({ result: result.outcome }, result.durationMs / 1000)
      if ('error' in result && result.error === 'ssrf_refused') ssrfRefusals.inc()
    }
    const signal = result ? signalOf(result) : ({ kind: 'neutral' } as const)
    const moved = lane.finished(d.id, signal, attemptedAt.getTime(), Date.now())
    if (moved) flowTransitions.inc({ to: moved })
    this.unwritten.set(d.id, lane)
    const r = {
      ...toResult(d, attemptedAt, decision, result),
      congested: signal.kind === 'congestion',
    }
    this.failureLog.attempted(r, sub.url, d.attempts + 1)
    this.writer.push(r)
  }

  /** Metrics of what the database accepted; a result whose lease had passed on is `stale`. */
  written(batch: readonly DeliveryResult[], outcome: RecordOutcome): void {
    let next = Infinity
    for (const r of batch) {
      this.unwritten.get(r.id)?.released()
      this.unwritten.delete(r.id)
      const recorded = outcome.recorded.has(r.id)
      deliveriesTotal.inc({ outcome: recorded ? outcomeOf(r) : 'stale' })
      if (recorded && r.nextAttemptAt) next = Math.min(next, r.nextAttemptAt.getTime())
    }
    if (next < Infinity) this.events.retryAt(next)
    for (const { id, reason } of outcome.disabled) {
      subscriptionsDisabled.inc({ reason: reason.includes('410') ? 'gone' : 'failing' })
      this.o.logger?.warn({ subscription: id, reason }, 'subscription disabled')
    }
    if (outcome.disabled.length + outcome.paused.length + outcome.resumed.length > 0) {
      this.events.changed(outcome)
    }
  }
}

function outcomeOf(r: DeliveryResult): string {
  if (r.status === 'succeeded') return 'succeeded'
  if (r.effect === 'gone') return 'gone'
  return r.status === 'pending' ? 'retried' : 'failed'
}

function toResult(
  d: ClaimedDelivery,
  attemptedAt: Date,
  decision: Decision,
  result: AttemptResult | null,
): DeliveryResult {
  const failure = result && 'error' in result ? result : null
  return {
    id: d.id,
    subscriptionId: d.subscriptionId,
    ...decision,
    attemptedAt,
    durationMs: result?.durationMs ?? 0,
    statusCode: result?.status ?? null,
    error: result ? (failure?.error ?? null) : 'event_missing',
    message: result
      ? (failure?.message ?? null)
      : 'the event is no longer stored (SLUICE_RETENTION_DAYS)',
    excerpt: result?.excerpt ?? '',
    truncated: result?.truncated ?? false,
  }
}

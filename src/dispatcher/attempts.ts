import type { Dispatcher as UndiciDispatcher } from 'undici'
import type { ClaimedDelivery } from '../db/deliveries.js'
import type { DeliveryResult, RecordOutcome } from '../db/delivery-results.js'
import { attemptDelivery, type AttemptResult } from '../outbound/attempt.js'
import { sleep } from '../util/backoff.js'
import type { Lane } from './lanes.js'
import {
  attemptSeconds,
  breakerTransitions,
  deliveriesTotal,
  ssrfRefusals,
  subscriptionsDisabled,
} from './metrics.js'
import type { ResolvedOptions } from './options.js'
import { attemptRequest } from './request.js'
import { FailureLog } from './failure-log.js'
import { decide, type Decision } from './schedule.js'
import type { CachedSubscription } from './subscription-cache.js'
import type { ResultWriter } from './result-writer.js'

export interface AttemptEvents {
  /** Recording disabled subscriptions (410, failing too long). */
  disabled(): void
  /** The earliest retry just recorded is due at `at` (ms since the epoch). */
  retryAt(at: number): void
}

/**
 * The attempts in progress on this node: each one POSTs (src/outbound/attempt.ts), applies the
 * contract's rules (schedule.ts decide), updates its lane's breaker and queues its result.
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

  ids(): IterableIterator<string> {
    return this.running.keys()
  }

  run(d: ClaimedDelivery, sub: CachedSubscription, lane: Lane): void {
    const done = this.attempt(d, sub, lane)
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
  }

  private async attempt(d: ClaimedDelivery, sub: CachedSubscription, lane: Lane): Promise<void> {
    const attemptedAt = new Date()
    let result: AttemptResult | null = null
    let decision: Decision
    if (d.body === null) {
      // Retention dropped the event: nothing to send, and not the subscriber's doing.
      decision = { status: 'failed', nextAttemptAt: null, effect: 'none' }
    } else {
      const body = d.body
      result = await attemptDelivery(attemptRequest({ ...d, body }, sub, attemptedAt.getTime()), {
        dispatcher: this.agent,
        timeoutMs: this.o.timeoutMs,
      })
      decision = decide(d.attempts, result, this.o.schedule, Date.now())
      attemptSeconds.observe({ result: result.outcome }, result.durationMs / 1000)
      if ('error' in result && result.error === 'ssrf_refused') ssrfRefusals.inc()
    }
    const moved = lane.finished(
      decision.effect === 'success' ? true : decision.effect === 'failure' ? false : null,
      Date.now(),
    )
    if (moved) {
      breakerTransitions.inc({ to: moved })
      this.o.logger?.info({ subscription: sub.id, breaker: moved }, 'circuit breaker moved')
    }
    this.unwritten.set(d.id, lane)
    const r = toResult(d, attemptedAt, decision, result)
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
    if (outcome.disabled.length > 0) this.events.disabled()
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

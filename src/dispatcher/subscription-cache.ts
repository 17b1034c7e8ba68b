import type pg from 'pg'
import type { Logger } from '../log.js'
import type { SecretBox } from '../util/secret-box.js'
import { sleep } from '../util/backoff.js'
import type { LaneLimits } from './lanes.js'

/** What the dispatcher needs of one active subscription, its secrets opened. */
export interface CachedSubscription extends LaneLimits {
  readonly id: string
  readonly url: string
  readonly headers: Readonly<Record<string, string>>
  readonly payload: Readonly<Record<string, unknown>> | null
  readonly secret: string
  /** The secret before a rotation, signing too until previousUntil (ms since the epoch). */
  readonly previousSecret: string | null
  readonly previousUntil: number | null
  /** Its deliveries are ordered by a key (src/db/ordering.ts). */
  readonly ordered: boolean
}

/** Every secret that signs at `nowMs`: the previous one only during its grace period. */
export function secretsAt(sub: CachedSubscription, nowMs: number): string[] {
  const previous = sub.previousSecret !== null && (sub.previousUntil ?? 0) > nowMs
  return previous ? [sub.secret, sub.previousSecret] : [sub.secret]
}

interface Row {
  id: string
  url: string
  headers: Record<string, string>
  payload: Record<string, unknown> | null
  secret: Buffer
  previous_secret: Buffer | null
  previous_secret_until: Date | null
  rate_per_second: number | null
  rate_burst: number | null
  max_in_flight: number
  paused: boolean
  ordered: boolean
}

// Every write of the admin API and of the dispatcher sets updated_at: a change of any row
// changes this digest, whatever order the transactions committed in (max(updated_at) would miss
// a transaction that started earlier and committed later).
const DIGEST = `SELECT count(*)::int AS n, coalesce(md5(string_agg(id::text || updated_at::text ||
  status, ',' ORDER BY id)), '') AS digest FROM subscriptions`

/**
 * The active subscriptions of this node, in memory. The poll (every `pollMs`, a one-row digest
 * query) is the truth; a NOTIFY sluice_subscriptions (refresh()) only makes it sooner. A
 * secret that does not open under this node's key leaves its subscription out, logged: its
 * deliveries wait rather than go unsigned.
 */
export class SubscriptionCache {
  private subs = new Map<string, CachedSubscription>()
  private digest = ''
  private refreshing: Promise<void> | null = null
  private again = false
  private readonly stop = new AbortController()
  private loop: Promise<void> | null = null
  private readonly opened = new Map<string, string>()
  private readonly unreadable = new Set<string>()

  constructor(
    private readonly pool: pg.Pool,
    private readonly box: SecretBox,
    private readonly options: {
      pollMs: number
      logger?: Logger | undefined
      onChange?: () => void
    },
  ) {}

  /** Load once (throws if the database is not there), then poll until close(). */
  async start(): Promise<void> {
    await this.load()
    this.loop ??= this.poll()
  }

  get(id: string): CachedSubscription | undefined {
    return this.subs.get(id)
  }

  all(): IterableIterator<CachedSubscription> {
    return this.subs.values()
  }

  /** Any subscription orders its deliveries. */
  hasOrdered(): boolean {
    for (const s of this.subs.values()) if (s.ordered) return true
    return false
  }

  /** Reload now (a notification said something changed); concurrent calls share one load. */
  refresh(): Promise<void> {
    if (this.refreshing) {
      this.again = true
      return this.refreshing
    }
    this.refreshing = (async () => {
      try {
        do {
          this.again = false
          await this.load()
        } while (this.again)
      } finally {
        this.refreshing = null
      }
    })()
    return this.refreshing
  }

  close(): Promise<void> {
    this.stop.abort()
    return this.loop ?? Promise.resolve()
  }

  private async poll(): Promise<void> {
    while (!this.stop.signal.aborted) {
      await sleep(this.options.pollMs, this.stop.signal)
      if (this.stop.signal.aborted) return
      try {
        const { rows } = await this.pool.query<{ n: number; digest: string }>(DIGEST)
        const digest = `${rows[0]?.n}:${rows[0]?.digest}`
        if (digest !== this.digest) await this.refresh()
      } catch (err) {
        this.options.logger?.warn({ err }, 'subscription poll failed; keeping the cached ones')
      }
    }
  }

  private async load(): Promise<void> {
    const digest = await this.pool.query<{ n: number; digest: string }>(DIGEST)
    const { rows } = await this.pool.query<Row>(
      `SELECT id, url, headers, payload, secret, previous_secret, previous_secret_until,
         rate_per_second, rate_burst, max_in_flight, paused_at IS NOT NULL AS paused,
         ordering_path IS NOT NULL AS ordered
       FROM subscriptions WHERE status = 'active'`,
    )
    const next = new Map<string, CachedSubscription>()
    for (const r of rows) {
      const secret = this.open(r.id, r.secret)
      if (secret === null) continue
      next.set(r.id, {
        id: r.id,
        url: r.url,
        headers: r.headers,
        payload: r.payload,
        secret,
        previousSecret: r.previous_secret ? this.open(r.id, r.previous_secret) : null,
        previousUntil: r.previous_secret_until?.getTime() ?? null,
        maxInFlight: r.max_in_flight,
        paused: r.paused,
        ordered: r.ordered,
        rate:
          r.rate_per_second === null
            ? null
            : { perSecond: r.rate_per_second, burst: Math.max(1, r.rate_burst ?? 1) },
      })
    }
    this.subs = next
    this.digest = `${digest.rows[0]?.n}:${digest.rows[0]?.digest}`
    this.options.onChange?.()
  }

  /** Opening is memoised by the sealed bytes: a reload does not decrypt every secret again. */
  private open(id: string, sealed: Buffer): string | null {
    const key = sealed.toString('base64')
    const known = this.opened.get(key)
    if (known !== undefined) return known
    try {
      const secret = this.box.open(sealed)
      if (this.opened.size > 10_000) this.opened.clear()
      this.opened.set(key, secret)
      this.unreadable.delete(id)
      return secret
    } catch (err) {
      if (!this.unreadable.has(id)) {
        this.unreadable.add(id)
        this.options.logger?.error(
          { err, subscription: id },
          "a subscription secret does not open with this node's key (SLUICE_SECRET_KEY); its deliveries wait",
        )
      }
      return null
    }
  }
}

import { parseAmqpUrls } from './urls.js'

export interface RabbitBrokerOptions {
  /**
   * amqp:// or amqps:// URL (AMQP_URL), or the nodes of one cluster: a comma-separated list or
   * an array. The first that answers is used; on losing it, the next ones are tried. Required.
   */
  url: string | readonly string[]
  /** Main queue (SLUICE_QUEUE); `<queue>.retry` is derived. Required. */
  queue: string
  /** Queue type of the main and retry queues, when Sluice creates them (SLUICE_QUEUE_TYPE). @defaultValue 'quorum' */
  queueType?: 'quorum' | 'classic'
  /** Published messages awaiting the broker's confirm, at most (the confirm window). @defaultValue 256 */
  confirmWindow?: number
  /** First reconnect delay; doubles per failed attempt, with jitter. @defaultValue 250 */
  reconnectBaseMs?: number
  /**
   * Longest reconnect delay. Short enough that the backlog starts draining within seconds of the
   * broker's return; one attempt per 5 s is no load on a broker that is down. @defaultValue 5000
   */
  reconnectMaxMs?: number
  /** A publish whose confirms (or an `unblocked`, or a `drain`) take longer than this rejects. @defaultValue 30000 */
  publishTimeoutMs?: number
  /** TCP connect + AMQP handshake timeout. @defaultValue 10000 */
  connectTimeoutMs?: number
  /** AMQP heartbeat in seconds, unless the URL sets one; detects a silently dead link. @defaultValue 10 */
  heartbeatSeconds?: number
  /** Reconnect delay while the last failure was one retrying cannot fix (bad credentials, a queue declared with other arguments). @defaultValue 30000 */
  permanentRetryMs?: number
  /** Events per message at most (SLUICE_ENVELOPE_EVENTS). @defaultValue 50 */
  envelopeEvents?: number
  /** Envelope bytes per message at most (SLUICE_ENVELOPE_BYTES); a larger event travels alone. @defaultValue 1048576 */
  envelopeBytes?: number
  /** Largest event accepted; RabbitMQ 4 refuses messages over 16 MiB by default (max_message_size). @defaultValue 16711680 */
  maxEventBytes?: number
}

export const rabbitBrokerDefaults: Readonly<Required<Omit<RabbitBrokerOptions, 'url' | 'queue'>>> =
  Object.freeze({
    queueType: 'quorum',
    confirmWindow: 256,
    reconnectBaseMs: 250,
    reconnectMaxMs: 5_000,
    publishTimeoutMs: 30_000,
    connectTimeoutMs: 10_000,
    heartbeatSeconds: 10,
    permanentRetryMs: 30_000,
    envelopeEvents: 50,
    envelopeBytes: 1_048_576,
    maxEventBytes: 16 * 1024 * 1024 - 64 * 1024,
  })

const positiveInt = (v: unknown) => Number.isSafeInteger(v) && (v as number) > 0

export type ResolvedRabbitOptions = Required<RabbitBrokerOptions> & {
  /** `url` as its list of node URLs, in the order they are tried. */
  urls: readonly string[]
}

export function resolveRabbitOptions(options: RabbitBrokerOptions): ResolvedRabbitOptions {
  if (options === null || typeof options !== 'object') {
    throw new TypeError('options must be an object')
  }
  const o = { ...rabbitBrokerDefaults, ...options }
  const urls = parseAmqpUrls(
    Array.isArray(o.url) ? o.url.join(',') : (o.url as string),
    'options.url',
  )
  if (typeof o.queue !== 'string' || !/^[\w.:-]{1,200}$/.test(o.queue)) {
    throw new TypeError('options.queue must be 1-200 characters of letters, digits, . _ : -')
  }
  if (o.queueType !== 'quorum' && o.queueType !== 'classic') {
    throw new TypeError("options.queueType must be 'quorum' or 'classic'")
  }
  for (const k of [
    'confirmWindow',
    'reconnectBaseMs',
    'reconnectMaxMs',
    'publishTimeoutMs',
    'connectTimeoutMs',
    'heartbeatSeconds',
    'permanentRetryMs',
    'envelopeEvents',
    'envelopeBytes',
    'maxEventBytes',
  ] as const) {
    if (!positiveInt(o[k])) throw new TypeError(`options.${k} must be a positive integer`)
  }
  if (o.reconnectMaxMs < o.reconnectBaseMs) {
    throw new TypeError('options.reconnectMaxMs must be at least options.reconnectBaseMs')
  }
  return { ...o, urls }
}

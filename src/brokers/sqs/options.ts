import type { SQSClient } from '@aws-sdk/client-sqs'

export interface SqsBrokerOptions {
  /** The queue (SQS_QUEUE_URL). Required. */
  queueUrl: string
  /**
   * Where Sluice 0.1 kept dead letters (SQS_DLQ_URL): when set, what it holds is moved into
   * Postgres at start. Nothing is sent to it any more.
   */
  dlqUrl?: string
  /**
   * Endpoint every call goes to (AWS_ENDPOINT_URL_SQS), whatever host the queue URL names: an
   * emulator's queue URLs often name hosts that do not resolve. Unset: the SDK's own resolution.
   */
  endpoint?: string
  /** @defaultValue process.env.AWS_REGION, else the region in the queue URL, else 'us-east-1' */
  region?: string
  /** A client to use instead of creating one (it is not destroyed by close()). */
  client?: SQSClient
  /** Events per message at most (SLUICE_ENVELOPE_EVENTS). @defaultValue 50 */
  envelopeEvents?: number
  /** Envelope bytes per message at most (SLUICE_ENVELOPE_BYTES); capped to what fits one SQS message. @defaultValue 1048576 */
  envelopeBytes?: number
  /** Long-poll wait of each receive, in seconds (0-20). @defaultValue 20 */
  waitTimeSeconds?: number
  /** Visibility timeout of received messages, in seconds; extended every third of it while unacked. @defaultValue 30 */
  visibilityTimeoutSeconds?: number
  /** SendMessageBatch calls in flight per publish. @defaultValue 4 */
  sendConcurrency?: number
  /** Times the entries listed in a batch's `Failed` are sent again before they count as unconfirmed. @defaultValue 3 */
  publishRetries?: number
  /** First delay after a failed receive; doubles with jitter. @defaultValue 250 */
  reconnectBaseMs?: number
  /** Longest delay after failed receives. @defaultValue 20000 */
  reconnectMaxMs?: number
}

type Defaults = Required<
  Omit<SqsBrokerOptions, 'queueUrl' | 'dlqUrl' | 'endpoint' | 'region' | 'client'>
>

export const sqsBrokerDefaults: Readonly<Defaults> = Object.freeze({
  envelopeEvents: 50,
  envelopeBytes: 1_048_576,
  waitTimeSeconds: 20,
  visibilityTimeoutSeconds: 30,
  sendConcurrency: 4,
  publishRetries: 3,
  reconnectBaseMs: 250,
  reconnectMaxMs: 20_000,
})

export type ResolvedSqsOptions = Defaults & Omit<SqsBrokerOptions, keyof Defaults>

const intIn = (v: unknown, min: number, max: number) =>
  Number.isSafeInteger(v) && (v as number) >= min && (v as number) <= max

const isUrl = (v: unknown) => {
  try {
    return typeof v === 'string' && Boolean(new URL(v).host)
  } catch {
    return false
  }
}

export function resolveSqsOptions(options: SqsBrokerOptions): ResolvedSqsOptions {
  if (options === null || typeof options !== 'object') {
    throw new TypeError('options must be an object')
  }
  const o = { ...sqsBrokerDefaults, ...options }
  if (!isUrl(o.queueUrl)) throw new TypeError('options.queueUrl must be the URL of an SQS queue')
  if (o.dlqUrl !== undefined && !isUrl(o.dlqUrl)) {
    throw new TypeError('options.dlqUrl must be the URL of an SQS queue')
  }
  if (o.endpoint !== undefined && !isUrl(o.endpoint))
    throw new TypeError('options.endpoint must be a URL')
  if (o.region !== undefined && (typeof o.region !== 'string' || o.region === '')) {
    throw new TypeError('options.region must be a non-empty string')
  }
  if (!intIn(o.waitTimeSeconds, 0, 20)) {
    throw new TypeError('options.waitTimeSeconds must be an integer from 0 to 20')
  }
  if (!intIn(o.visibilityTimeoutSeconds, 3, 43_200)) {
    throw new TypeError('options.visibilityTimeoutSeconds must be an integer from 3 to 43200')
  }
  if (!intIn(o.publishRetries, 0, 100)) {
    throw new TypeError('options.publishRetries must be an integer from 0 to 100')
  }
  for (const k of [
    'envelopeEvents',
    'envelopeBytes',
    'sendConcurrency',
    'reconnectBaseMs',
    'reconnectMaxMs',
  ] as const) {
    if (!intIn(o[k], 1, Number.MAX_SAFE_INTEGER)) {
      throw new TypeError(`options.${k} must be a positive integer`)
    }
  }
  return o
}

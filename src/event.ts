/**
 * One webhook event as it travels the pipeline: journal entry -> broker message -> worker -> row.
 * The body is the exact bytes received; headers are lower-cased.
 */
export interface WebhookEvent {
  /** Event id (contract: Idempotency-Key, sender's delivery id, else UUIDv7). */
  id: string
  /** Source name (`default` for `POST /webhook`). */
  source: string
  /** When the journal committed the event, in milliseconds since the epoch. */
  receivedAt: number
  contentType: string
  headers: Record<string, string>
  body: Buffer
  /** Signature scheme that verified the event (`github`, `stripe`, ...), null when unsigned. */
  verifiedBy: string | null
}

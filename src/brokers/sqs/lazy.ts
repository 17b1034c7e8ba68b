import type { Logger } from '../../log.js'
import type { WebhookEvent } from '../../event.js'
import type {
  Broker,
  BrokerFeatures,
  BrokerState,
  Delivery,
  LegacyDeadLetter,
  LegacyDeadLetterSource,
  SubscribeOptions,
} from '../types.js'
import { BrokerUnavailableError } from '../errors.js'
import type { SqsBroker } from './broker.js'
import { SQS_MAX_EVENT_BYTES } from './envelope.js'
import { resolveSqsOptions, type SqsBrokerOptions } from './options.js'

/**
 * The SQS adapter as the factory hands it out: the same Broker, but the AWS SDK (a few MB of
 * modules, a noticeable share of start-up) is imported on first use, so engines on the local
 * queue or RabbitMQ never load it. Only type imports and SDK-free modules above: keep it so
 * (test/lazy-sdk.test.ts checks). Options are still checked here, at construction.
 */
export class LazySqsBroker implements Broker, LegacyDeadLetterSource {
  readonly name = 'sqs'
  readonly features: BrokerFeatures = Object.freeze({ maxEventBytes: SQS_MAX_EVENT_BYTES })
  private inner: SqsBroker | null = null
  private loading: Promise<SqsBroker> | null = null
  private closing: Promise<void> | null = null

  constructor(
    private readonly options: SqsBrokerOptions,
    private readonly logger?: Logger,
  ) {
    resolveSqsOptions(options)
  }

  private load(): Promise<SqsBroker> {
    if (this.closing && !this.loading) {
      return Promise.reject(new BrokerUnavailableError('broker is closed'))
    }
    this.loading ??= import('./broker.js').then(({ SqsBroker }) => {
      this.inner = new SqsBroker(this.options, this.logger)
      return this.inner
    })
    return this.loading
  }

  async start(): Promise<void> {
    await (await this.load()).start()
  }

  state(): BrokerState {
    if (this.closing) return 'closed'
    return this.inner?.state() ?? 'connecting'
  }

  async publish(events: readonly WebhookEvent[]): Promise<boolean[]> {
    return (await this.load()).publish(events)
  }

  async subscribe(handler: (d: Delivery) => void, options: SubscribeOptions): Promise<void> {
    return (await this.load()).subscribe(handler, options)
  }

  async drainLegacyDeadLetters(
    take: (letters: LegacyDeadLetter[]) => Promise<void>,
  ): Promise<number> {
    return (await this.load()).drainLegacyDeadLetters(take)
  }

  /** Closes the adapter if it was loaded; a broker never used has nothing to close. */
  close(): Promise<void> {
    this.closing ??= (this.loading ?? Promise.resolve(null)).then((b) => b?.close())
    return this.closing
  }
}

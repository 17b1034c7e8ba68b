import { PermanentError } from '../../permanent-error.js'

/**
 * An AMQP error that retrying cannot fix, as a PermanentError (walking the `cause` chain); null
 * for anything else. amqplib reports a refused login only in the message text ("403
 * (ACCESS-REFUSED)") and an unknown vhost as an unexpected ConnectionClose; channel errors carry
 * the reply code.
 */
export function permanentRabbitError(err: unknown, queue: string): PermanentError | null {
  for (let e: unknown = err; e instanceof Error; e = e.cause) {
    const code = (e as { code?: unknown }).code
    const text = e.message
    if (code === 403 || /ACCESS[-_]REFUSED/.test(text) || /got <ConnectionClose/.test(text)) {
      return new PermanentError(
        'broker_access_denied',
        `RabbitMQ refused access: ${text}`,
        'check the user, password and vhost in AMQP_URL and that the user may configure, write and read the queues ' +
          `${queue} and ${queue}.retry`,
        { cause: err },
      )
    }
    if (code === 406 || /PRECONDITION[-_]FAILED/.test(text)) {
      return new PermanentError(
        'broker_misconfigured',
        `RabbitMQ refused the queue declaration: ${text}`,
        `delete or rename the queue that exists with other arguments, or set SLUICE_QUEUE_TYPE to match it`,
        { cause: err },
      )
    }
    if (code === 404) {
      return new PermanentError(
        'broker_queue_missing',
        `a RabbitMQ queue is missing: ${text}`,
        `check that ${queue} exists and was not deleted while the engine ran`,
        { cause: err },
      )
    }
  }
  return null
}

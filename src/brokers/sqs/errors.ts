import { PermanentError } from '../../permanent-error.js'

const MISSING = new Set(['QueueDoesNotExist', 'AWS.SimpleQueueService.NonExistentQueue'])
const DENIED = new Set([
  'AccessDenied',
  'AccessDeniedException',
  'InvalidClientTokenId',
  'SignatureDoesNotMatch',
  'UnrecognizedClientException',
  'InvalidSecurity',
  'KMS.AccessDeniedException',
])

/** An SQS error that retrying cannot fix, as a PermanentError; null for anything else. */
export function permanentSqsError(err: unknown, queueUrl: string): PermanentError | null {
  const e = err as { name?: unknown; Code?: unknown; message?: unknown }
  const names = [e.name, e.Code].filter((n): n is string => typeof n === 'string')
  const detail = typeof e.message === 'string' ? e.message : String(err)
  if (names.some((n) => MISSING.has(n))) {
    return new PermanentError(
      'broker_queue_missing',
      `the SQS queue ${queueUrl} does not exist: ${detail}`,
      'create the queue or fix SQS_QUEUE_URL (and AWS_REGION / AWS_ENDPOINT_URL_SQS)',
      { cause: err },
    )
  }
  if (names.some((n) => DENIED.has(n))) {
    return new PermanentError(
      'broker_access_denied',
      `SQS refused access to ${queueUrl}: ${detail}`,
      'check the AWS credentials and that their policy allows sqs:SendMessage, ReceiveMessage, DeleteMessage, ChangeMessageVisibility and GetQueueAttributes on the queue',
      { cause: err },
    )
  }
  return null
}

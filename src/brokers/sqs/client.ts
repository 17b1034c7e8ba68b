import { SQSClient } from '@aws-sdk/client-sqs'
import type { ResolvedSqsOptions } from './options.js'

/**
 * The SQS client. By default the SDK sends each call to the host named in its QueueUrl
 * (middleware-sdk-sqs queueUrlMiddleware) unless `endpoint` is set on the client itself;
 * AWS_ENDPOINT_URL_SQS read from the environment does not count. So the endpoint is passed
 * explicitly and useQueueUrlAsEndpoint turned off: with an emulator whose queue URLs name
 * `sqs.<region>.localhost`, every call still goes to the configured endpoint.
 */
export function createSqsClient(o: ResolvedSqsOptions): SQSClient {
  const endpoint = o.endpoint ?? process.env.AWS_ENDPOINT_URL_SQS ?? process.env.AWS_ENDPOINT_URL
  const region = o.region ?? process.env.AWS_REGION ?? regionOf(o.queueUrl) ?? 'us-east-1'
  return new SQSClient({
    region,
    ...(endpoint ? { endpoint, useQueueUrlAsEndpoint: false } : {}),
  })
}

/** `https://sqs.eu-west-1.amazonaws.com/123/q` -> eu-west-1 */
function regionOf(queueUrl: string): string | undefined {
  return /^sqs\.([a-z0-9-]+)\./.exec(new URL(queueUrl).hostname)?.[1]
}

import type { VerifyConfig } from './schema.js'
import type { Verifier, VerifierClock } from './verifiers/types.js'
import { githubVerifier } from './verifiers/github.js'
import { hmacVerifier } from './verifiers/hmac.js'
import { shopifyVerifier } from './verifiers/shopify.js'
import { slackVerifier } from './verifiers/slack.js'
import { standardWebhooksVerifier } from './verifiers/standard-webhooks.js'
import { stripeVerifier } from './verifiers/stripe.js'

export type { Verifier, VerifierClock } from './verifiers/types.js'
export { DEFAULT_TOLERANCE_SECONDS } from './verifiers/types.js'

/**
 * The verifier for one source's `verify` config. Throws TypeError (naming `where`, never the
 * secret) when a secret cannot be used, so a bad config stops start-up.
 */
export function createVerifier(
  config: VerifyConfig,
  clock: VerifierClock,
  where: string,
): Verifier {
  switch (config.type) {
    case 'github':
      return githubVerifier(config.secret)
    case 'shopify':
      return shopifyVerifier(config.secret)
    case 'hmac':
      return hmacVerifier({ ...config, secrets: config.secret, scheme: 'hmac' })
    case 'stripe':
      return stripeVerifier(config.secret, clock, config.toleranceSeconds)
    case 'slack':
      return slackVerifier(config.secret, clock, config.toleranceSeconds)
    case 'standard-webhooks':
      return standardWebhooksVerifier(config.secret, clock, config.toleranceSeconds, where)
  }
}

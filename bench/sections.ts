import { burstSection } from './burst/section.js'
import { deliveryCycleSection } from './delivery-cycle/section.js'
import { deliverySqlSection } from './delivery-sql/section.js'
import { e2eSection } from './e2e/section.js'
import { forwarderSection } from './forwarder/section.js'
import { ingestSection } from './ingest/section.js'
import { memorySection } from './memory/section.js'
import { outboundSection } from './outbound/section.js'
import { tracingSection } from './tracing/section.js'
import type { BenchSection } from './types.js'
import { verifySection } from './verify/section.js'

/**
 * Every benchmark section, in run order. Add yours here (see BenchSection in bench/types.ts).
 * Optional sections run only when named (`npm run bench -- delivery-sql`).
 */
export const sections: BenchSection[] = [
  ingestSection,
  verifySection,
  forwarderSection,
  e2eSection,
  burstSection,
  outboundSection,
  memorySection,
]
export const optionalSections: BenchSection[] = [
  deliverySqlSection,
  deliveryCycleSection,
  tracingSection,
]

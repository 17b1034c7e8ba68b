import { benchBareAmqp } from '../amqp-baseline.js'
import { round, uniqueName } from '../stages/services.js'
import type { BenchContext, BenchSection, SectionResult } from '../types.js'
import { benchOutageDrain } from './outage.js'
import { benchForwarder } from './throughput.js'

const BODY_BYTES = 5 * 1024
const EVENTS = Number(process.env.BENCH_FORWARDER_EVENTS ?? 20_000)
const ROUNDS = Number(process.env.BENCH_FORWARDER_ROUNDS ?? 2)
const OUTAGE_SECONDS = Number(process.env.BENCH_OUTAGE_SECONDS ?? 20)
const OUTAGE_RATE = Number(process.env.BENCH_OUTAGE_RATE ?? 2000)
const DRAIN_MAX = Number(process.env.BENCH_OUTAGE_DRAIN_MAX ?? 60)
const ENVELOPES = (process.env.BENCH_ENVELOPE_EVENTS ?? '1,10,50').split(',').map(Number)

/**
 * Issue 3: forwarder (journal -> RabbitMQ with confirms) against a bare amqplib confirm-channel
 * publisher of the same 5 KB messages, alternating, best of ROUNDS each (the machine is shared);
 * then the backlog drain rate after a broker outage under load.
 */
export const forwarderSection: BenchSection = {
  name: 'forwarder',
  description: `${EVENTS} x 5 KB journal -> RabbitMQ vs bare amqplib; ${OUTAGE_SECONDS} s outage at ${OUTAGE_RATE}/s`,
  async run(ctx: BenchContext): Promise<SectionResult> {
    const bare: number[] = []
    const fwd: number[] = []
    for (let r = 0; r < ROUNDS; r++) {
      const steps = [
        async () => {
          ctx.log(`bare amqplib confirm channel, ${EVENTS} messages`)
          const q = uniqueName('sluice_bench_bare')
          bare.push(
            (await benchBareAmqp({ queue: q, messages: EVENTS, bodyBytes: BODY_BYTES })).perSecond,
          )
        },
        async () => {
          ctx.log(`forwarder draining ${EVENTS} journal entries`)
          const q = uniqueName('sluice_bench_fwd')
          fwd.push(
            (await benchForwarder({ queue: q, events: EVENTS, bodyBytes: BODY_BYTES })).perSecond,
          )
        },
      ]
      for (const step of r % 2 ? steps.reverse() : steps) await step()
    }
    // The same drain at several envelope sizes (events per RabbitMQ message).
    const sweep: { events: number; perSecond: number }[] = []
    for (const size of ENVELOPES) {
      ctx.log(`forwarder draining ${EVENTS} journal entries, ${size} per message`)
      const q = uniqueName('sluice_bench_env')
      const r = await benchForwarder({
        queue: q,
        events: EVENTS,
        bodyBytes: BODY_BYTES,
        envelopeEvents: size,
      })
      sweep.push({ events: size, perSecond: r.perSecond })
    }
    const bestBare = Math.max(...bare)
    const bestFwd = Math.max(...fwd)
    const ratio = bestBare > 0 ? bestFwd / bestBare : 0

    ctx.log(`outage: engine under ${OUTAGE_RATE} events/s, broker cut for ${OUTAGE_SECONDS} s`)
    const outage = await benchOutageDrain(ctx, {
      outageSeconds: OUTAGE_SECONDS,
      rate: OUTAGE_RATE,
      warmSeconds: 5,
      drainMaxSeconds: DRAIN_MAX,
      bodyBytes: BODY_BYTES,
    })
    const { samples, ...outageSummary } = outage
    return {
      tables: [
        {
          title: `forwarder: ${EVENTS} x 5 KB, quorum queue, confirms; best of ${ROUNDS} (all runs listed)`,
          rows: [
            { publisher: 'bare amqplib confirm channel', 'msg/s': bestBare, runs: bare.join(' ') },
            {
              publisher: 'Forwarder (journal -> RabbitBroker)',
              'msg/s': bestFwd,
              runs: fwd.join(' '),
            },
          ],
        },
        {
          title: `forwarder: backlog after a ${OUTAGE_SECONDS} s broker outage at ${OUTAGE_RATE} events/s offered`,
          rows: [
            {
              'backlog before': outage.backlogBefore,
              'backlog peak': outage.backlogPeak,
              'reconnect s': outage.reconnectSeconds,
              'drain s': outage.drainSeconds,
              'net drain ev/s': outage.netDrainPerSecond,
              'forwarded ev/s': outage.drainPerSecond,
              'posts non-2xx': outage.load.non2xx + outage.load.errors + outage.load.timeouts,
            },
          ],
        },
        {
          title: `forwarder: ${EVENTS} x 5 KB by events per message (SLUICE_ENVELOPE_EVENTS)`,
          rows: sweep.map((r) => ({ 'events/message': r.events, 'events/s': r.perSecond })),
        },
        {
          title: 'forwarder targets',
          rows: [{ metric: 'forwarder / bare amqplib', target: '>= 0.8', reached: round(ratio) }],
        },
      ],
      data: {
        bodyBytes: BODY_BYTES,
        events: EVENTS,
        bareRuns: bare,
        forwarderRuns: fwd,
        ratio,
        envelopeSweep: sweep,
        outage: outageSummary,
        outageSamples: samples,
      },
    }
  },
}

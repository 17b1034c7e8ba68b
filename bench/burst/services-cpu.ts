import {
  processesBetween,
  sampleProcessesNamed,
  type CpuGroup,
  type ProcessesSample,
} from './threads.js'

/**
 * CPU of what stores an event beside the engine, from /proc: the Postgres backends of the run's
 * database (the engine's connections; their process title names the database), the cluster's
 * own writers (walwriter, checkpointer, background writer, autovacuum: the WAL and pages those
 * rows cause, shared with whatever else the machine writes meanwhile) and RabbitMQ's beam.smp of
 * the system node (its home is /var/lib/rabbitmq; shared with other users of that broker).
 */
export interface ServicesSample {
  pgBackends: ProcessesSample
  pgWriters: ProcessesSample
  rabbit: ProcessesSample
}

const WRITERS = ['walwriter', 'checkpointer', 'background writer', 'autovacuum']

function sampleWriters(): ProcessesSample {
  const ticks = new Map<number, number>()
  for (const w of WRITERS) {
    for (const [pid, t] of sampleProcessesNamed('postgres', `: ${w}`).ticks) ticks.set(pid, t)
  }
  return { ticks }
}

export function sampleServices(database: string): ServicesSample {
  return {
    // `postgres: <cluster>: <user> <db> <host> <state>`
    pgBackends: sampleProcessesNamed('postgres', ` ${database} `),
    pgWriters: sampleWriters(),
    rabbit: sampleProcessesNamed('beam.smp', '/var/lib/rabbitmq'),
  }
}

export interface ServicesCpu {
  pgBackends: CpuGroup
  pgWriters: CpuGroup
  rabbit: CpuGroup
}

/** CPU between two samples per group, in µs over `events` (the rows stored). */
export function servicesBetween(a: ServicesSample, database: string, events: number): ServicesCpu {
  const b = sampleServices(database)
  return {
    pgBackends: processesBetween(
      'postgres: run database backends',
      a.pgBackends,
      b.pgBackends,
      events,
    ),
    pgWriters: processesBetween(
      'postgres: wal/checkpoint/bg writers, autovacuum',
      a.pgWriters,
      b.pgWriters,
      events,
    ),
    rabbit: processesBetween('rabbitmq (beam.smp)', a.rabbit, b.rabbit, events),
  }
}

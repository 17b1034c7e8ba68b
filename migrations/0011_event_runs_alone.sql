-- The crash-loop guard (src/consumer/crash-guard.ts). The events of a message delivered more
-- often than SLUICE_MAX_ATTEMPTS without being settled (the engine died on it each time) are
-- stored one at a time, each with a row here from just before its run until just after it. A
-- row found at the next delivery names the event the engine died on: that one is dead-lettered
-- and its envelope-mates are stored, instead of all of them dead-lettered unprocessed.
-- `owner` is the engine instance that began the run (a random id per start): its own rows are
-- runs still in flight (or given up without dying), never a death, to that same instance.
CREATE TABLE event_runs_alone (
  source text NOT NULL,
  id text NOT NULL,
  owner text NOT NULL,
  started_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (source, id)
);

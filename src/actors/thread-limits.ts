import type { ResourceLimits } from 'node:worker_threads'

/**
 * V8 heap limits of the engine's worker threads (pipeline, dispatcher, checkpointer, embedded
 * database, the Piscina workers). V8's young generation grows to 3 x 16 MB per isolate when a
 * thread allocates fast, and what it grew stays resident while the thread lives: with six
 * isolates that was the larger part of the engine's RSS above Node's own. These threads keep
 * little alive between messages, so a small young generation costs them only more frequent,
 * short scavenges. The HTTP thread (Node's main isolate) keeps V8's defaults.
 */
export const workerResourceLimits: ResourceLimits = {
  maxYoungGenerationSizeMb: 6,
}

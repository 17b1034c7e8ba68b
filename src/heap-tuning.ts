import { setFlagsFromString } from 'node:v8'

/**
 * The old generation each engine thread may fill before its first full GC, and the least V8
 * lets it grow to after one. V8 sizes that limit from the live heap, a few MB for most of the
 * engine's threads, and counts ArrayBuffer memory allocated since the last full GC against it:
 * at a few thousand 5 KB events a second the pipeline and store threads then ran a full GC
 * (marking on V8's helper threads) about every half second while their live heaps stayed
 * under 20 MB (`npm run bench -- burst`, bench/README.md).
 */
const THREAD_OLD_SPACE_MB = 64

/**
 * The most each of the young generation's two semi-spaces may grow to. V8's default (16 MB on
 * 64-bit) lets every busy thread commit 32 MB of new space, and a Buffer whose wrapper is young
 * frees its memory only at the scavenge after it died: between two scavenges a thread reading
 * 5 KB bodies holds tens of MB of dead ones (Node 24's default is larger still). With 4 MB and
 * the journal's window at 16 MiB the burst benchmark's peak RSS fell from about 500 to 370 MB,
 * and its CPU per event did not rise (bench/README.md, issue 20).
 */
export const SEMI_SPACE_MB = 4

/**
 * The flags the engine's launch lines (`npm start`, the image's ENTRYPOINT, the systemd unit)
 * give Node: the main thread's heap exists before any code runs, so only the command line can
 * size its young generation. tuneThreadHeaps sets the same for the threads when they are absent.
 */
const SEMI_SPACE_FLAG = `--max-semi-space-size=${SEMI_SPACE_MB}`

/**
 * Every isolate collects its own garbage on its own thread, with no help from V8's platform
 * workers (no parallel scavenges, no concurrent marking or sweeping). On the two cores the
 * engine is sized for, those helpers competed with the engine's threads and with Postgres and
 * RabbitMQ, and a thread waited for helpers the kernel had preempted. At max load the engine
 * spent about 0.89 of its CPU per stored event (0.94 with Postgres and RabbitMQ), and at 5,000
 * req/s the HTTP thread's longest GC pause per 15 s was 8-20 ms instead of 15-36. The price:
 * the burst benchmark's peak RSS about 40 MB higher (bench/README.md, issue 20).
 * A process-wide flag, and V8 reads it when it starts: only the command line can give it.
 */
const SINGLE_THREADED_GC_FLAG = '--single-threaded-gc'
export const ENGINE_NODE_FLAGS: readonly string[] = [SEMI_SPACE_FLAG, SINGLE_THREADED_GC_FLAG]

const tuned: ReadonlyArray<{ flag: RegExp; value: string }> = [
  {
    flag: /^--initial[-_]old[-_]space[-_]size/,
    value: `--initial-old-space-size=${THREAD_OLD_SPACE_MB}`,
  },
  { flag: /^--max[-_]semi[-_]space[-_]size/, value: SEMI_SPACE_FLAG },
]

/**
 * Sets V8's initial old space and largest semi-space for the isolates made from now on: the
 * engine's worker threads, started after this. The main thread's heap is configured already
 * (see ENGINE_NODE_FLAGS). A flag given on the command line or in NODE_OPTIONS wins. The price:
 * a changed flag no longer matches the hash in Node's built-in code cache, so each thread
 * started afterwards compiles more of Node's own modules (about 7 ms more CPU per thread start,
 * measured with pg loaded), and each thread may hold up to 64 MB of garbage before its first
 * full GC (the burst peak, bench/README.md). Returns the flags it set.
 */
export function tuneThreadHeaps(
  execArgv: readonly string[] = process.execArgv,
  nodeOptions: string = process.env.NODE_OPTIONS ?? '',
): string[] {
  const given = [...execArgv, ...nodeOptions.split(/\s+/)]
  const set: string[] = []
  for (const { flag, value } of tuned) {
    if (given.some((a) => flag.test(a))) continue
    setFlagsFromString(value)
    set.push(value)
  }
  return set
}

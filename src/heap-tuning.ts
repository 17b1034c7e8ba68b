import { setFlagsFromString } from 'node:v8'
import { runningFromSources } from './util/package-root.js'

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
 * The store threads' old generation per MiB of the largest body (SLUICE_MAX_BODY), and at the
 * least. Only a body Postgres refused is parsed there (workers/insert.ts checkedInJs): a 1 MiB
 * body of `[{},{},…]`, the densest JSON, became 21 MB of heap, and a thread holds about 7 MB of
 * its own besides.
 */
const STORE_OLD_SPACE_MB_PER_BODY_MB = 24
const STORE_OLD_SPACE_MIN_MB = 48

/**
 * Under tap the threads run the TypeScript sources through its loader, which keeps the compiler
 * in each thread's heap: 38 MB used before the first batch, against 9 MB from dist/.
 */
const SOURCES_LOADER_MB = 192

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
export const ENGINE_NODE_FLAGS: readonly string[] = [SEMI_SPACE_FLAG]

const OLD_SPACE_FLAG = /^--(initial|max)[-_]old[-_]space[-_]size/

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

/**
 * The Piscina store threads' Worker resourceLimits. Each batch they store outlives two scavenges
 * while Postgres writes it, so its objects are promoted, and with THREAD_OLD_SPACE_MB nothing
 * collected them until the drain after a burst was over: two threads of 7 MB live heap held
 * about 45 MB each, a tenth of the engine's peak RSS (bench/README.md). Node has no initial old
 * space per thread, but V8 caps a thread's initial one at half its maximum: a maximum of
 * STORE_OLD_SPACE_MIN_MB makes it 24 MB. The maximum is a hard limit (a thread past it is ended,
 * and the consumer splits the batch to find the event that did it), so it grows with
 * SLUICE_MAX_BODY (from 5 MiB on the initial old space is THREAD_OLD_SPACE_MB again) and, from
 * the sources, by SOURCES_LOADER_MB. Nothing when Node was given an old space size: that wins.
 */
export function storeThreadLimits(
  maxBodyBytes: number,
  fromSources: boolean = runningFromSources,
  execArgv: readonly string[] = process.execArgv,
  nodeOptions: string = process.env.NODE_OPTIONS ?? '',
): { maxOldGenerationSizeMb?: number } {
  if ([...execArgv, ...nodeOptions.split(/\s+/)].some((a) => OLD_SPACE_FLAG.test(a))) return {}
  const bodyMb = Math.ceil(maxBodyBytes / 2 ** 20)
  const forBodies = Math.max(STORE_OLD_SPACE_MIN_MB, STORE_OLD_SPACE_MB_PER_BODY_MB * (bodyMb + 1))
  return { maxOldGenerationSizeMb: forBodies + (fromSources ? SOURCES_LOADER_MB : 0) }
}

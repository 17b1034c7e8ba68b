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

const FLAG = /^--initial[-_]old[-_]space[-_]size/

/**
 * Sets V8's initial old space for the isolates made from now on: the engine's worker threads,
 * started after this. The main thread's heap is configured already, so it keeps V8's default
 * unless Node was started with the flag; a flag given on the command line wins here too.
 * The price: a changed flag no longer matches the hash in Node's built-in code cache, so each
 * thread started afterwards compiles more of Node's own modules (about 7 ms more CPU per
 * thread start, measured with pg loaded), and each thread may hold up to 64 MB of garbage
 * before its first full GC (the burst peak, bench/README.md).
 */
export function tuneThreadHeaps(execArgv: readonly string[] = process.execArgv): boolean {
  if (execArgv.some((a) => FLAG.test(a))) return false
  setFlagsFromString(`--initial-old-space-size=${THREAD_OLD_SPACE_MB}`)
  return true
}

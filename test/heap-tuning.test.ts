import t from 'tap'
import { tuneThreadHeaps } from '../src/heap-tuning.js'

// The engine raises V8's initial old space for its threads unless Node was started with a
// value of its own. What it buys (full GCs per second on the pipeline and store threads, CPU
// per event) is measured by `npm run bench -- burst`, not here: V8's heuristics are no
// contract a test could hold it to.

t.test('a value given on the command line wins', async (t) => {
  t.equal(tuneThreadHeaps(['--initial-old-space-size=16']), false)
  t.equal(tuneThreadHeaps(['--inspect', '--initial_old_space_size=16']), false)
  t.equal(tuneThreadHeaps(['--max-old-space-size=512']), true, 'other heap flags do not count')
})

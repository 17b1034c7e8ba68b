import { loadConfig } from '../../src/config.js'
import { Engine } from '../../src/engine.js'

// Sluice's engine as `sluice start` runs it, with the journal writer placement chosen by the
// first argument (inline | worker | default) so the benchmark can compare them.
const mode = process.argv[2]
const engine = new Engine(loadConfig(), {
  ...(mode === 'inline' || mode === 'worker' ? { journalWriter: mode } : {}),
})
await engine.start()
console.log(JSON.stringify({ msg: 'listening', port: engine.port }))
process.once('SIGTERM', () => {
  void engine.close().finally(() => process.exit(0))
})

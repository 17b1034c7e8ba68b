import t from 'tap'
import { loadConfig } from '../src/config.js'
t.test('config', async (t) => {
  t.equal(loadConfig({}).PORT, 8080)
})

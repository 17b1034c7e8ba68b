import t from 'tap'
import { loadConfig } from '../src/config.js'
import { failOnLeaks } from './helpers/leaks.js'
t.test('config', async (t) => {
  t.equal(loadConfig({}).PORT, 8080)
})

failOnLeaks(t)

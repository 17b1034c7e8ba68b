import t from 'tap'
import { ConfigError, loadConfig } from '../src/config.js'
import { failOnLeaks } from './helpers/leaks.js'
t.test('config', async (t) => {
  t.equal(loadConfig({}).PORT, 8080)
})

t.test(
  'pipeline priority and burst lag: defaults, bounds, and errors naming the variable',
  async (t) => {
    const d = loadConfig({})
    t.equal(d.SLUICE_PIPELINE_NICE, 10)
    t.equal(d.SLUICE_BURST_LAG_MS, 10000)
    const set = loadConfig({ SLUICE_PIPELINE_NICE: '0', SLUICE_BURST_LAG_MS: '0' })
    t.equal(set.SLUICE_PIPELINE_NICE, 0, 'nice 0 keeps the default priority')
    t.equal(set.SLUICE_BURST_LAG_MS, 0, 'a lag of 0 turns deferral off')
    t.throws(() => loadConfig({ SLUICE_PIPELINE_NICE: '20' }), {
      name: 'ConfigError',
      message: /SLUICE_PIPELINE_NICE must be an integer from 0 to 19/,
    })
    t.throws(() => loadConfig({ SLUICE_BURST_LAG_MS: '-1' }), ConfigError)
    t.throws(() => loadConfig({ SLUICE_BURST_LAG_MS: 'soon' }), {
      message: /SLUICE_BURST_LAG_MS must be an integer from 0 to 3600000/,
    })
  },
)

failOnLeaks(t)

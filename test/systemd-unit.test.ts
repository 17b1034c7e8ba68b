import t from 'tap'
import { spawnSync } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { ENGINE_NODE_FLAGS } from '../src/heap-tuning.js'

// deploy/systemd/sluice.service: systemd's own parser where the machine has it (it warns and
// goes on for an unknown key or a bad value, so any warning naming the file fails here), and
// the settings the deployment guide relies on, read as systemd reads the file.
const path = fileURLToPath(new URL('../deploy/systemd/sluice.service', import.meta.url))

/** Sections of a unit file: key -> every value given (Environment= and the like repeat). */
function parseUnit(text: string): Map<string, Map<string, string[]>> {
  const sections = new Map<string, Map<string, string[]>>()
  let current: Map<string, string[]> | null = null
  for (const raw of text.split('\n')) {
    const line = raw.trim()
    if (line === '' || line.startsWith('#') || line.startsWith(';')) continue
    const header = /^\[(.+)\]$/.exec(line)
    if (header) {
      current = new Map()
      sections.set(header[1]!, current)
      continue
    }
    const [, key, value] = /^([A-Za-z]+)=(.*)$/.exec(line) ?? []
    if (!current || !key) throw new Error(`not a unit file line: ${line}`)
    current.set(key, [...(current.get(key) ?? []), value!])
  }
  return sections
}

const unit = parseUnit(readFileSync(path, 'utf8'))
const service = unit.get('Service')!
const one = (key: string) => service.get(key)?.at(-1)

const verify = spawnSync('systemd-analyze', ['verify', path], { encoding: 'utf8' })
// Without systemd's parser the check is skipped, said so, not passed; the keys are checked below.
const skip = verify.error ? `systemd-analyze is not installed (${verify.error.message})` : false

t.test('systemd-analyze verify accepts the unit without a warning', { skip }, async (t) => {
  t.equal(verify.status, 0, verify.stderr)
  const about = verify.stderr.split('\n').filter((l) => l.includes('sluice.service'))
  t.same(about, [], 'no warning about the file')
})

t.test('it runs node on the release as the sluice user, with its state directory', async (t) => {
  t.same([...unit.keys()], ['Unit', 'Service', 'Install'])
  t.equal(one('User'), 'sluice')
  t.equal(
    one('ExecStart'),
    ['/usr/bin/node', ...ENGINE_NODE_FLAGS, '/opt/sluice/bin/sluice.js', 'start'].join(' '),
    'node, not npm, with the flags npm start gives it',
  )
  t.equal(one('StateDirectory'), 'sluice')
  t.equal(one('StateDirectoryMode'), '0700')
  t.ok(
    service.get('Environment')?.includes('SLUICE_DATA_DIR=/var/lib/sluice'),
    'the data dir is it',
  )
  t.equal(one('EnvironmentFile'), '/etc/sluice/sluice.env')
  t.same(unit.get('Install')?.get('WantedBy'), ['multi-user.target'])
})

t.test('a stop is a graceful drain that systemd waits for', async (t) => {
  t.equal(one('KillSignal'), 'SIGTERM')
  const stopSec = Number(one('TimeoutStopSec'))
  // SLUICE_SHUTDOWN_TIMEOUT_MS defaults to 10000: the engine gives up on its own first.
  t.ok(stopSec > 10, `TimeoutStopSec ${stopSec} s is above the engine's 10 s drain bound`)
  t.equal(one('Restart'), 'on-failure')
  t.equal(one('RestartPreventExitStatus'), '2', 'a configuration error is not restarted')
})

t.test('it is hardened and may write only its data directory', async (t) => {
  for (const [key, value] of Object.entries({
    NoNewPrivileges: 'yes',
    ProtectSystem: 'strict',
    ReadWritePaths: '/var/lib/sluice',
    ProtectHome: 'yes',
    PrivateTmp: 'yes',
    PrivateDevices: 'yes',
    CapabilityBoundingSet: '',
  })) {
    t.equal(one(key), value, `${key}=${value}`)
  }
  t.notOk(service.has('MemoryDenyWriteExecute'), "not set: V8's JIT needs it off")
})

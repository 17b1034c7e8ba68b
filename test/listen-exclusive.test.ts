import t from 'tap'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { EngineChild } from './helpers/engine-child.js'
import { collect, JOURNAL_ONLY_ENV, spawnSluice, waitForLog } from './helpers/spawn.js'
import { failOnLeaks } from './helpers/leaks.js'
import { freePort } from './helpers/own-postgres.js'

const tempDir = (name: string) => {
  const dir = mkdtempSync(join(tmpdir(), `sluice-${name}-`))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  return dir
}

/**
 * uWS listens with SO_REUSEPORT unless told otherwise: a second engine on a port in use used to
 * start, and the kernel split connections between the two, so `sluice dlq list` could reach
 * another engine's admin API with this one's token (a 401 seen in CI). A port is one engine's.
 */
t.test('a second engine on a port in use refuses to start and names it', async (t) => {
  // Named ports, as in production: one a kernel picked for port 0 is never shared anyway.
  const first = new EngineChild({
    ...JOURNAL_ONLY_ENV,
    SLUICE_DATA_DIR: tempDir('first'),
    PORT: String(await freePort()),
    SLUICE_ADMIN_PORT: String(await freePort()),
  })
  t.teardown(() => first.stop())
  await first.start()
  t.ok(first.port > 0 && first.adminPort > 0, 'the first engine logs both ports')

  const cases = [
    ['the webhook port', { PORT: String(first.port) }, first.port],
    ['the admin port', { SLUICE_ADMIN_PORT: String(first.adminPort) }, first.adminPort],
  ] as const
  for (const [name, ports, port] of cases) {
    const env = { ...JOURNAL_ONLY_ENV, HOST: '127.0.0.1', SLUICE_DATA_DIR: tempDir('second') }
    const child = spawnSluice(['start'], { ...env, ...ports })
    // Were it to start, it would serve until stopped: stop it, and the exit code says so.
    waitForLog(child, (l) => l.msg === 'listening').then(
      () => child.kill('SIGKILL'),
      () => {},
    )
    const second = await collect(child)
    t.equal(second.code, 1, `${name}: the second engine exits 1`)
    t.match(second.stdout, `cannot listen on 127.0.0.1:${port}: another process listens there`)
  }
  const res = await fetch(first.url, { method: 'POST', body: '{"still":"here"}' })
  t.equal(res.status, 200, 'the first engine still takes webhooks')
})

failOnLeaks(t)

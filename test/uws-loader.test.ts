import t, { type Test } from 'tap'
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { entryOf, loadUws } from '../src/server/uws-loader.js'
import { logUwsBuild, uWS, uwsBuild, type us_listen_socket } from '../src/server/uws.js'
import { captureLogger } from './helpers/log-capture.js'
import { failOnLeaks } from './helpers/leaks.js'

/**
 * What this project's lockfile installs on linux-x64: the alias's own binary on Node 20; on
 * Node 22 btc-vision's where glibc is at least 2.38 (Debian 13, the image), else uws-pack's (its
 * ABI 127 binary needs glibc 2.27); on Node 24 btc-vision's where glibc allows, else none.
 */
const glibc = (process.report.getReport() as { header: { glibcVersionRuntime?: string } }).header
  .glibcVersionRuntime
const newGlibc = glibc !== undefined && Number(glibc.split('.')[1]) >= 38
const EXPECTED: Record<string, string | null> = {
  'linux-x64-115': 'trufflesuite',
  'linux-x64-127': newGlibc ? 'btc-vision' : 'uws-pack',
  'linux-x64-137': newGlibc ? 'btc-vision' : null,
}
const key = `${process.platform}-${process.arch}-${process.versions.modules}`

t.test('this Node loads the build expected for its ABI, which serves HTTP', async (t) => {
  const expected = EXPECTED[key]
  if (expected !== undefined && uwsBuild?.id !== 'official') {
    t.equal(uwsBuild?.id ?? null, expected, `${key}: ${uwsBuild?.name}@${uwsBuild?.version}`)
  }
  if (!uwsBuild) {
    // Node 24 on glibc < 2.38: nothing to serve with; any use of uWS says why and what to install.
    t.throws(() => uWS.App(), /no native uWebSockets\.js loads on Node .*uws-pack: /)
    return
  }
  const app = uWS.App().get('/*', (res) => void res.end('ok'))
  const socket = await new Promise<us_listen_socket>((resolve, reject) =>
    app.listen('127.0.0.1', 0, (s) => (s ? resolve(s) : reject(new Error('cannot listen')))),
  )
  t.teardown(() => uWS.us_listen_socket_close(socket))
  const res = await fetch(`http://127.0.0.1:${uWS.us_socket_local_port(socket)}/`)
  t.equal(await res.text(), 'ok', 'the loaded module answers HTTP')

  const { logger, lines } = captureLogger()
  logUwsBuild(logger)
  t.match(lines[0], {
    msg: 'uWebSockets.js build',
    uws: { id: uwsBuild.id, name: uwsBuild.name, version: uwsBuild.version },
    node: process.version,
    expected: /\w/,
  })
})

/** A fake node_modules under a temp dir; each package is its package.json and files. */
function fakeTree(t: Test, pkgs: Record<string, { pkg: object; files: Record<string, string> }>) {
  const root = mkdtempSync(join(tmpdir(), 'sluice-uws-'))
  t.teardown(() => rmSync(root, { recursive: true, force: true }))
  for (const [name, { pkg, files }] of Object.entries(pkgs)) {
    const dir = join(root, 'node_modules', name)
    for (const [file, text] of Object.entries({ 'package.json': JSON.stringify(pkg), ...files })) {
      mkdirSync(dirname(join(dir, file)), { recursive: true })
      writeFileSync(join(dir, file), text)
    }
  }
  // Searched from a folder below, as from dist/src/server: the loader walks up.
  mkdirSync(join(root, 'app', 'src'), { recursive: true })
  return join(root, 'app', 'src')
}

const nativeEsm = (tag: string) => `export default { tag: '${tag}', getParts() {}, App() {} }\n`
const fallbackCjs = `module.exports = { tag: 'fallback', App() {} }\n`

t.test('the official package under uWebSockets.js is taken first', async (t) => {
  const from = fakeTree(t, {
    'uWebSockets.js': {
      pkg: {
        name: 'uWebSockets.js',
        version: '20.52.0',
        repository: { url: 'git+https://github.com/uNetworking/uWebSockets.js.git' },
        exports: { import: './ESM_wrapper.mjs', require: './uws.js' },
      },
      files: { 'ESM_wrapper.mjs': nativeEsm('official') },
    },
    'uws-pack': {
      pkg: { name: 'uws-pack', version: '20.0.8', exports: { import: './dist/index.mjs' } },
      files: { 'dist/index.mjs': nativeEsm('uws-pack') },
    },
  })
  const { uws, build } = await loadUws(from)
  t.same(build, {
    id: 'official',
    name: 'uWebSockets.js',
    version: '20.52.0',
    installedAs: 'uWebSockets.js',
  })
  t.equal((uws as unknown as { tag: string }).tag, 'official')
})

t.test(
  'without a native alias binary: a registry build that loads, never the fallback',
  async (t) => {
    // The alias as on Node 22: no binary for this ABI, so requiring it would give the fallback.
    const alias = {
      pkg: { name: '@trufflesuite/uws-js-unofficial', version: '20.30.0', main: 'src/uws.js' },
      files: { 'src/uws.js': fallbackCjs },
    }
    const pack = (index: string) => ({
      pkg: { name: 'uws-pack', version: '20.0.8', exports: { import: './dist/index.mjs' } },
      files: { 'dist/index.mjs': index },
    })

    const withPack = await loadUws(
      fakeTree(t, { 'uWebSockets.js': alias, 'uws-pack': pack(nativeEsm('uws-pack')) }),
    )
    t.match(withPack.build, { id: 'uws-pack', version: '20.0.8' }, 'uws-pack when its binary loads')
    t.match(withPack.skipped, [
      { id: 'official', reason: 'uWebSockets.js is @trufflesuite/uws-js-unofficial@20.30.0' },
      { id: 'trufflesuite', reason: /Cannot find module '\.\/binaries\/uws_/ },
      { id: 'btc-vision', reason: '@btc-vision/uwebsockets.js is not installed' },
    ])

    const broken = pack(`throw new Error('needs GLIBC_2.38\\nsecond line')\n`)
    await t.rejects(loadUws(fakeTree(t, { 'uWebSockets.js': alias, 'uws-pack': broken })), {
      message:
        /^no native uWebSockets\.js loads on Node .*trufflesuite: Cannot find module.*uws-pack: needs GLIBC_2\.38\. Install the official one/,
    })
    // A module without getParts (a fallback) is refused too.
    await t.rejects(loadUws(fakeTree(t, { 'uws-pack': pack(`export const App = () => {}\n`) })), {
      message: /uws-pack: loaded without its native binary/,
    })
    // A package under the official name that is not the official one is not taken as it.
    const impostor = {
      pkg: { name: 'uWebSockets.js', version: '1.0.0', repository: 'github:someone/uws' },
      files: { 'index.js': 'module.exports = {}\n' },
    }
    await t.rejects(loadUws(fakeTree(t, { 'uWebSockets.js': impostor })), {
      message:
        /official: uWebSockets\.js is uWebSockets\.js@1\.0\.0.*uws-pack: uws-pack is not installed/,
    })
  },
)

t.test('entryOf reads exports conditions before main', async (t) => {
  t.equal(entryOf({ exports: { import: './a.mjs', require: './a.js' }, main: 'b.js' }), './a.mjs')
  t.equal(entryOf({ exports: { '.': { require: './c.js' } } }), './c.js')
  t.equal(entryOf({ exports: './d.js' }), './d.js')
  t.equal(entryOf({ main: 'src/uws.js' }), 'src/uws.js')
  t.equal(entryOf({}), 'index.js')
})

failOnLeaks(t)

import t from 'tap'
import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { ENGINE_NODE_FLAGS } from '../src/heap-tuning.js'
import { last, parseDockerfile, stageEnv } from './helpers/dockerfile.js'

// What can be checked of the image without a Docker engine: the file says what the issue
// asks. test/image-runtime.test.ts runs what its runtime stage holds.
const root = fileURLToPath(new URL('..', import.meta.url))
const stages = parseDockerfile(`${root}Dockerfile`)
const runtime = stages.at(-1)!
const build = stages.find((s) => s.name === 'build')

t.test('two stages: a build with dev dependencies, a runtime with production ones', async (t) => {
  t.same(
    stages.slice(1).map((s) => s.name),
    ['build', 'runtime'],
  )
  t.ok(build, 'a build stage')
  const runs = build!.instructions.filter((i) => i.keyword === 'RUN').map((i) => i.text)
  t.ok(
    runs.some((r) => /npm ci\b/.test(r) && !/--omit=dev/.test(r)),
    'npm ci with dev dependencies (typescript, and better-sqlite3 compiles)',
  )
  t.ok(
    runs.some((r) => /npm run build/.test(r)),
    'npm run build',
  )
  t.ok(
    runs.some((r) => /npm prune --omit=dev/.test(r)),
    'pruned to production deps after the build',
  )
  t.match(build!.from, /^node:\$\{NODE_VERSION\}-trixie$/, 'full image: it has the C++ toolchain')
  t.match(runtime.from, /^node:\$\{NODE_VERSION\}-trixie-slim$/, 'slim image of the same Debian')
  const copies = runtime.instructions.filter((i) => i.keyword === 'COPY')
  t.ok(
    copies.every((c) => c.flags.from === 'build'),
    'the runtime takes only built files from the build stage',
  )
  t.notOk(
    runtime.instructions.some((i) => i.keyword === 'RUN' && /npm|tsc/.test(i.text)),
    'nothing is installed or compiled in the runtime stage',
  )
})

t.test('the default Node is 24, the active LTS, and engines accepts it', async (t) => {
  const arg = stages[0]!.instructions.find(
    (i) => i.keyword === 'ARG' && /^NODE_VERSION=/.test(i.text),
  )
  t.equal(arg?.text, 'NODE_VERSION=24', 'Node 20 ended on 2026-04-30; 22 is in maintenance')
  const engines = (
    JSON.parse(readFileSync(`${root}package.json`, 'utf8')) as {
      engines: { node: string }
    }
  ).engines.node
  t.match(engines, /\^24\b/, "package.json engines accepts the image's Node")
})

t.test('it runs as a non-root user with /data as its volume', async (t) => {
  const user = last(runtime, 'USER')?.text
  t.ok(user, 'USER is set')
  t.notMatch(user!, /^(root|0)(:|$)/, 'and it is not root')
  t.same(last(runtime, 'VOLUME')?.exec, ['/data'])
  t.equal(stageEnv(runtime).SLUICE_DATA_DIR, '/data', 'the journal goes to the volume')
  t.ok(
    runtime.instructions.some((i) => i.keyword === 'RUN' && /chown node:node \/data/.test(i.text)),
    '/data belongs to that user',
  )
})

t.test('the entry command is node itself, in exec form, running sluice start', async (t) => {
  const entrypoint = last(runtime, 'ENTRYPOINT')?.exec
  const cmd = last(runtime, 'CMD')?.exec
  t.ok(entrypoint, 'ENTRYPOINT in exec form (a shell form would make sh PID 1)')
  t.ok(cmd, 'CMD in exec form')
  t.same(
    [...entrypoint!, ...cmd!],
    ['node', ...ENGINE_NODE_FLAGS, 'bin/sluice.js', 'start'],
    'no npm, no shell; the flags npm start gives Node',
  )
  t.equal(last(runtime, 'STOPSIGNAL')?.text ?? 'SIGTERM', 'SIGTERM')
  t.same(last(runtime, 'EXPOSE')?.text.split(/\s+/), ['8080', '8081'])
  const env = stageEnv(runtime)
  t.equal(env.PORT, '8080')
  t.equal(env.HOST, '0.0.0.0')
})

t.test('the healthcheck asks /readyz with node, since the slim image has no curl', async (t) => {
  const health = last(runtime, 'HEALTHCHECK')
  t.ok(health)
  t.match(health!.flags, { interval: /s$/, timeout: /s$/, 'start-period': /s$/ })
  t.match(health!.text, /^CMD \[/)
  const exec = execOf(health!.text.replace(/^CMD\s+/, ''))
  t.equal(exec[0], 'node')
  t.match(
    exec.join(' '),
    /fetch\('http:\/\/127\.0\.0\.1:'\+\(process\.env\.PORT\|\|8080\)\+'\/readyz'\)/,
  )
})

t.test('labels carry the version; .dockerignore keeps local state out', async (t) => {
  const labels = runtime.instructions
    .filter((i) => i.keyword === 'LABEL')
    .map((i) => i.text)
    .join(' ')
  t.match(labels, /org\.opencontainers\.image\.version="\$\{VERSION\}"/)
  t.ok(runtime.instructions.some((i) => i.keyword === 'ARG' && /^VERSION=/.test(i.text)))
  const pkg = JSON.parse(readFileSync(`${root}package.json`, 'utf8')) as { version: string }
  t.ok(
    runtime.instructions.some((i) => i.keyword === 'ARG' && i.text === `VERSION=${pkg.version}`),
    "the default VERSION is package.json's",
  )
  const ignored = readFileSync(`${root}.dockerignore`, 'utf8').split('\n')
  for (const entry of ['node_modules', 'dist', 'data', '.git', '*.db', '*.db-wal']) {
    t.ok(ignored.includes(entry), `.dockerignore has ${entry}`)
  }
})

function execOf(text: string): string[] {
  const value: unknown = JSON.parse(text)
  if (!Array.isArray(value)) throw new Error(`not an exec form: ${text}`)
  return value as string[]
}

import t, { type Test } from 'tap'
import { spawn } from 'node:child_process'
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { until } from './helpers/wait.js'
import { waitForLog } from './helpers/spawn.js'
import { failOnLeaks } from './helpers/leaks.js'

/**
 * The AWS SDK is loaded only for SLUICE_BROKER=sqs. Each engine here runs with a resolve hook
 * (test/fixtures/record-imports.mjs) that writes down every module URL its threads resolve; the
 * broker is built in the pipeline thread, so the list must show that thread's modules too.
 */
const root = fileURLToPath(new URL('..', import.meta.url))
const hook = join(root, 'test', 'fixtures', 'record-imports.mjs')
const loaderArgs = process.execArgv.filter((a) => a.includes('@tapjs/typescript'))
// Nothing listens on port 1: the database and SQS stay unreachable, which start-up tolerates.
const DEAD_DB = 'postgres://postgres@127.0.0.1:1/none'

/** Starts an engine with `env`; its log lines up to `listening` are pushed onto `lines`. */
async function importsOf(
  t: Test,
  env: NodeJS.ProcessEnv,
  done: (urls: string[]) => boolean,
  lines: Array<Record<string, unknown>> = [],
) {
  const dir = mkdtempSync(join(tmpdir(), 'sluice-lazy-sdk-'))
  const log = join(dir, 'imports.log')
  const child = spawn(
    process.execPath,
    [...loaderArgs, '--import', hook, join(root, 'src', 'main.ts'), 'start'],
    {
      cwd: root,
      stdio: ['ignore', 'pipe', 'ignore'],
      env: {
        ...process.env,
        PORT: '0',
        HOST: '127.0.0.1',
        SLUICE_ADMIN_PORT: '0',
        SLUICE_DATA_DIR: join(dir, 'data'),
        DATABASE_URL: DEAD_DB,
        SLUICE_LOG_LEVEL: 'info',
        SLUICE_TEST_IMPORT_LOG: log,
        ...env,
      },
    },
  )
  const exited = new Promise((r) => child.once('exit', r))
  t.teardown(async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL')
    await exited
    rmSync(dir, { recursive: true, force: true })
  })
  await waitForLog(
    child,
    (l) => {
      lines.push(l)
      return l.msg === 'listening'
    },
    120_000,
  )
  child.stdout.resume()
  const read = () => (existsSync(log) ? readFileSync(log, 'utf8').split('\n') : [])
  // Until the pipeline thread has built and started its broker (a resolved module says so).
  await until("the broker's modules were resolved", () => done(read()), 120_000)
  return read()
}

const sdk = (urls: string[]) => urls.filter((u) => u.includes('/@aws-sdk/'))
/**
 * What the pipeline thread resolved: from its pipeline.ts on, which only that thread loads. The
 * main thread resolves the broker modules too (the engine reads the broker's size limit), so
 * the local broker's module in the whole list would not say the thread has built its broker.
 */
const pipelineThread = (urls: string[]) => {
  const from = urls.findIndex((u) => u.includes('/src/pipeline/pipeline.'))
  return from < 0 ? [] : urls.slice(from)
}

/**
 * OpenTelemetry's SDK and exporter, and the module that imports them. prom-client requires
 * @opentelemetry/api for exemplars, so the API alone says nothing about tracing.
 */
const otel = (urls: string[]) =>
  urls.filter((u) => /\/@opentelemetry\/(?!api\/)/.test(u) || u.includes('/src/tracing/sdk.'))
const builtBroker = (urls: string[]) =>
  pipelineThread(urls).some((u) => u.includes('/src/brokers/local/broker.'))

t.test('the local broker: the engine starts without loading the AWS SDK', async (t) => {
  const urls = await importsOf(t, { SLUICE_BROKER: 'local' }, builtBroker)
  t.ok(pipelineThread(urls).length > 0, 'the pipeline thread resolved through the hook')
  t.same(sdk(urls), [], 'no @aws-sdk module was resolved')
  t.same(otel(urls), [], 'tracing off: no OpenTelemetry SDK module was resolved')
})

t.test('OTEL_SDK_DISABLED=true: an endpoint alone does not load OpenTelemetry', async (t) => {
  const env = { OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:1', OTEL_SDK_DISABLED: 'true' }
  const urls = await importsOf(t, env, builtBroker)
  t.same(otel(urls), [], 'no OpenTelemetry SDK module was resolved')
})

t.test('OTEL_TRACES_EXPORTER=none: an endpoint alone does not load OpenTelemetry', async (t) => {
  const env = { OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:1', OTEL_TRACES_EXPORTER: 'none' }
  const urls = await importsOf(t, env, builtBroker)
  t.same(otel(urls), [], 'no OpenTelemetry SDK module was resolved')
})

t.test('OTEL_EXPORTER_OTLP_ENDPOINT: the HTTP and pipeline threads load the SDK', async (t) => {
  // grpc is not what Sluice sends: a warning at start, not a refusal.
  const env = {
    OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:1',
    OTEL_EXPORTER_OTLP_PROTOCOL: 'grpc',
  }
  const lines: Array<Record<string, unknown>> = []
  const exporter = (urls: string[]) =>
    urls.some((u) => u.includes('/@opentelemetry/exporter-trace-otlp-http/'))
  // The HTTP thread loads the SDK before it listens; the pipeline thread as it starts.
  const urls = await importsOf(t, env, (urls) => exporter(pipelineThread(urls)), lines)
  t.match(
    lines.filter((l) => l.variable !== undefined),
    [{ level: 40, variable: 'OTEL_EXPORTER_OTLP_PROTOCOL', value: 'grpc', msg: /JSON only/ }],
    'OTEL_EXPORTER_OTLP_PROTOCOL=grpc: warned at start, naming it',
  )
  const http = urls.slice(0, urls.length - pipelineThread(urls).length)
  t.ok(exporter(http), 'the HTTP thread resolved the OTLP exporter')
  t.ok(exporter(pipelineThread(urls)), 'the pipeline thread resolved it too')
})

t.test('SLUICE_BROKER=sqs: the SDK is loaded when the broker starts', async (t) => {
  const env = {
    SLUICE_BROKER: 'sqs',
    SQS_QUEUE_URL: 'http://127.0.0.1:1/000000000000/sluice-lazy',
    AWS_REGION: 'us-east-1',
    AWS_ACCESS_KEY_ID: 'test',
    AWS_SECRET_ACCESS_KEY: 'test',
  }
  const urls = await importsOf(t, env, (urls) => sdk(urls).length > 0)
  t.ok(
    sdk(urls).some((u) => u.includes('/@aws-sdk/client-sqs/')),
    '@aws-sdk/client-sqs resolved',
  )
})

failOnLeaks(t)

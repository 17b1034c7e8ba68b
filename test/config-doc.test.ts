import t from 'tap'
import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { envSchema } from '../src/config.js'
import { FILE_VARIABLES } from '../src/config-files.js'
import { accepts, renderConfigDoc } from '../src/config-doc.js'
import type { EnvVariable } from '../src/config-descriptions.js'

const docPath = fileURLToPath(new URL('../docs/configuration.md', import.meta.url))
const doc = readFileSync(docPath, 'utf8')

/**
 * The variables the public contract names (CONTRACT.md, kept outside the repository): its
 * Environment table, and those its admin API and outbound sections add. The contract may grow
 * but never lose one, so this list is a floor.
 */
const CONTRACT_VARIABLES = [
  'PORT',
  'HOST',
  'SLUICE_DATA_DIR',
  'DATABASE_URL',
  'SLUICE_BROKER',
  'AMQP_URL',
  'SLUICE_QUEUE',
  'SQS_QUEUE_URL',
  'AWS_REGION',
  'AWS_ENDPOINT_URL_SQS',
  'SLUICE_WORKERS',
  'SLUICE_JOURNAL_SYNC',
  'SLUICE_MAX_BODY',
  'SLUICE_JOURNAL_MAX_BYTES',
  'SLUICE_MAX_ATTEMPTS',
  'SLUICE_RETENTION_DAYS',
  'SLUICE_CONFIG',
  'SLUICE_ADMIN_HOST',
  'SLUICE_ADMIN_PORT',
  'SLUICE_ADMIN_TOKEN',
  'SLUICE_DELIVERY_SCHEDULE',
  'SLUICE_DELIVERY_TIMEOUT_MS',
  'SLUICE_DISABLE_AFTER_HOURS',
  'SLUICE_OUTBOUND_ALLOW',
  'SLUICE_OUTBOUND_PROXY',
  'SLUICE_OUTBOUND_NO_PROXY',
  'SLUICE_OUTBOUND_CA_FILE',
]

/** The variables that have a row of their own: the first cell of each table row. */
const rows = new Set([...doc.matchAll(/^\| `([A-Z0-9_]+)` \|/gm)].map((m) => m[1]))

t.test('docs/configuration.md is what npm run docs:config makes of the schema today', async (t) => {
  t.equal(doc, renderConfigDoc(), 'stale: run `npm run docs:config` and commit the result')
})

t.test('every schema variable, secret file and contract variable has a row', async (t) => {
  for (const name of Object.keys(envSchema.shape)) t.ok(rows.has(name), name)
  for (const name of FILE_VARIABLES) t.ok(rows.has(`${name}_FILE`), `${name}_FILE`)
  for (const name of CONTRACT_VARIABLES) t.ok(rows.has(name), `contract: ${name}`)
})

t.test('what a variable accepts is the rule the schema refuses values with', async (t) => {
  for (const name of Object.keys(envSchema.shape) as EnvVariable[]) {
    const text = accepts(name)
    t.not(text, 'any string', `${name}: a probe value was refused`)
    t.notMatch(text, new RegExp(`\\b${name}\\b`), `${name}: its name is not repeated`)
  }
  // The integer ranges come from the same words the start-up error prints.
  t.equal(accepts('PORT'), 'must be an integer from 0 to 65535')
  t.equal(accepts('SLUICE_BROKER'), 'must be one of: local, rabbitmq, sqs')
  t.match(
    doc,
    /\| `SLUICE_WORKERS` \| [^|]+ \| the number of cores/,
    'no machine-dependent default',
  )
})

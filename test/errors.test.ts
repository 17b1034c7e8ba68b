import t from 'tap'
import { readFileSync, readdirSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import {
  ConfigError,
  ErrorCodes,
  SluiceError,
  errorCode,
  isErrorCode,
  type ErrorCode,
  type ErrorSpec,
} from '../src/errors.js'
import { JournalClosedError, JournalFullError, JournalUnavailableError } from '../journal/errors.js'
import {
  BrokerUnavailableError,
  DeliveryGoneError,
  EventTooLargeError,
} from '../src/brokers/errors.js'
import { DatabaseUnavailableError, SchemaTooNewError } from '../src/db/errors.js'
import { failOnLeaks } from './helpers/leaks.js'

const root = fileURLToPath(new URL('..', import.meta.url))
const doc = readFileSync(join(root, 'docs/errors.md'), 'utf8')
const documented = new Map<string, string>()
for (const section of doc.split(/^## /m).slice(1)) {
  const m = /^`([a-z_]+)`\s*\n([\s\S]*)$/.exec(section)
  if (m) documented.set(m[1]!, m[2]!)
}

const entries = Object.entries(ErrorCodes) as [ErrorCode, ErrorSpec][]

/** What a code's section starts with: its HTTP status, or its kind. */
const label = (spec: ErrorSpec) => ('status' in spec ? String(spec.status) : spec.kind)

t.test('every error code is documented in docs/errors.md with its status or kind', async (t) => {
  for (const [code, spec] of entries) {
    const text = documented.get(code)
    t.ok(text, `${code} has a section in docs/errors.md`)
    t.ok(
      (text ?? '').trimStart().startsWith(`**${label(spec)}.**`),
      `${code}'s section starts with **${label(spec)}.**`,
    )
  }
})

t.test('docs/errors.md documents no code that does not exist', async (t) => {
  for (const code of documented.keys()) t.ok(isErrorCode(code), `${code} exists in src/errors.ts`)
})

t.test('permanent codes say how they show and whether they are retried', async (t) => {
  for (const [code, spec] of entries) {
    if (!('kind' in spec) || spec.kind !== 'permanent') continue
    const text = documented.get(code) ?? ''
    t.match(text, /GET\s+\/readyz/, `${code}: shown in GET /readyz`)
    t.match(text, /logged\s+at\s+`error`/, `${code}: logged at error`)
    t.match(text, /ingest\s+keeps\s+answering\s+`200`/i, `${code}: ingest keeps answering 200`)
    if (code === 'schema_too_new') t.match(text, /not\*\*\s+retried/, `${code}: not retried`)
    else t.match(text, /retried\s+every\s+~30\s+s/, `${code}: retried every ~30 s`)
  }
})

t.test('SluiceError carries a typed code; subclasses keep their class', async (t) => {
  const cause = new Error('socket closed')
  const plain = new SluiceError('database_missing', undefined, { cause })
  t.equal(plain.code, 'database_missing')
  t.equal(plain.message, ErrorCodes.database_missing.message, 'message defaults to the registry')
  t.equal(plain.cause, cause)
  t.equal(plain.name, 'SluiceError')

  const sub = new BrokerUnavailableError('no confirms', { cause })
  t.ok(sub instanceof BrokerUnavailableError && sub instanceof SluiceError && sub instanceof Error)
  t.equal(sub.code, 'broker_unavailable')
  t.equal(sub.name, 'BrokerUnavailableError')
  t.equal(sub.message, 'no confirms')
  t.equal(sub.cause, cause)
  t.equal(new DeliveryGoneError().code, 'delivery_gone')
  t.equal(new JournalFullError().code, 'journal_full')

  // An error that crossed a thread keeps `code` but not its class.
  t.equal(errorCode(Object.assign(new Error('x'), { code: 'journal_full' })), 'journal_full')
  t.equal(errorCode(Object.assign(new Error('x'), { code: 'ECONNRESET' })), undefined)
  t.equal(errorCode(undefined), undefined)
})

t.test(
  'each class made by codedError keeps its own name, code, instanceof and cause',
  async (t) => {
    const classes = [
      [JournalFullError, 'journal_full'],
      [JournalUnavailableError, 'journal_unavailable'],
      [JournalClosedError, 'shutting_down'],
      [BrokerUnavailableError, 'broker_unavailable'],
      [EventTooLargeError, 'event_too_large'],
      [DeliveryGoneError, 'delivery_gone'],
      [DatabaseUnavailableError, 'database_unavailable'],
      [SchemaTooNewError, 'schema_too_new'],
      [ConfigError, 'config_invalid'],
    ] as const
    const cause = new Error('underneath')
    for (const [Class, code] of classes) {
      const err = new Class(undefined, { cause })
      t.equal(err.name, Class.name, `${Class.name}: its name`)
      t.equal(err.code, code, `${Class.name}: its code`)
      t.equal(err.message, ErrorCodes[code].message, `${Class.name}: the registry's message`)
      t.equal(err.cause, cause, `${Class.name}: its cause`)
      t.match(String(err.stack), new RegExp(`^${Class.name}: `), `${Class.name}: its stack`)
      for (const [Other] of classes) {
        t.equal(err instanceof Other, Other === Class, `${Class.name} instanceof ${Other.name}`)
      }
    }
    t.equal(new ConfigError('SLUICE_X must be a number').message, 'SLUICE_X must be a number')
  },
)

// ---- The sources use only registered codes. ----

/** Lower-case identifiers: Sluice's codes. SQLSTATEs ('3D000') and errno ('ECONNRESET') are not. */
const CODE_LIKE = /^[a-z][a-z0-9]*(?:_[a-z0-9]+)*$/
/** A code-like literal of one word or more, with at least one underscore (a code, not a word). */
const SNAKE = /^[a-z][a-z0-9]*(?:_[a-z0-9]+)+$/
const Q = `(['"])([^'"\\n]*)\\`

/**
 * Positions where a string literal is a code:
 * - `code: 'x'`, `code = 'x'`, `code === 'x'`, `reason: 'x'` (dead letters), ... (not `typeof code`)
 * - the first argument of `reply.error('x')` and `unauthorized('x', ...)`
 * - the first argument of `new SomeError('x'`, `super('x'` or `codedError('x'` when it looks
 *   like a code
 * - the literals of a `type SomethingCode = 'a' | 'b'` (or `...Reason`) union
 */
const POSITIONS: { re: RegExp; group: number; accept: RegExp }[] = [
  {
    re: new RegExp(
      `(?<!\\btypeof\\s+[\\w.?]*)\\b(?:code|reason)\\??\\s*(?::|[!=]==?|=)\\s*${Q}1`,
      'g',
    ),
    group: 2,
    accept: CODE_LIKE,
  },
  { re: new RegExp(`(?:\\.error|\\bunauthorized)\\(\\s*${Q}1`, 'g'), group: 2, accept: CODE_LIKE },
  {
    re: new RegExp(`(?:\\bnew\\s+\\w*Error|\\bsuper|\\bcodedError)\\(\\s*${Q}1`, 'g'),
    group: 2,
    accept: SNAKE,
  },
]
const CODE_TYPE = /\btype\s+\w*(?:Code|Reason)\s*=\s*((?:\s*\|?\s*(['"])[^'"\n]*\2)+)/g

/** Literals in code positions that are someone else's codes, by file. */
const FOREIGN: Record<string, string> = {
  // zod's issue code for a custom issue (ctx.addIssue in a superRefine).
  'src/sources/schema.ts custom': 'zod',
  // zod's issue code for fields a strict object does not know (admin API query and body).
  'src/admin/route-kit.ts unrecognized_keys': 'zod',
  'src/api/subscription-input.ts custom': 'zod',
  'src/config.ts custom': 'zod',
}

interface Use {
  file: string
  line: number
  code: string
}

function lineOf(text: string, index: number): number {
  return text.slice(0, index).split('\n').length
}

/** Every code-position literal in `text`. */
function scan(file: string, text: string): Use[] {
  const uses: Use[] = []
  for (const { re, group, accept } of POSITIONS) {
    for (const m of text.matchAll(re)) {
      const code = m[group]!
      if (accept.test(code)) uses.push({ file, line: lineOf(text, m.index), code })
    }
  }
  for (const m of text.matchAll(CODE_TYPE)) {
    for (const lit of m[1]!.matchAll(/(['"])([^'"\n]*)\1/g)) {
      uses.push({ file, line: lineOf(text, m.index), code: lit[2]! })
    }
  }
  return uses
}

function sourceFiles(): string[] {
  const files: string[] = []
  for (const dir of ['src', 'journal', 'workers']) {
    for (const f of readdirSync(join(root, dir), { recursive: true, encoding: 'utf8' })) {
      if (f.endsWith('.ts') && !f.endsWith('.d.ts')) files.push(join(dir, f))
    }
  }
  return files
}

t.test('the scanner finds codes in every position it claims to', async (t) => {
  const sample = [
    `reply.error('a_code', { close: true })`,
    `return { ok: false, code: 'b_code' }`,
    `readonly code = 'c_code'`,
    `if ((err as { code?: string }).code === 'd_code') throw err`,
    `throw new SluiceError(\n  'e_code',\n  'message'\n)`,
    `super('f_code', message, options)`,
    `return unauthorized('g_code', 'header X is absent')`,
    `export type SomeCode =\n  | 'h_code'\n  | 'i_code'`,
    `type DeadLetterReason = 'j_code' | 'k_code'`,
    `letters.push({ reason: 'l_code' })`,
    `export class SomeError extends codedError('m_code') {}`,
    // Not codes: messages, SQLSTATEs, errno values, other keys.
    `throw new Error('journal is closed')`,
    `if (code === '3D000' || code === 'ECONNRESET') return`,
    `if (typeof err.code !== 'string') return`,
    `eventsProcessed.inc({ outcome: 'dead_lettered' })`,
  ].join('\n')
  t.same(
    scan('sample.ts', sample)
      .map((u) => u.code)
      .sort(),
    'abcdefghijklm'.split('').map((c) => `${c}_code`),
  )
})

t.test('src/, journal/ and workers/ use only codes in the registry', async (t) => {
  const uses = sourceFiles().flatMap((f) => scan(f, readFileSync(join(root, f), 'utf8')))
  const seen = new Set(uses.map((u) => u.code))
  // The scan really reads the tree: codes known to be used in these positions are found.
  for (const code of ['broker_unavailable', 'journal_full', 'signature_missing', 'not_found']) {
    t.ok(seen.has(code), `the scan finds ${code}`)
  }
  const unknown = uses
    .filter((u) => !isErrorCode(u.code) && !(`${u.file} ${u.code}` in FOREIGN))
    .map((u) => `${u.file}:${u.line} '${u.code}'`)
  t.same(unknown, [], 'every code used in the sources is in src/errors.ts (and docs/errors.md)')
})

failOnLeaks(t)

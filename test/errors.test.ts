import t from 'tap'
import { readFileSync } from 'node:fs'
import { ErrorCodes } from '../src/errors.js'
import { failOnLeaks } from './helpers/leaks.js'

const doc = readFileSync(new URL('../docs/errors.md', import.meta.url), 'utf8')
const documented = new Map<string, string>()
for (const section of doc.split(/^## /m).slice(1)) {
  const m = /^`([a-z_]+)`\s*\n([\s\S]*)$/.exec(section)
  if (m) documented.set(m[1]!, m[2]!)
}

t.test('every error code is documented in docs/errors.md with its status', async (t) => {
  for (const [code, { status }] of Object.entries(ErrorCodes)) {
    const text = documented.get(code)
    t.ok(text, `${code} has a section in docs/errors.md`)
    t.match(
      text ?? '',
      new RegExp(`\\*\\*${status}\\.\\*\\*`),
      `${code} states its status ${status}`,
    )
  }
})

t.test('docs/errors.md documents no code that does not exist', async (t) => {
  for (const code of documented.keys()) t.ok(code in ErrorCodes, `${code} exists in src/errors.ts`)
})

failOnLeaks(t)

import { componentSchemas, type JsonSchema } from './components.js'

/**
 * The operator page's types (src/admin/ui/api-types.d.ts), written from the same JSON Schema
 * the OpenAPI document holds. The page's scripts are plain scripts without imports (page.ts
 * joins them), so they get the types as global declarations of a generated file;
 * test/api-one-source.test.ts fails when that file is stale and rewrites it when asked.
 */

export const PAGE_TYPES_FILE = 'src/admin/ui/api-types.d.ts'

/** `Error` would hide the page's global Error class: the page calls it ApiErrorBody. */
const pageName = (name: string) => (name === 'Error' ? 'ApiErrorBody' : name)
const refName = (ref: string) => pageName(ref.split('/').pop()!)

/** TypeScript for the subset of JSON Schema zod writes for these shapes. */
function tsOf(s: JsonSchema, indent: string): string {
  if (typeof s.$ref === 'string') return refName(s.$ref)
  if (Array.isArray(s.anyOf))
    return (s.anyOf as JsonSchema[]).map((x) => tsOf(x, indent)).join(' | ')
  if (Array.isArray(s.allOf))
    return (s.allOf as JsonSchema[]).map((x) => tsOf(x, indent)).join(' & ')
  if ('const' in s) return JSON.stringify(s.const)
  if (Array.isArray(s.enum)) return s.enum.map((v) => JSON.stringify(v)).join(' | ')
  if (Array.isArray(s.type)) {
    return (s.type as string[]).map((type) => tsOf({ ...s, type }, indent)).join(' | ')
  }
  switch (s.type) {
    case 'string':
      return 'string'
    case 'integer':
    case 'number':
      return 'number'
    case 'boolean':
      return 'boolean'
    case 'null':
      return 'null'
    case 'array':
      return `${wrap(tsOf((s.items as JsonSchema | undefined) ?? {}, indent))}[]`
    case 'object':
      return objectOf(s, indent)
    default:
      return 'unknown'
  }
}

const wrap = (t: string) => (/[|&]/.test(t) ? `(${t})` : t)

function objectOf(s: JsonSchema, indent: string): string {
  const props = (s.properties ?? {}) as Record<string, JsonSchema>
  const extra = s.additionalProperties as JsonSchema | boolean | undefined
  const names = Object.keys(props)
  if (names.length === 0) {
    return typeof extra === 'object'
      ? `Record<string, ${tsOf(extra, indent)}>`
      : 'Record<string, unknown>'
  }
  const required = new Set((s.required ?? []) as string[])
  const inner = `${indent}  `
  const lines = names.map((n) => {
    const p = props[n]!
    const doc = typeof p.description === 'string' ? `${inner}/** ${p.description} */\n` : ''
    return `${doc}${inner}${n}${required.has(n) ? '' : '?'}: ${tsOf(p, inner)}`
  })
  // A loose object (the readiness checks) shows fields of its own besides these.
  if (typeof extra === 'object' && Object.keys(extra).length === 0) {
    lines.push(`${inner}[field: string]: unknown`)
  }
  return `{\n${lines.join('\n')}\n${indent}}`
}

/** The whole file: one global type per component. */
export function pageTypes(): string {
  const types = Object.entries(componentSchemas()).map(([name, s]) => {
    const doc = typeof s.description === 'string' ? `/** ${s.description} */\n` : ''
    return `${doc}type ${pageName(name)} = ${tsOf(s, '')}\n`
  })
  return [
    '// Generated from src/api by src/api/page-types.ts: do not edit. The admin API shapes as',
    "// global types of the operator page's scripts (test/api-one-source.test.ts checks it).",
    '',
    ...types,
    'interface Page<T> {\n  data: T[]\n  nextCursor: string | null\n}\n',
  ].join('\n')
}

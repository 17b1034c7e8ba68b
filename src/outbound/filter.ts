/**
 * A subscription's `filter` (contract: "filter"): a JSON object matched against the event's JSON
 * body when its deliveries are made. Keys are dotted paths (`data.object.amount`) or `$and`,
 * `$or` (arrays of filters) and `$not` (a filter); a value is a literal (equality) or an object
 * of operators. The keys of one object must all hold (AND).
 *
 * It is checked here, with errors naming the path, and compiled to an SQL/JSON path predicate
 * that the store statement evaluates in Postgres (jsonb_path_match, migration 0010's
 * sluice_takes), so the fan-out, replays and operational events all apply the same filter.
 * Paths are lax: a path through an array looks into each element, and a comparison holds when
 * any value found there satisfies it (`tags: "vip"` matches `{"tags":["new","vip"]}`). Every
 * comparison is a filter over the values found (`exists(path ? (@ > 5))`), so a value of
 * another type simply does not match instead of making the whole filter unknown.
 */

export const FILTER_OPERATORS = [
  '$eq',
  '$ne',
  '$gt',
  '$gte',
  '$lt',
  '$lte',
  '$in',
  '$nin',
  '$exists',
  '$prefix',
] as const
type Operator = (typeof FILTER_OPERATORS)[number]

export type Literal = string | number | boolean | null

/** A filter that cannot be used, and where (`filter.$or[1].amount.$gt`). */
export class FilterError extends Error {
  override name = 'FilterError'
  constructor(
    readonly path: string,
    readonly why: string,
  ) {
    super(`${path}: ${why}`)
  }
}

const LIMITS = { depth: 8, conditions: 100, listValues: 100, pathLength: 256 }
const COMPARE: Partial<Record<Operator, string>> = {
  $eq: '==',
  $gt: '>',
  $gte: '>=',
  $lt: '<',
  $lte: '<=',
}
// Postgres text holds neither NUL nor half a UTF-16 surrogate pair (the jsonpath cast fails).
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/
const storable = (s: string) => !s.includes('\u0000') && !LONE_SURROGATE.test(s)
const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v)

/** Compiles `filter` (checked on the way) to a jsonpath predicate; throws FilterError. */
export function compileFilter(filter: unknown, at = 'filter'): string {
  const state = { conditions: 0 }
  if (!isObject(filter)) throw new FilterError(at, 'must be an object')
  return conjunction(filter, at, 0, state)
}

function conjunction(
  f: Record<string, unknown>,
  at: string,
  depth: number,
  s: { conditions: number },
): string {
  if (depth > LIMITS.depth) throw new FilterError(at, `nests deeper than ${LIMITS.depth} levels`)
  const parts = Object.entries(f).map(([key, value]) => {
    const here = `${at}.${key}`
    if (key === '$and' || key === '$or') {
      if (!Array.isArray(value) || value.length === 0 || value.length > LIMITS.conditions) {
        throw new FilterError(here, `must be an array of 1 to ${LIMITS.conditions} filters`)
      }
      const each = value.map((sub, i) => {
        if (!isObject(sub)) throw new FilterError(`${here}[${i}]`, 'must be a filter object')
        return conjunction(sub, `${here}[${i}]`, depth + 1, s)
      })
      return `(${each.join(key === '$and' ? ' && ' : ' || ')})`
    }
    if (key === '$not') {
      if (!isObject(value)) throw new FilterError(here, 'must be a filter object')
      return `!(${conjunction(value, here, depth + 1, s)})`
    }
    if (key.startsWith('$')) {
      throw new FilterError(
        here,
        `unknown operator ${key}; at this level: $and, $or, $not or a field path`,
      )
    }
    return condition(jsonPath(key, here), value, here, s)
  })
  // An empty object matches everything (an empty $and would too, but is refused above).
  return parts.length === 0 ? 'true' : parts.length === 1 ? parts[0]! : `(${parts.join(' && ')})`
}

function condition(path: string, value: unknown, at: string, s: { conditions: number }): string {
  if (!isObject(value)) return test(path, '$eq', value, at, s)
  const ops = Object.entries(value)
  if (ops.length === 0) throw new FilterError(at, 'an empty object matches nothing; give operators')
  const parts = ops.map(([op, operand]) => {
    if (!op.startsWith('$')) {
      throw new FilterError(
        at,
        `an object here holds operators ($eq, $gt, ...), not the field '${op}'; name a field inside with a dotted path (${at.replace(/^filter\./, '')}.${op})`,
      )
    }
    if (!(FILTER_OPERATORS as readonly string[]).includes(op)) {
      throw new FilterError(
        `${at}.${op}`,
        `unknown operator ${op}; allowed: ${FILTER_OPERATORS.join(', ')}`,
      )
    }
    return test(path, op as Operator, operand, `${at}.${op}`, s)
  })
  return parts.length === 1 ? parts[0]! : `(${parts.join(' && ')})`
}

function test(
  path: string,
  op: Operator,
  operand: unknown,
  at: string,
  s: { conditions: number },
): string {
  if (++s.conditions > LIMITS.conditions) {
    throw new FilterError(at, `a filter holds at most ${LIMITS.conditions} conditions`)
  }
  const any = (predicate: string) => `exists(${path} ? (${predicate}))`
  switch (op) {
    case '$exists':
      if (typeof operand !== 'boolean') throw new FilterError(at, 'must be true or false')
      return operand ? `exists(${path})` : `!exists(${path})`
    case '$prefix':
      if (typeof operand !== 'string') throw new FilterError(at, 'must be a string')
      return any(`@ starts with ${literal(operand, at)}`)
    case '$in':
    case '$nin': {
      if (!Array.isArray(operand) || operand.length === 0 || operand.length > LIMITS.listValues) {
        throw new FilterError(at, `must be an array of 1 to ${LIMITS.listValues} values`)
      }
      const one = operand.map((v, i) => `@ == ${literal(v, `${at}[${i}]`)}`).join(' || ')
      return op === '$in' ? any(one) : `!${any(one)}`
    }
    case '$ne':
      return `!${any(`@ == ${literal(operand, at)}`)}`
    default: {
      if (op !== '$eq' && typeof operand !== 'number' && typeof operand !== 'string') {
        throw new FilterError(at, 'must be a number or a string')
      }
      return any(`@ ${COMPARE[op]} ${literal(operand, at)}`)
    }
  }
}

function literal(v: unknown, at: string): string {
  if (v === null || typeof v === 'boolean') return String(v)
  if (typeof v === 'number') {
    if (!Number.isFinite(v)) throw new FilterError(at, 'must be a finite number')
    return JSON.stringify(v)
  }
  if (typeof v === 'string') {
    if (!storable(v)) throw new FilterError(at, 'a string may not hold NUL or a lone surrogate')
    return JSON.stringify(v)
  }
  throw new FilterError(
    at,
    Array.isArray(v)
      ? 'an array is no literal: use $in for any of several values'
      : 'must be a string, number, boolean or null',
  )
}

/** `data.object.amount` as `$."data"."object"."amount"`. */
function jsonPath(dotted: string, at: string): string {
  const segments = dotted.split('.')
  if (dotted.length > LIMITS.pathLength || segments.some((p) => p === '' || !storable(p))) {
    throw new FilterError(
      at,
      `is not a path: dot-separated field names, at most ${LIMITS.pathLength} characters`,
    )
  }
  return `$${segments.map((p) => `.${JSON.stringify(p)}`).join('')}`
}

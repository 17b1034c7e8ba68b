/**
 * The typing half of src/actors/rpc.ts: how an interface becomes a remote proxy on the calling
 * side, and how a property path finds the method on the serving side.
 */
import type { WithTransfer } from './rpc.js'

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- any function shape
type Fn = (...args: any[]) => unknown

/** What a caller receives: the value of a WithTransfer, the answer itself otherwise. */
type Answer<R> = R extends WithTransfer<infer V> ? V : R

/**
 * `T` as seen from the other side of the channel: every method answers with a promise, and
 * objects (e.g. `admin`) are namespaces of methods, reached by their property path.
 */
export type Remote<T> = {
  readonly [K in keyof T]: T[K] extends (...args: infer A) => infer R
    ? (...args: A) => Promise<Answer<Awaited<R>>>
    : T[K] extends object
      ? Remote<T[K]>
      : never
}

/** `T`'s methods as one-way messages: same arguments, no answer. */
export type Casts<T> = {
  readonly [K in keyof T as T[K] extends Fn ? K : never]: T[K] extends (...args: infer A) => unknown
    ? (...args: A) => void
    : never
}

/**
 * A callable Proxy: reading a property gives a deeper proxy, calling it hands the property path
 * and the arguments to `invoke`. No list of names: whatever the caller's interface allows.
 */
export function pathProxy<T>(invoke: (path: string[], args: unknown[]) => unknown): T {
  const at = (path: string[]): unknown =>
    new Proxy(() => {}, {
      get: (_, key) =>
        // `then`: an `await` of a namespace must not look like a promise; symbols: inspection.
        typeof key === 'symbol' || key === 'then' ? undefined : at([...path, key]),
      apply: (_, __, args: unknown[]) => invoke(path, args),
    })
  return at([]) as T
}

/** Names every object inherits: never served, so a caller cannot reach `constructor` & co. */
const inherited = (key: string) => key in Object.prototype || key in Function.prototype

/** The method `path` names on `local` (own or prototype), with the object to call it on. */
export function servedMethod(local: object, path: string[]): { owner: object; method: Fn } {
  let owner: object = local
  let value: unknown = local
  for (const key of path) {
    if (inherited(key) || value === null || typeof value !== 'object') {
      value = undefined
      break
    }
    owner = value
    value = (value as Record<string, unknown>)[key]
  }
  if (typeof value !== 'function' || path.length === 0) {
    throw new Error(`no method ${path.join('.')} on this side of the channel`)
  }
  return { owner, method: value as Fn }
}

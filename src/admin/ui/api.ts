// The admin API as the page uses it (docs/admin-api.md): the bearer token kept in this tab's
// sessionStorage, JSON in and out, 401 handed to the page so it asks for the token again.

const TOKEN_KEY = 'sluice.adminToken'

// The API's shapes are global types generated from src/api (api-types.d.ts); these name parts
// of them the page's functions take.
type JournalCheck = StatusChecks['journal']
type BrokerReport = NonNullable<StatusChecks['broker']>
type DatabaseReport = NonNullable<StatusChecks['database']>
// The broker's and the database's checks with every field, as the page shows them: a check the
// pipeline thread could not fill in has only ok and error (src/api/status.ts).
type BrokerCheck = BrokerReport &
  Required<Pick<BrokerReport, 'name' | 'state' | 'forwarder' | 'consecutiveFailures'>>
type DatabaseCheck = DatabaseReport &
  Required<Pick<DatabaseReport, 'state' | 'consuming' | 'embedded'>>
type DispatcherCheck = NonNullable<StatusChecks['dispatcher']>
type Check = StatusChecks['accepting']
type RatePoint = Status['history']['points'][number]
type FlowState = SubscriptionFlow['state']
type DeliveryStatus = Delivery['status']
type Attempt = DeliveryAttempt

/** A refused token. The page has already been told (onUnauthorized) when this is thrown. */
class Unauthorized extends Error {}

/** Any other error answer, with the API's stable code and its message. */
class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message)
  }
}

const token = (): string | null => sessionStorage.getItem(TOKEN_KEY)
const saveToken = (value: string): void => sessionStorage.setItem(TOKEN_KEY, value)
const forgetToken = (): void => sessionStorage.removeItem(TOKEN_KEY)

/** Dispatched on document when the token is refused; main.ts brings the token form back. */
const UNAUTHORIZED_EVENT = 'sluice:unauthorized'

/** GET without a body, POST with one, unless `method` says otherwise (PATCH). */
async function api<T>(path: string, body?: unknown, method?: string): Promise<T> {
  const bearer = token()
  if (!bearer) throw new Unauthorized('no token')
  const headers: Record<string, string> = { authorization: `Bearer ${bearer}` }
  if (body !== undefined) headers['content-type'] = 'application/json'
  const res = await fetch(path, {
    method: method ?? (body === undefined ? 'GET' : 'POST'),
    headers,
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  })
  if (res.status === 401) {
    forgetToken()
    const message = 'The server refused this token (401 unauthorized). Type it again.'
    document.dispatchEvent(new CustomEvent(UNAUTHORIZED_EVENT, { detail: message }))
    throw new Unauthorized('401')
  }
  if (!res.ok) {
    const err = (await res.json().catch(() => ({}))) as { error?: string; message?: string }
    throw new ApiError(res.status, err.error ?? `http_${res.status}`, err.message ?? res.statusText)
  }
  return (await res.json()) as T
}

/** `/v1/events?source=a&limit=50`, leaving out empty parameters. */
function query(path: string, params: Record<string, string | null | undefined>): string {
  const q = new URLSearchParams()
  for (const [k, v] of Object.entries(params)) if (v) q.set(k, v)
  const s = q.toString()
  return s ? `${path}?${s}` : path
}

/** What to show for a failed request (the 401 is shown by the token form instead). */
function failure(err: unknown): string {
  if (err instanceof ApiError) return `${err.code}: ${err.message}`
  if (err instanceof Error) return `cannot reach the admin API: ${err.message}`
  return String(err)
}

/** A subscription as the bench creates it (the contract's POST /v1/subscriptions body). */
export interface SubscriptionBody {
  url: string
  eventTypes: string[]
  maxInFlight?: number
  ordering?: { key: string } | null
}

/**
 * The engine's admin API as the bench uses it: subscriptions are made the real way, through
 * POST /v1/subscriptions with the bearer token, `parallel` requests at a time.
 */
export function adminClient(base: string, token: string) {
  const call = async (method: string, path: string, body?: unknown, tries = 3) => {
    const res = await fetch(`${base}${path}`, {
      method,
      headers: {
        authorization: `Bearer ${token}`,
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    })
    const text = await res.text()
    // Workaround: DELETE /v1/subscriptions/:id locks the subscription, then its deliveries; the
    // dispatcher's result write locks deliveries, then their subscriptions. With failing
    // subscriptions being deleted under load they deadlock and the API answers 500 (seen in a
    // bench run, 2026-12-04, reported with issue 17). The statement changed nothing: try again.
    if (res.status === 500 && text.includes('deadlock detected') && tries > 1) {
      return call(method, path, body, tries - 1)
    }
    if (res.status >= 300) throw new Error(`${method} ${path}: ${res.status} ${text}`)
    return text === '' ? null : (JSON.parse(text) as { id?: string } & Record<string, unknown>)
  }
  const inParallel = async <T, R>(items: T[], parallel: number, f: (item: T) => Promise<R>) => {
    const out: R[] = new Array<R>(items.length)
    let next = 0
    const worker = async () => {
      for (let i = next++; i < items.length; i = next++) out[i] = await f(items[i]!)
    }
    await Promise.all(Array.from({ length: Math.min(parallel, items.length) }, worker))
    return out
  }
  return {
    /** Creates the subscriptions; resolves with their ids in order. */
    subscribe: (subs: SubscriptionBody[], parallel = 8) =>
      inParallel(subs, parallel, async (s) => {
        const id = (await call('POST', '/v1/subscriptions', s))?.id
        if (!id) throw new Error(`POST /v1/subscriptions answered no id for ${s.url}`)
        return id
      }),
    remove: (ids: string[], parallel = 8) =>
      inParallel(ids, parallel, (id) => call('DELETE', `/v1/subscriptions/${id}`)),
    /** PATCH /v1/subscriptions/:id with the same change for each. */
    patch: (ids: string[], change: Partial<SubscriptionBody>, parallel = 8) =>
      inParallel(ids, parallel, (id) => call('PATCH', `/v1/subscriptions/${id}`, change)),
    /** GET /v1/subscriptions/:id (its `delivery.flow` is this node's flow control). */
    get: (id: string) => call('GET', `/v1/subscriptions/${id}`),
  }
}

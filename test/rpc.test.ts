import t, { type Test } from 'tap'
import { MessageChannel } from 'node:worker_threads'
import { ChannelClosedError, RemoteError, Rpc, WithTransfer } from '../src/actors/rpc.js'

// The typed rpc of src/actors/rpc.ts over a MessageChannel (what a worker and its parentPort
// are): no method names as strings on either side, the interface gives them.

interface Store {
  get(key: string): Promise<string | null>
  put(key: string, value: string): void
}

interface ServerApi {
  add(a: number, b: number): number
  fails(): Promise<never>
  bytes(n: number): WithTransfer<ArrayBuffer>
  readonly store: Store
}

interface ClientApi {
  seen(note: string): void
}

class MapStore implements Store {
  private readonly map = new Map<string, string>()
  async get(key: string) {
    return this.map.get(key) ?? null
  }
  put(key: string, value: string) {
    this.map.set(key, value)
  }
}

/** An object whose methods live on its prototype, as a class instance's do. */
class Server implements ServerApi {
  readonly store = new MapStore()
  add(a: number, b: number) {
    return a + b
  }
  async fails(): Promise<never> {
    throw Object.assign(new Error('refused'), { code: 'nope' })
  }
  bytes(n: number) {
    const buffer = new Uint8Array(n).fill(7).buffer
    return new WithTransfer(buffer, [buffer])
  }
}

function pair(t: Test) {
  const { port1, port2 } = new MessageChannel()
  const notes: string[] = []
  const client = new Rpc<ServerApi>(port1, { seen: (note: string) => void notes.push(note) })
  const server = new Rpc<ClientApi>(port2, new Server())
  t.teardown(() => {
    port1.close()
    port2.close()
  })
  return { client, server, notes }
}

t.test('calls prototype methods and namespaces through the typed proxy', async (t) => {
  const { client } = pair(t)
  t.equal(await client.remote.add(2, 3), 5)
  await client.remote.store.put('k', 'v')
  t.equal(await client.remote.store.get('k'), 'v', 'a method of a nested object, `this` kept')
  t.equal(await client.remote.store.get('missing'), null)
  const bytes = await client.remote.bytes(4)
  t.ok(bytes instanceof ArrayBuffer, 'a WithTransfer answers with its value')
  t.same([...new Uint8Array(bytes)], [7, 7, 7, 7])
})

t.test('errors cross with their message and code', async (t) => {
  const { client } = pair(t)
  await t.rejects(client.remote.fails(), { name: 'RemoteError', message: 'refused', code: 'nope' })
  const loose = client.remote as unknown as Record<string, () => Promise<unknown>>
  await t.rejects(loose.missing!(), RemoteError, 'a method the server lacks')
  for (const inherited of ['constructor', 'toString', 'hasOwnProperty', '__proto__']) {
    await t.rejects(loose[inherited]!(), /no method/, `${inherited} is not served`)
  }
  const store = client.remote.store as unknown as Record<string, () => Promise<unknown>>
  await t.rejects(store.map!(), /no method/, 'a field that is not a method')
})

t.test('casts are one-way calls, both directions', async (t) => {
  const { server, notes } = pair(t)
  server.cast.seen('one')
  server.cast.seen('two')
  t.equal(await server.remote.seen('three'), undefined, 'the same method called answers undefined')
  t.same(notes, ['one', 'two', 'three'], 'in order')
})

t.test('a namespace is not a promise (await on it does not hang)', async (t) => {
  const { client } = pair(t)
  const store = await Promise.resolve(client.remote.store)
  t.equal(await store.get('nothing'), null)
})

t.test('fail() rejects pending and later calls', async (t) => {
  const { port1 } = new MessageChannel()
  t.teardown(() => port1.close())
  const orphan = new Rpc<ServerApi>(port1, {})
  const pending = orphan.remote.add(1, 1)
  orphan.fail()
  await t.rejects(pending, ChannelClosedError)
  await t.rejects(orphan.remote.add(1, 1), ChannelClosedError)
})

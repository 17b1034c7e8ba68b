import { AdminCallError, adminClient, exitCodeOf } from './admin-client.js'
import type { SubscriptionInput } from '../client/index.js'
import { ExitCode, parseCommand, usageError, type CommandSpec } from './args.js'
import { commandConfig } from './config.js'

export const subscriptionsListSpec: CommandSpec = {
  name: 'sluice subscriptions list',
  synopsis: '[--status active|disabled] [--limit N] [--cursor C]',
  description:
    "The subscriptions, oldest first, from the running engine's GET /v1/subscriptions: one JSON\n" +
    'object per line, with its filter and ordering and how its deliveries stand (pending,\n' +
    'failed, failingSince, flow: normal, narrowed, held or paused).\n' +
    'When more match, a last line {"nextCursor":"..."} gives the --cursor of the next page.',
  options: {
    status: { type: 'string', help: 'only active or only disabled ones' },
    limit: { type: 'string', help: 'at most this many, 1-1000 (default 100)' },
    cursor: { type: 'string', help: 'continue where the previous page ended' },
  },
}

export const subscriptionsAddSpec: CommandSpec = {
  name: 'sluice subscriptions add',
  synopsis: '--url URL [--type T]... [--source S]... [--header "Name: value"]... [options]',
  description:
    'Subscribes URL to stored events (POST /v1/subscriptions). With the same url, types and\n' +
    'sources as an existing subscription, that one is updated: only what the options give\n' +
    'changes, an option left out keeps its value. Prints the subscription as JSON, with its\n' +
    'signing secret when one was made or given (a new subscription, or --secret): keep it, it\n' +
    'is not shown again. Exit code 2 when the engine refuses a value given here; 1 when it\n' +
    'refuses for another reason, e.g. a destination its SLUICE_OUTBOUND_ALLOW does not allow\n' +
    "(the engine's setting: restart the engine with it). --filter takes a JSON object matched\n" +
    "against each event's JSON body (docs/outbound.md, Filters), e.g.\n" +
    '--filter \'{"data.amount": {"$gte": 100}}\'; --ordering-key a JSON pointer into it: events\n' +
    'with the same value there are delivered one at a time, in the order received.',
  options: {
    url: { type: 'string', help: 'the http:// or https:// URL deliveries are POSTed to' },
    type: { type: 'string', multiple: true, help: 'an event type, or a prefix ending in *' },
    source: { type: 'string', multiple: true, help: 'a source name (default: every source)' },
    header: { type: 'string', multiple: true, help: 'a header added to every delivery' },
    secret: { type: 'string', help: 'a whsec_ secret to sign with (default: a new one)' },
    'max-in-flight': { type: 'string', help: 'deliveries at once to it, 1-1000 (default 10)' },
    rate: { type: 'string', help: 'at most this many deliveries per second to it' },
    description: { type: 'string', help: 'a note for operators' },
    filter: { type: 'string', help: 'a filter object, as JSON (default: every event)' },
    'ordering-key': { type: 'string', help: 'a JSON pointer, e.g. /customer/id (default: none)' },
  },
}

export const subscriptionsDisableSpec: CommandSpec = {
  name: 'sluice subscriptions disable',
  synopsis: '--id ID',
  description:
    'Stops deliveries to a subscription (PATCH status disabled); its pending deliveries wait\n' +
    'until it is enabled again (`sluice subscriptions enable --id ID`). Exit code 1 when\n' +
    'there is no such subscription.',
  options: { id: { type: 'string', help: 'the subscription id' } },
}

const subscriptionsEnableSpec: CommandSpec = {
  ...subscriptionsDisableSpec,
  name: 'sluice subscriptions enable',
  description:
    'Resumes deliveries to a disabled subscription (PATCH status active): its pending deliveries\n' +
    'are attempted again. It resumes a paused one too. Exit code 1 when there is no such\n' +
    'subscription.',
}

/** The same PATCH as enable, under the name the page and the operational events use. */
const subscriptionsResumeSpec: CommandSpec = {
  ...subscriptionsDisableSpec,
  name: 'sluice subscriptions resume',
  description:
    'Resumes a subscription paused by flow control now, without waiting for a probe to succeed\n' +
    '(PATCH status active, as enable does; a disabled one is enabled): its count of failures in\n' +
    'a row starts again from 0 and deliveries go again, from one in flight, widening as they\n' +
    'succeed. Exit code 1 when there is no such subscription.',
}

const SPECS: Record<string, CommandSpec> = {
  list: subscriptionsListSpec,
  add: subscriptionsAddSpec,
  disable: subscriptionsDisableSpec,
  enable: subscriptionsEnableSpec,
  resume: subscriptionsResumeSpec,
}
const GROUP = { name: 'sluice subscriptions', synopsis: 'list|add|disable|enable|resume [options]' }

/** `--header "Name: value"` into the headers object; a bad one is a usage error. */
function headers(given: string[]): Record<string, string> {
  return Object.fromEntries(
    given.map((h) => {
      const at = h.indexOf(':')
      if (at < 1) throw new Error(`--header '${h}' must be "Name: value"`)
      return [h.slice(0, at).trim(), h.slice(at + 1).trim()]
    }),
  )
}

/** `--filter JSON`: an object (the API checks its operators); anything else is a usage error. */
function filter(given: string): Record<string, unknown> {
  let value: unknown
  try {
    value = JSON.parse(given)
  } catch (err) {
    throw new Error(`--filter is not JSON: ${(err as Error).message}`, { cause: err })
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new Error('--filter must be a JSON object, e.g. \'{"type": "order.paid"}\'')
  }
  return value as Record<string, unknown>
}

/** The POST body of `add`: only what was given, so the API's defaults apply to the rest. */
function addBody(v: Record<string, string | string[] | undefined>): Record<string, unknown> {
  const list = (k: string) => v[k] as string[] | undefined
  const number = (k: string) => {
    const n = Number(v[k])
    if (!Number.isFinite(n)) throw new Error(`--${k} must be a number`)
    return n
  }
  return {
    url: v.url,
    ...(list('type') ? { eventTypes: list('type') } : {}),
    ...(list('source') ? { sources: list('source') } : {}),
    ...(list('header') ? { headers: headers(list('header')!) } : {}),
    ...(v.secret ? { secret: v.secret } : {}),
    ...(v['max-in-flight'] ? { maxInFlight: number('max-in-flight') } : {}),
    ...(v.rate
      ? { rateLimit: { perSecond: number('rate'), burst: Math.max(1, Math.ceil(number('rate'))) } }
      : {}),
    ...(v.description ? { description: v.description } : {}),
    ...(v.filter !== undefined ? { filter: filter(v.filter as string) } : {}),
    ...(v['ordering-key'] !== undefined ? { ordering: { key: v['ordering-key'] } } : {}),
  }
}

/** `sluice subscriptions list|add|disable|enable|resume`: resolves with the exit code. */
export async function subscriptionsCommand(args: string[]): Promise<number> {
  const [action, ...rest] = args
  const spec = action ? SPECS[action] : undefined
  if (!spec) {
    if (action === '--help' || action === '-h') {
      process.stdout.write(`Usage: ${GROUP.name} ${GROUP.synopsis}; see ${GROUP.name} add --help\n`)
      return ExitCode.ok
    }
    return usageError(GROUP, new Error(action ? `unknown action '${action}'` : 'missing action'))
  }
  const parsed = parseCommand(spec, rest)
  if (!parsed.ok) return parsed.exitCode
  const v = parsed.values as Record<string, string | string[] | undefined>
  if (action === 'add' && !v.url) return usageError(spec, new Error('--url is required'))
  if (action !== 'list' && action !== 'add' && !v.id) {
    return usageError(spec, new Error('--id is required'))
  }
  let body: Record<string, unknown> | undefined
  try {
    if (action === 'add') body = addBody(v)
  } catch (err) {
    return usageError(spec, err)
  }
  const config = commandConfig()
  if (!config) return ExitCode.usage
  const client = adminClient(config)
  const out = (line: unknown) => process.stdout.write(`${JSON.stringify(line)}\n`)
  try {
    if (action === 'list') {
      const query = Object.fromEntries(
        Object.entries(v).filter((e): e is [string, string] => typeof e[1] === 'string'),
      )
      const page = await client.listSubscriptions(query)
      for (const s of page.data) out(s)
      if (page.nextCursor) out({ nextCursor: page.nextCursor })
    } else if (action === 'add') {
      // Validated by the engine (its SLUICE_OUTBOUND_ALLOW too), which names a bad field.
      out(await client.putSubscription(body as SubscriptionInput))
    } else {
      const status = action === 'disable' ? 'disabled' : 'active'
      out(await client.patchSubscription(v.id as string, { status }))
    }
    return ExitCode.ok
  } catch (err) {
    if (!(err instanceof AdminCallError)) throw err
    process.stderr.write(`${spec.name}: ${err.message}\n`)
    return exitCodeOf(err)
  }
}

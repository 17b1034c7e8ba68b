import t from 'tap'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { pino } from 'pino'
import { parse } from 'yaml'
import { loadConfig } from '../src/config.js'
import { Engine } from '../src/engine.js'
import { freshDatabase } from './helpers/pg.js'
import { post } from './helpers/post.js'
import { until } from './helpers/wait.js'
import { failOnLeaks } from './helpers/leaks.js'

/**
 * Every metric the Grafana dashboard and the Prometheus alert rules (deploy/) query is one the
 * engine exports: a running engine is scraped and the metric names are parsed out of the PromQL.
 * A renamed metric, or a query with a typo, fails here instead of showing an empty panel or an
 * alert that can never fire. The label names a selector matches on must exist on that metric.
 */
const root = fileURLToPath(new URL('..', import.meta.url))
const dashboard = JSON.parse(
  readFileSync(`${root}deploy/grafana/dashboards/sluice.json`, 'utf8'),
) as {
  panels: Array<{ title: string; targets?: Array<{ expr: string }> }>
  templating: { list: Array<{ definition?: string }> }
}
const alerts = parse(readFileSync(`${root}deploy/prometheus/alerts.yml`, 'utf8')) as {
  groups: Array<{ rules: Array<{ alert: string; expr: string }> }>
}
const queries: Array<{ where: string; expr: string }> = [
  ...dashboard.panels.flatMap((p) =>
    (p.targets ?? []).map((q) => ({ where: `panel "${p.title}"`, expr: q.expr })),
  ),
  ...dashboard.templating.list
    .filter((v) => v.definition)
    .map((v) => ({ where: 'a dashboard variable', expr: v.definition! })),
  ...alerts.groups.flatMap((g) =>
    g.rules.map((r) => ({ where: `alert ${r.alert}`, expr: r.expr })),
  ),
]
/** Recorded by Prometheus for every scrape target, not by the engine. */
const PROMETHEUS_MADE = new Set(['up'])
const KEYWORDS = new Set(['and', 'or', 'unless', 'offset', 'bool', 'inf', 'nan'])
const BY_CLAUSE = /\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g

/** The metrics a PromQL expression selects, each with the label names its matchers use. */
function selectors(expr: string): Map<string, Set<string>> {
  const out = new Map<string, Set<string>>()
  let e = expr
    .replace(/\$__\w+/g, '5m') // Grafana's interval variables stand for durations
    .replace(/"(?:[^"\\]|\\.)*"/g, '""')
    .replace(BY_CLAUSE, '')
    .replace(/\[[^\]]*\]/g, '')
  // name{matchers}: note the label names, then drop the braces.
  e = e.replace(
    /([a-zA-Z_:][\w:]*)?\s*\{([^}]*)\}/g,
    (_, name: string | undefined, body: string) => {
      const labels = [...body.matchAll(/([a-zA-Z_]\w*)\s*(=~|!~|!=|=)/g)].map((m) => m[1]!)
      if (name) out.set(name, new Set([...(out.get(name) ?? []), ...labels]))
      return ` ${name ?? ''} `
    },
  )
  for (const m of e.matchAll(/(?<![\w.$:])([a-zA-Z_:][\w:]*)(?![\w:]|\s*\()/g)) {
    const name = m[1]!
    if (!KEYWORDS.has(name.toLowerCase()) && !out.has(name)) out.set(name, new Set())
  }
  return out
}

t.test('the query parser finds metrics and their matchers', async (t) => {
  const s = selectors(
    'histogram_quantile(0.99, sum by (le, source) (rate(a_seconds_bucket{instance=~"$x",code!="a{b}"}[$__rate_interval]))) / on (instance) b_total offset 5m > 0.5',
  )
  t.same([...s.keys()].sort(), ['a_seconds_bucket', 'b_total'])
  t.same([...s.get('a_seconds_bucket')!], ['instance', 'code'])
  t.same(
    [...selectors('label_values(sluice_build_info, instance)').keys()],
    ['sluice_build_info', 'instance'],
  )
})

const ADMIN_TOKEN = 'dashboard-admin-token-0123456789'

t.test('every metric the dashboard and the alerts query is exported', async (t) => {
  const db = await freshDatabase('sluice_dashboard')
  const dir = mkdtempSync(join(tmpdir(), 'sluice-dashboard-'))
  const SLUICE_CONFIG = join(dir, 'sources.json')
  writeFileSync(
    SLUICE_CONFIG,
    JSON.stringify({ sources: { signed: { verify: { type: 'github', secret: 'dashboard' } } } }),
  )
  const config = loadConfig({
    PORT: '0',
    HOST: '127.0.0.1',
    SLUICE_ADMIN_PORT: '0',
    SLUICE_DATA_DIR: dir,
    DATABASE_URL: db.url,
    SLUICE_CONFIG,
    SLUICE_WORKERS: '1',
    SLUICE_BURST_LAG_MS: '0',
    SLUICE_ADMIN_TOKEN: ADMIN_TOKEN,
    SLUICE_OUTBOUND_ALLOW: '127.0.0.0/8',
  })
  const engine = new Engine(config, {
    logger: pino({ level: 'silent' }),
    pipeline: { deadLetterCountMs: 100 },
  })
  t.teardown(async () => {
    await engine.close()
    await db.drop()
    rmSync(dir, { recursive: true, force: true })
  })
  await engine.start()
  await engine.pipeline.ready()
  const base = `http://127.0.0.1:${engine.port}`
  // The dispatcher thread, whose metrics the dashboard shows too, runs once a subscription
  // exists: one for a source nothing is posted to, so there is nothing to deliver.
  const made = await fetch(`http://127.0.0.1:${engine.adminPort}/v1/subscriptions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' },
    body: JSON.stringify({ url: 'http://127.0.0.1:9/hook', sources: ['signed'] }),
  })
  t.equal(made.status, 201, 'a subscription, so the dispatcher thread runs')
  // Traffic, so labelled series and histograms have samples: accepted, stored, refused.
  for (let i = 0; i < 3; i++) {
    t.equal(
      (await post(`${base}/webhook`, `{"i":${i}}`, { 'idempotency-key': `d-${i}` })).status,
      200,
    )
  }
  t.equal((await post(`${base}/webhook/signed`, '{}')).status, 401)
  const scrape = async () => (await fetch(`${base}/metrics`)).text()
  await until('the events are stored', async () =>
    /^sluice_events_processed_total\{outcome="stored"\} 3$/m.test(await scrape()),
  )
  await until('the database is up', async () => /^sluice_database_up 1$/m.test(await scrape()))
  // The dispatcher thread's first count of the subscriptions (its gauges have no series before).
  await until('subscriptions counted', async () =>
    /^sluice_subscriptions\{state="active"\} 1$/m.test(await scrape()),
  )

  const text = await scrape()
  const types = new Map(
    [...text.matchAll(/^# TYPE (\S+) (\S+)$/gm)].map((m) => [m[1]!, m[2]!] as const),
  )
  /** Label names seen on each exported series name. */
  const labels = new Map<string, Set<string>>()
  for (const m of text.matchAll(/^([a-zA-Z_:][\w:]*)(?:\{([^}]*)\})? \S+$/gm)) {
    const names = [...(m[2] ?? '').matchAll(/(\w+)="/g)].map((l) => l[1]!)
    labels.set(m[1]!, new Set([...(labels.get(m[1]!) ?? []), ...names]))
  }
  /** A histogram's _bucket, _sum and _count are its base name's. */
  const exported = (name: string) => {
    const base = name.replace(/_(bucket|sum|count)$/, '')
    return types.has(name) || (types.get(base) === 'histogram' && labels.has(name))
  }

  const named = new Set<string>()
  for (const { where, expr } of queries) {
    for (const [name, matched] of selectors(expr)) {
      if (name === 'instance') continue // label_values(metric, instance)
      named.add(name)
      if (PROMETHEUS_MADE.has(name)) continue
      t.ok(exported(name), `${name} (${where}) is exported`)
      t.ok(labels.has(name), `${name} (${where}) has samples`)
      for (const label of matched) {
        // Prometheus adds the target's labels; histograms' buckets carry le.
        if (['instance', 'job', 'le'].includes(label)) continue
        t.ok(labels.get(name)?.has(label), `${name} has the label ${label} (${where})`)
      }
    }
  }
  // The parse found the metrics the panels and alerts are about, so the loop above checked them.
  for (const name of [
    'sluice_broker_up',
    'sluice_database_up',
    'sluice_dead_letters',
    'sluice_journal_oldest_pending_age_seconds',
    'sluice_ingest_duration_seconds_bucket',
    'sluice_http_responses_total',
    'sluice_events_processed_total',
    'process_cpu_seconds_total',
    'sluice_subscriptions',
    'sluice_subscriptions_disabled_total',
    'sluice_deliveries_oldest_pending_age_seconds',
    'sluice_deliveries_total',
    'up',
  ]) {
    t.ok(named.has(name), `the queries name ${name}`)
  }
  t.ok(named.size >= 20, `${named.size} metric names in ${queries.length} queries`)
})

failOnLeaks(t)

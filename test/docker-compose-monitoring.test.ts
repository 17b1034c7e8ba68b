import t from 'tap'
import { existsSync, readFileSync, statSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { parse } from 'yaml'
import { failOnLeaks } from './helpers/leaks.js'

/**
 * The optional monitoring services of docker-compose.yml (no Docker engine here: the files are
 * parsed): Prometheus and Grafana behind `--profile monitoring`, configured from deploy/, wired
 * to the sluice service and to each other. test/dashboard-metrics.test.ts checks the queries.
 */
const root = fileURLToPath(new URL('..', import.meta.url))
const compose = parse(readFileSync(`${root}docker-compose.yml`, 'utf8')) as {
  services: Record<string, Service>
  volumes?: Record<string, unknown>
}
interface Service {
  command?: string[]
  environment?: Record<string, string>
  ports?: string[]
  volumes?: string[]
  depends_on?: Record<string, unknown>
  profiles?: string[]
  healthcheck?: { test?: string[] | string }
}
const containerPorts = (s: Service | undefined) =>
  (s?.ports ?? []).map((p) => Number(String(p).split(':').pop()))
const sluicePort = Number(compose.services.sluice?.environment?.PORT)

/** A service's bind mounts (`./host:container[:ro]`) as host path (from the repo root) and target. */
const bindMounts = (s: Service | undefined) =>
  (s?.volumes ?? [])
    .filter((v) => v.startsWith('./'))
    .map((v) => {
      const [host, target] = v.split(':')
      return { host: `${root}${host!.slice(2)}`, target: target! }
    })
/** The repo file a container path of this service comes from (through a bind mount), or null. */
const hostPathOf = (s: Service | undefined, containerPath: string) => {
  for (const m of bindMounts(s)) {
    if (containerPath === m.target) return m.host
    if (containerPath.startsWith(`${m.target}/`))
      return m.host + containerPath.slice(m.target.length)
  }
  return null
}

t.test('monitoring: Prometheus and Grafana only with --profile monitoring', async (t) => {
  for (const name of ['prometheus', 'grafana']) {
    const service = compose.services[name]
    t.same(service?.profiles, ['monitoring'], `${name} is behind the monitoring profile`)
    const mounts = bindMounts(service)
    t.ok(mounts.length > 0, `${name} mounts its configuration from deploy/`)
    for (const m of mounts) {
      t.ok(m.host.startsWith(`${root}deploy/`), `${m.host} is under deploy/`)
      t.ok(existsSync(m.host), `${m.host} exists (mounted at ${m.target})`)
    }
    const check = service?.healthcheck
    t.ok(
      Array.isArray(check?.test) && /^CMD(-SHELL)?$/.test(String(check?.test[0])),
      'a healthcheck',
    )
    t.match(String(check?.test), new RegExp(`localhost:${containerPorts(service)[0]}/`))
  }
  t.match(compose.services.grafana?.depends_on, { prometheus: { condition: 'service_healthy' } })
  for (const name of ['prometheus', 'grafana']) {
    for (const port of compose.services[name]?.ports ?? []) {
      t.match(port, /^127\.0\.0\.1:/, `${name} is published on the host's loopback only`)
    }
  }
  t.equal(
    compose.services.grafana?.environment?.GF_SECURITY_ADMIN_PASSWORD__FILE,
    '/run/secrets/grafana-admin-password',
    "Grafana's admin password is a secret file, not admin/admin",
  )
  for (const volume of ['prometheus-data', 'grafana-data']) {
    t.ok(Object.keys(compose.volumes ?? {}).includes(volume), `named volume ${volume}`)
  }
})

t.test('Prometheus scrapes the sluice service and loads the alert rules', async (t) => {
  const prometheus = compose.services.prometheus
  const configArg = prometheus?.command
    ?.find((a) => a.startsWith('--config.file='))
    ?.slice('--config.file='.length)
  t.ok(configArg, 'the config file is given')
  const configPath = hostPathOf(prometheus, configArg!)
  t.ok(configPath && existsSync(configPath), `${configArg} is mounted from the repo`)
  const config = parse(readFileSync(configPath!, 'utf8')) as {
    rule_files: string[]
    scrape_configs: Array<{
      job_name: string
      metrics_path?: string
      static_configs: Array<{ targets: string[] }>
    }>
  }
  const job = config.scrape_configs.find((j) => j.job_name === 'sluice')
  t.ok(job, 'a sluice job (the alerts select job="sluice")')
  t.equal(job?.metrics_path ?? '/metrics', '/metrics')
  t.same(
    job?.static_configs.flatMap((c) => c.targets),
    [`sluice:${sluicePort}`],
    'the webhook port',
  )
  t.ok(containerPorts(compose.services.sluice).includes(sluicePort))
  t.ok(config.rule_files.length > 0)
  for (const file of config.rule_files) {
    const host = hostPathOf(prometheus, file)
    t.ok(host && existsSync(host), `rule file ${file} is mounted from the repo`)
    const rules = parse(readFileSync(host!, 'utf8')) as {
      groups: Array<{
        rules: Array<{ alert: string; expr: string; labels?: { severity?: string } }>
      }>
    }
    const all = rules.groups.flatMap((g) => g.rules)
    t.ok(all.length >= 4, `${all.length} rules`)
    for (const r of all) {
      t.match(r, { alert: /^Sluice\w+$/, expr: /\S/, labels: { severity: /^(warning|critical)$/ } })
    }
  }
})

t.test('Grafana gets Prometheus as data source and the Sluice dashboard', async (t) => {
  const grafana = compose.services.grafana
  const datasourceDir = hostPathOf(grafana, '/etc/grafana/provisioning/datasources')
  t.ok(datasourceDir && statSync(datasourceDir).isDirectory(), 'data sources are provisioned')
  const ds = parse(readFileSync(`${datasourceDir}/prometheus.yml`, 'utf8')) as {
    datasources: Array<{ type: string; url: string }>
  }
  const url = new URL(ds.datasources.find((d) => d.type === 'prometheus')!.url)
  t.equal(url.hostname, 'prometheus', 'the prometheus service')
  t.ok(containerPorts(compose.services.prometheus).includes(Number(url.port)))

  const providerDir = hostPathOf(grafana, '/etc/grafana/provisioning/dashboards')
  const providers = parse(readFileSync(`${providerDir}/sluice.yml`, 'utf8')) as {
    providers: Array<{ type: string; options: { path: string } }>
  }
  const dashboards = hostPathOf(grafana, providers.providers[0]!.options.path)
  t.ok(dashboards && existsSync(`${dashboards}/sluice.json`), 'the provider finds sluice.json')
  const home = grafana?.environment?.GF_DASHBOARDS_DEFAULT_HOME_DASHBOARD_PATH ?? ''
  t.ok(existsSync(hostPathOf(grafana, home) ?? ''), 'the home dashboard is the mounted one')
  const dashboard = JSON.parse(readFileSync(`${dashboards}/sluice.json`, 'utf8')) as {
    uid: string
    panels: Array<{ type: string; datasource?: { uid: string } }>
  }
  t.equal(dashboard.uid, 'sluice')
  const data = dashboard.panels.filter((p) => p.type !== 'row')
  t.ok(data.length >= 10, `${data.length} panels`)
  t.ok(
    data.every((p) => p.datasource?.uid === '${datasource}'),
    'every panel uses the data source variable (works provisioned and imported)',
  )
})

failOnLeaks(t)

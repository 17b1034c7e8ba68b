import type { EnvConfig } from '../config.js'
import { tracingOptions, type TracingConfig } from './types.js'

/** What Sluice sends, whatever the OpenTelemetry variables ask for. */
export const EXPORTED_AS = 'OTLP/HTTP JSON'

/** A variable whose value Sluice does not follow: logged as a warning at start, not refused. */
export interface TracingWarning {
  variable: string
  value: string
  message: string
}

type WarningConfig = TracingConfig &
  Pick<EnvConfig, 'OTEL_EXPORTER_OTLP_PROTOCOL' | 'OTEL_EXPORTER_OTLP_TRACES_PROTOCOL'>

/**
 * The OpenTelemetry variables set to something Sluice does not do (another protocol, another
 * exporter), with tracing on. An operator's environment is often shared with other services'
 * SDKs, so these are warnings: refusing to start over them would stop ingestion over tracing.
 * With tracing off nothing is sent, so there is nothing to warn about.
 */
export function tracingWarnings(config: WarningConfig): TracingWarning[] {
  if (tracingOptions(config, 'main') === null) return []
  const warnings: TracingWarning[] = []
  // The traces-specific variable wins over the general one (the OTLP exporter specification).
  const variable =
    config.OTEL_EXPORTER_OTLP_TRACES_PROTOCOL !== undefined
      ? 'OTEL_EXPORTER_OTLP_TRACES_PROTOCOL'
      : 'OTEL_EXPORTER_OTLP_PROTOCOL'
  const protocol = config[variable]
  if (protocol !== undefined && protocol.trim().toLowerCase() !== 'http/json') {
    warnings.push({
      variable,
      value: protocol,
      message: `${variable} is ${protocol}, but Sluice exports spans as ${EXPORTED_AS} only: the collector must accept that (on its OTLP/HTTP port, usually 4318)`,
    })
  }
  const others = config.OTEL_TRACES_EXPORTER.filter((e) => e !== 'otlp')
  if (others.length > 0) {
    const value = config.OTEL_TRACES_EXPORTER.join(',')
    warnings.push({
      variable: 'OTEL_TRACES_EXPORTER',
      value,
      message: `OTEL_TRACES_EXPORTER is ${value}, but Sluice exports spans as ${EXPORTED_AS} only (to the OTLP endpoint); ${others.join(', ')} ignored`,
    })
  }
  return warnings
}

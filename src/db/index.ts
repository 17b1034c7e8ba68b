/** The database side of Sluice: what the engine, the consumer and the CLI import. */
export { openDatabase, migrateCommand, type Database, type DatabaseOptions } from './database.js'
export { startEmbeddedPostgres, type EmbeddedOptions, type EmbeddedPostgres } from './embedded.js'
export { DatabaseUnavailableError, SchemaTooNewError, isConnectionError } from './errors.js'
export { clearFailures, getFailures, recordFailure, type FailureRecord } from './failures.js'
export { Maintenance, type MaintenanceOptions, type MaintenanceRun } from './maintenance.js'
export { migrate, readMigrations, type MigrateResult } from './migrate.js'
export { ping, type PingResult } from './ping.js'
export {
  createPool,
  WorkerPool,
  type EventResult,
  type StorableEvent,
  type WorkerPoolOptions,
} from './worker-pool.js'

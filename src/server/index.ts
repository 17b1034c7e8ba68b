export { HttpServer, type HttpServerOptions } from './http-server.js'
export type { ReadinessCheck, ReadinessFn } from './probes.js'
export { resolveEventId, ID_HEADERS, MAX_EVENT_ID_LENGTH } from './event-id.js'
export { isNativeUws } from './uws.js'

import uWS from 'uWebSockets.js'

export { uWS }
export type { HttpRequest, HttpResponse, TemplatedApp, us_listen_socket } from 'uWebSockets.js'

/**
 * The npm alias falls back to a slow pure-Node implementation when no native binary matches
 * this Node ABI. Only the native module exports `getParts`, so its absence betrays the fallback.
 */
export const isNativeUws: boolean = typeof (uWS as { getParts?: unknown }).getParts === 'function'

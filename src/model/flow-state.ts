/**
 * Flow control state of a subscription on a node: `normal`, `narrowed` (fewer attempts in
 * flight after congestion), `held` (a receiver's Retry-After) or `paused`. Below both the
 * dispatcher, which decides it (src/dispatcher/flow.ts), and the admin API's shapes, which show it.
 */
export type FlowState = 'normal' | 'narrowed' | 'held' | 'paused'

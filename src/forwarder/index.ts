export { Forwarder, type ForwarderJournal, type ForwarderStatus } from './forwarder.js'
export { forwarderDefaults, type ForwarderOptions } from './options.js'

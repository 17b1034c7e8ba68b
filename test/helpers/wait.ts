// The test kit's (sluice/testing) poll-until, shared with users' tests.
export { until } from '../../src/testing/until.js'

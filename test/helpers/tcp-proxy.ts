// The fault proxy of the test kit (sluice/testing), under the name Sluice's tests know it by.
export { FaultProxy as TcpProxy } from '../../src/testing/fault-proxy.js'

// The engine child of the test kit (sluice/testing), under the name Sluice's tests know it by.
export { EngineProcess as EngineChild } from '../../src/testing/engine-process.js'

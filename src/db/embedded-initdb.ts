/**
 * Worker-thread body that initialises the embedded database's directory and ends
 * (src/db/embedded-memory.ts says why in a thread of its own). An error fails the thread.
 */
import { workerData } from 'node:worker_threads'
import { PGlite } from '@electric-sql/pglite'
import { nameThread } from '../actors/thread-self.js'
import { embeddedOptions } from './embedded-memory.js'

nameThread('sluice-pg-initdb')
const { dir } = workerData as { dir: string }
const db = await PGlite.create(dir, embeddedOptions())
await db.close()

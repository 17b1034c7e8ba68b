// Writes docs/configuration.md from the environment schema (src/config.ts) and its descriptions
// (src/config-descriptions.ts). Run through tap's TypeScript loader, so no build is needed:
// `npm run docs:config`. test/config-doc.test.ts fails when the committed file is stale.
import { writeFileSync } from 'node:fs'
import { renderConfigDoc } from '../src/config-doc.js'

const target = new URL('../docs/configuration.md', import.meta.url)
writeFileSync(target, renderConfigDoc())
console.log(`wrote ${target.pathname}`)

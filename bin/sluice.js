#!/usr/bin/env node
// Thin launcher: production runs the compiled dist/ (see README, "Building").
import { main } from '../dist/src/cli.js'

main(process.argv.slice(2)).then(
  (code) => {
    if (typeof code === 'number') process.exitCode = code
  },
  (err) => {
    console.error(err instanceof Error ? err.message : err)
    process.exitCode = 1
  },
)

#!/usr/bin/env node
// Thin launcher: production runs the compiled dist/ (`npm run build`; `npm start` builds first).
import '../dist/src/main.js'

#!/usr/bin/env node
// Entry for the compiled CLI (`npm run build:node` first). Development runs src/host/cli.ts through tsx.
import '../dist/host/cli.js';

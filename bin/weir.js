#!/usr/bin/env node
// The weir command: loads the TypeScript CLI through tsx so job modules written in TypeScript load as they are.
import { register } from 'tsx/esm/api'
register()
const { main } = await import('../src/cli/main.ts')
await main(process.argv)

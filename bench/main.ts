/**
 * `npm run bench -- <name> [args]`: runs one benchmark (or all of them without a name). Every
 * benchmark prints the engine's figure beside a hand-written baseline measured in the same run.
 */
const benchmarks: Record<string, () => Promise<{ run: (args: string[]) => Promise<void> }>> = {
  'checkpoint-alignment': () => import('./checkpoint-alignment.ts'),
  'cluster-scale': () => import('./cluster-scale.ts'),
  connectors: () => import('./connectors.ts'),
  nexmark: () => import('./nexmark/bench.ts'),
}

const [name, ...args] = process.argv.slice(2)
const names = name ? [name] : Object.keys(benchmarks)
for (const n of names) {
  const load = benchmarks[n]
  if (!load) {
    console.error(`unknown benchmark '${n}'; known: ${Object.keys(benchmarks).join(', ')}`)
    process.exit(2)
  }
  console.log(`== ${n}`)
  await (await load()).run(args)
}

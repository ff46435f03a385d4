import type { Command } from 'commander'
import type { SerializerSnapshot } from '../api/serialization/type-serializer.ts'
import type { SavepointOperatorState } from '../state-processor/savepoint-reader.ts'

/** Options of `weir savepoint inspect`. */
export interface InspectOptions {
  /** Print the summary as one JSON document instead of text. */
  json?: boolean
}

/**
 * A readable summary of a savepoint (or retained checkpoint): job, checkpoint, format version, and
 * per operator its parallelism, state files and states (kind, serializers, keys, bytes, and sizes
 * per key-group range, one line per subtask file). Reads every key group to count keys.
 */
export async function inspectSavepoint(path: string, options: InspectOptions = {}): Promise<string[]> {
  // Loaded on use, so processes that never inspect a savepoint (task managers) do not load the reader.
  const { readSavepoint } = await import('../state-processor/savepoint-reader.ts')
  const reader = await readSavepoint(path)
  const m = reader.metadata
  const operators = []
  for (const op of reader.operators) operators.push({ operator: op, statistics: await reader.statistics(op.uid) })
  if (options.json) {
    return [JSON.stringify({ pointer: reader.handle.pointer, metadata: { ...m, operators: undefined }, operators }, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v), 2)]
  }

  const lines: string[] = []
  lines.push(`${m.kind === 'savepoint' ? 'Savepoint' : 'Checkpoint'} ${reader.handle.pointer}`)
  lines.push(`  job:            ${m.jobName} (id ${m.jobId})`)
  lines.push(`  checkpoint id:  ${m.checkpointId}`)
  lines.push(`  kind:           ${m.kind}`)
  const fileVersions = [...new Set(reader.operators.flatMap((o) => o.files.map((f) => f.formatVersion)))].sort((a, b) => a - b)
  lines.push(`  format version: ${m.formatVersion} (_metadata); state files: ${fileVersions.length === 0 ? 'none' : `version ${fileVersions.join(', ')}`}`)
  lines.push(`  taken at:       ${new Date(m.timestamp).toISOString()}`)
  lines.push(`  operators:      ${reader.operators.length}`)
  if (m.sourceEnumerators.length > 0) lines.push(`  source enumerators: ${m.sourceEnumerators.map((e) => `'${e.uid}'`).join(', ')}`)
  for (const { operator: op, statistics } of operators) {
    lines.push('')
    lines.push(`Operator uid '${op.uid}' (name '${op.name}')`)
    lines.push(`  parallelism ${op.parallelism}, max parallelism ${op.maxParallelism}`)
    if (op.files.length === 0) {
      lines.push('  no state')
      continue
    }
    lines.push(`  state files (${op.files.length}, ${formatBytes(op.files.reduce((n, f) => n + f.size, 0))}):`)
    for (const f of op.files) {
      const range = f.keyGroupRange === undefined ? '' : `  key groups ${f.keyGroupRange.start}-${f.keyGroupRange.end}`
      lines.push(`    subtask ${f.subtask}  ${f.path}  ${formatBytes(f.size)}${range}  sha256 ${f.sha256.slice(0, 12)}…`)
    }
    for (const s of statistics.keyedStates) {
      const meta = s.meta
      lines.push(`  keyed state '${meta.name}'`)
      const serializers = [`${meta.kind === 'map' ? 'map value' : meta.kind === 'list' ? 'element' : 'value'} ${serializerText(meta.valueSerializer)}`]
      if (meta.mapKeySerializer) serializers.push(`map key ${serializerText(meta.mapKeySerializer)}`)
      serializers.push(`namespace ${serializerText(meta.namespaceSerializer)}`)
      lines.push(`    kind: ${meta.kind}${meta.ttl ? `, ttl ${meta.ttl.ttlMs} ms` : ''}`)
      lines.push(`    serializers: ${serializers.join(', ')}`)
      lines.push(`    keys: ${s.keys}, entries: ${s.entries}, bytes: ${s.bytes} (${formatBytes(s.bytes)})`)
      for (const r of s.ranges) {
        lines.push(
          `    key groups ${r.keyGroupRange.start}-${r.keyGroupRange.end} (subtask ${r.subtask}): ${r.keys} keys, ${r.entries} entries, ${r.bytes} bytes (${formatBytes(r.bytes)}) in ${r.keyGroups} key groups`,
        )
      }
    }
    if (op.timerServices.length > 0) {
      lines.push(`  timers: ${statistics.timers} in services ${op.timerServices.map((t) => `'${t.name}' (namespace ${t.namespaceSerializer})`).join(', ')}`)
    }
    for (const s of statistics.operatorStates) {
      lines.push(`  operator state '${s.state.name}'`)
      lines.push(`    kind: ${operatorStateKind(s.state)}, serializers: ${operatorStateSerializers(s.state)}`)
      lines.push(`    ${s.state.kind === 'list' ? 'elements' : 'entries'}: ${s.items}, bytes: ${s.bytes} (${formatBytes(s.bytes)})`)
    }
  }
  return lines
}

/** Adds `weir savepoint` with its subcommands to the program; `print` takes each output line. */
export function addSavepointCommand(program: Command, print: (line: string) => void): void {
  const savepoint = program.command('savepoint').description('work with savepoints and retained checkpoints')
  savepoint
    .command('inspect')
    .description('print a summary of a savepoint: job, operators, states, keys and sizes')
    .argument('<path>', 'savepoint directory (or its _metadata file)')
    .option('--json', 'print the summary as JSON')
    .action(async (path: string, opts: InspectOptions) => {
      for (const line of await inspectSavepoint(path, opts)) print(line)
    })
}

function serializerText(s: SerializerSnapshot): string {
  return `${s.id} v${s.version}${s.schema === undefined ? '' : ` schema ${JSON.stringify(s.schema)}`}`
}

function operatorStateKind(state: SavepointOperatorState): string {
  return state.kind === 'broadcast' ? 'broadcast' : state.mode === 'union' ? 'union list' : 'list'
}

function operatorStateSerializers(state: SavepointOperatorState): string {
  return state.kind === 'list' ? `element ${serializerText(state.serializer)}` : `key ${serializerText(state.keySerializer)}, value ${serializerText(state.valueSerializer)}`
}

/** Bytes for people: 512 B, 4.2 KiB, 1.3 MiB. */
export function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`
  const units = ['KiB', 'MiB', 'GiB', 'TiB']
  let value = n / 1024
  let unit = 0
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024
    unit++
  }
  return `${value.toFixed(1)} ${units[unit]}`
}

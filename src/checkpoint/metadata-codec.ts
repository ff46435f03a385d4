import { WeirError } from '../errors.ts'
import type { SnapshotMetadata } from './checkpoint-storage.ts'
import { sha256Hex } from './state-files.ts'

/**
 * `_metadata` is a JSON document, so it can be read with any tool:
 *
 * ```json
 * { "format": "weir-snapshot-metadata", "formatVersion": 1, "sha256": "<hex>", "metadata": { ... } }
 * ```
 *
 * The checksum covers the compact `JSON.stringify` of the parsed metadata, so it does not depend on
 * the file's layout (it may be re-indented), while a changed value or a truncated file is caught.
 */

/** The newest snapshot format this code reads and the one it writes. */
export const SNAPSHOT_FORMAT_VERSION = 1

const FORMAT_TAG = 'weir-snapshot-metadata'

const encoder = new TextEncoder()
const decoder = new TextDecoder('utf-8', { fatal: true })

/** Encodes snapshot metadata as the bytes of a `_metadata` file. */
export function encodeMetadata(metadata: SnapshotMetadata): Uint8Array {
  // The checksum is taken over the form a reader will see after parsing: JSON.parse moves
  // integer-like keys to the front of an object, which would otherwise change the text.
  const parsed = JSON.parse(JSON.stringify(metadata)) as unknown
  const document = { format: FORMAT_TAG, formatVersion: SNAPSHOT_FORMAT_VERSION, sha256: sha256Hex(JSON.stringify(parsed)), metadata: parsed }
  return encoder.encode(`${JSON.stringify(document, null, 2)}\n`)
}

/**
 * Decodes and verifies a `_metadata` file. `source` names the file in errors: 'CHECKPOINT_CORRUPT'
 * for bad JSON, a wrong checksum or missing fields; 'SNAPSHOT_FORMAT_UNSUPPORTED' for a format newer
 * than this code.
 */
export function decodeMetadata(bytes: Uint8Array, source: string): SnapshotMetadata {
  let document: unknown
  try {
    document = JSON.parse(decoder.decode(bytes))
  } catch (error) {
    throw corrupt(source, `it is not valid JSON (${error instanceof Error ? error.message : String(error)}); it may be truncated`, error)
  }
  if (!isObject(document) || document.format !== FORMAT_TAG) throw corrupt(source, `it is not a Weir snapshot metadata file (no "format": "${FORMAT_TAG}")`)
  const version = document.formatVersion
  if (typeof version !== 'number' || !Number.isInteger(version) || version < 1) throw corrupt(source, `its formatVersion ${JSON.stringify(version)} is not a positive integer`)
  if (version > SNAPSHOT_FORMAT_VERSION) throw unsupported(source, version)
  if (!isObject(document.metadata)) throw corrupt(source, 'it has no "metadata" object')
  const actual = sha256Hex(JSON.stringify(document.metadata))
  if (actual !== document.sha256) {
    throw corrupt(source, `the SHA-256 of its metadata is ${actual}, the file records ${JSON.stringify(document.sha256)}`)
  }
  const metadata = document.metadata as unknown as SnapshotMetadata
  checkShape(metadata, source)
  if (metadata.formatVersion > SNAPSHOT_FORMAT_VERSION) throw unsupported(source, metadata.formatVersion)
  return metadata
}

/** The checksum protects against damage, not against a writer that left fields out; both are reported the same way. */
function checkShape(m: SnapshotMetadata, source: string): void {
  const problems: string[] = []
  const isInt = (v: unknown): boolean => typeof v === 'number' && Number.isInteger(v)
  if (!isInt(m.formatVersion)) problems.push('formatVersion')
  if (m.kind !== 'checkpoint' && m.kind !== 'savepoint') problems.push('kind')
  if (typeof m.jobId !== 'string') problems.push('jobId')
  if (typeof m.jobName !== 'string') problems.push('jobName')
  if (!isInt(m.checkpointId) || m.checkpointId < 0) problems.push('checkpointId')
  if (typeof m.timestamp !== 'number') problems.push('timestamp')
  if (!Array.isArray(m.sourceEnumerators)) problems.push('sourceEnumerators')
  if (!Array.isArray(m.operators)) {
    problems.push('operators')
  } else {
    m.operators.forEach((op, i) => {
      if (!isObject(op) || typeof op.uid !== 'string' || !isInt(op.parallelism) || !isInt(op.maxParallelism) || !Array.isArray(op.subtasks)) {
        problems.push(`operators[${i}]`)
        return
      }
      op.subtasks.forEach((handle, j) => {
        // JSON has no undefined: a subtask without state is written as null.
        if (handle === null || handle === undefined) {
          op.subtasks[j] = undefined
          return
        }
        if (!isObject(handle) || typeof handle.path !== 'string' || !isInt(handle.size) || typeof handle.sha256 !== 'string') problems.push(`operators[${i}].subtasks[${j}]`)
      })
    })
  }
  if (problems.length > 0) throw corrupt(source, `its metadata has missing or invalid fields: ${problems.join(', ')}`)
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

function corrupt(source: string, what: string, cause?: unknown): WeirError {
  return new WeirError('CHECKPOINT_CORRUPT', `Snapshot metadata ${source} is corrupt: ${what}`, cause === undefined ? undefined : { cause })
}

function unsupported(source: string, version: number): WeirError {
  return new WeirError(
    'SNAPSHOT_FORMAT_UNSUPPORTED',
    `Snapshot metadata ${source} has format version ${version}; this version of Weir reads versions 1 to ${SNAPSHOT_FORMAT_VERSION}. Restore it with a newer Weir.`,
  )
}

import { createHash } from 'node:crypto'
import { WeirError } from '../errors.ts'
import type { StateFileHandle } from './checkpoint-storage.ts'

/** SHA-256 of some bytes, lower-case hex. */
export function sha256Hex(bytes: Uint8Array | string): string {
  return createHash('sha256').update(bytes).digest('hex')
}

/** The name of the file (in a snapshot directory) holding a snapshot's metadata. */
export const METADATA_FILE_NAME = '_metadata'

const MAX_NAME_PART = 100

/**
 * Turns an arbitrary string (an operator uid, a job id) into a file-name part. Bytes outside
 * `[A-Za-z0-9_-]` become `%HH`, and `%` itself is escaped, so two different strings never map to the
 * same name. Very long results keep a prefix and a hash after `~`, which escaping never produces, so
 * they cannot collide with a short name either.
 */
export function fileNamePart(text: string): string {
  let out = ''
  for (const byte of Buffer.from(text, 'utf8')) {
    const safe = (byte >= 0x30 && byte <= 0x39) || (byte >= 0x41 && byte <= 0x5a) || (byte >= 0x61 && byte <= 0x7a) || byte === 0x5f || byte === 0x2d
    out += safe ? String.fromCharCode(byte) : `%${byte.toString(16).toUpperCase().padStart(2, '0')}`
  }
  if (out.length === 0) return '%'
  if (out.length <= MAX_NAME_PART) return out
  return `${out.slice(0, 80)}~${sha256Hex(text).slice(0, 16)}`
}

/** The file name of one operator subtask's state in a snapshot directory. */
export function stateFileName(operatorUid: string, subtask: number): string {
  return `${fileNamePart(operatorUid)}-${subtask}.state`
}

/** The directory name of checkpoint `id` under the job's directory. */
export function checkpointDirName(checkpointId: number): string {
  return `chk-${checkpointId}`
}

/**
 * A state-file path from metadata, checked before use: metadata may come from a copied or edited
 * directory, and must not name files outside its snapshot.
 */
export function checkRelativeStatePath(path: string, where: string): string {
  const parts = path.split(/[\\/]/)
  if (path.length === 0 || path.startsWith('/') || /^[A-Za-z]:/.test(path) || parts.some((p) => p === '..' || p === '' || p === '.')) {
    throw new WeirError('CHECKPOINT_CORRUPT', `${where}: state file path '${path}' in the metadata is not a plain relative path inside the snapshot directory`)
  }
  return path
}

/**
 * Checks a state file's bytes against the size and SHA-256 its metadata recorded. `where` names the
 * file and checkpoint for the error message.
 */
export function verifyStateFile(bytes: Uint8Array, handle: StateFileHandle, where: string): void {
  if (bytes.byteLength !== handle.size) {
    throw new WeirError('CHECKPOINT_CORRUPT', `${where} is corrupt: it has ${bytes.byteLength} bytes, the metadata records ${handle.size}`)
  }
  const actual = sha256Hex(bytes)
  if (actual !== handle.sha256) {
    throw new WeirError('CHECKPOINT_CORRUPT', `${where} is corrupt: its SHA-256 is ${actual}, the metadata records ${handle.sha256}`)
  }
}

/** Names a state file and its snapshot for error messages. */
export function describeStateFile(file: string, checkpointId: number, kind: string): string {
  return `State file ${file} of ${kind} ${checkpointId}`
}

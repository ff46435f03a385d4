import { createHash } from 'node:crypto'
import type { OperatorTransformation, Transformation } from './transformation.ts'

/**
 * A stable uid for an operator the user gave none: a hash of its name and of the path of names
 * that leads to it from the sources, plus its rank among operators with the same path. The same job
 * code gives the same uids; changing the graph upstream changes them (hence the advice to set uids).
 */
export function generateUid(t: OperatorTransformation, all: readonly OperatorTransformation[]): string {
  const path = describe(t)
  const rank = all.filter((o) => o.id < t.id && describe(o) === path).length
  return `auto-${createHash('sha1').update(`${path}#${rank}`).digest('hex').slice(0, 16)}`
}

function describe(t: Transformation): string {
  switch (t.kind) {
    case 'source':
      return `source(${t.settings.name})`
    case 'one-input':
      return `${t.settings.name}<-${describe(t.input)}`
    case 'two-input':
      return `${t.settings.name}<-(${describe(t.input1)},${describe(t.input2)})`
    case 'partition':
      return `${t.partitioning.kind}:${describe(t.input)}`
    case 'union':
      return `union(${t.inputs.map(describe).join(',')})`
    case 'side-output':
      return `side(${t.tagId}):${describe(t.input)}`
  }
}

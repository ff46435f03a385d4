import { InvalidKeyError, WeirError, previewRecord } from '../../errors.ts'
import type { Partitioning } from '../../graph/partitioner.ts'
import { keyGroupForKey, operatorIndexForKeyGroup } from '../../state/key-groups.ts'

/** Picks the downstream channel of a record; -1 means every channel. */
export type ChannelSelector = (value: unknown) => number

/** The runtime form of an edge's partitioning, for a writer with `channels` channels. */
export function createChannelSelector(partitioning: Partitioning, channels: number, subtaskIndex: number, targetMaxParallelism: number): ChannelSelector {
  switch (partitioning.kind) {
    case 'forward':
      return () => 0
    case 'broadcast':
      return () => -1
    case 'rebalance': {
      // Start at the subtask's own index so that parallel producers do not all hit channel 0 first.
      let next = subtaskIndex % channels
      return () => {
        const c = next
        next = next + 1 === channels ? 0 : next + 1
        return c
      }
    }
    case 'hash': {
      const { keySelector, operatorName } = partitioning
      return (value) => {
        let key: unknown
        try {
          key = keySelector(value)
        } catch (cause) {
          throw new WeirError('KEY_SELECTOR_FAILED', `The key selector of '${operatorName}' threw on record ${previewRecord(value)}: ${String(cause)}`, { cause })
        }
        let group: number
        try {
          group = keyGroupForKey(key, targetMaxParallelism)
        } catch (cause) {
          const reason = cause instanceof Error ? cause.message : String(cause)
          throw new InvalidKeyError(`The key selector of '${operatorName}' returned an invalid key for record ${previewRecord(value)}: ${reason}`, { cause })
        }
        return operatorIndexForKeyGroup(targetMaxParallelism, channels, group)
      }
    }
  }
}

import type { Transformation } from '../graph/transformation.ts'
import type { KeySelector } from '../operators/stream-operator.ts'
import type { MapStateDescriptor } from '../state/descriptors.ts'
import { BroadcastConnectedStream } from './connected-streams.ts'
import type { DataStream } from './data-stream.ts'
import type { StreamEnvironment } from './stream-environment.ts'

/** A stream sent to every subtask of the operator it is connected to, with the broadcast states it feeds. */
export class BroadcastStream<T> {
  constructor(
    readonly env: StreamEnvironment,
    readonly transformation: Transformation,
    readonly descriptors: readonly MapStateDescriptor<unknown, unknown>[],
  ) {}

  /** Used by `DataStream.connect` and `KeyedStream.connect`. */
  connectTo<IN>(stream: DataStream<IN>, keySelector: KeySelector<unknown> | undefined): BroadcastConnectedStream<IN, T> {
    return new BroadcastConnectedStream<IN, T>(this.env, stream.transformation, this.transformation, keySelector, this.descriptors)
  }
}

/** NATS JetStream: a source of streams (splits by stream and subject filter) and an exactly-once sink. */
export { JetStreamSource, JetStreamReader, type JetStreamSourceOptions, type JetStreamSplit, type JetStreamMessage, type JetStreamStart, type JetStreamStreamSpec } from './jetstream-source.ts'
export { JetStreamSink, type JetStreamSinkOptions, type JetStreamCommittable, type JetStreamOutMessage, type DeliveryGuarantee } from './jetstream-sink.ts'
export type { NatsConnectionOptions } from './connection.ts'

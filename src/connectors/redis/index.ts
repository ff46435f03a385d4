/** Redis Streams: a replayable source (position: the last entry id) and an exactly-once sink. */
export { RedisStreamsSource, RedisStreamsReader, type RedisStreamsSourceOptions, type RedisStreamSplit, type RedisStreamEntry } from './redis-streams-source.ts'
export { RedisStreamsSink, type RedisStreamsSinkOptions, type RedisStreamsCommittable, type RedisGuarantee } from './redis-streams-sink.ts'
export type { RedisConnectionOptions } from './connection.ts'

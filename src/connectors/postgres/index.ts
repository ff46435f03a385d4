/** PostgreSQL: an exactly-once (or at-least-once) sink in append or upsert mode, and a bounded table source split by key ranges. */
export { PostgresSink, type PostgresSinkOptions, type PostgresCommittable, type PostgresGuarantee } from './postgres-sink.ts'
export { PostgresTableSource, PostgresTableReader, type PostgresTableSourceOptions, type PostgresKeyRangeSplit } from './postgres-source.ts'
export type { PostgresConnectionOptions } from './connection.ts'

/** Kafka (kafkajs): a source with partitions as splits and a transactional exactly-once sink. */
export { KafkaSource, KafkaReader, type KafkaSourceOptions, type KafkaPartitionSplit, type KafkaRecord, type KafkaConnectionOptions } from './kafka-source.ts'
export { KafkaSink, type KafkaSinkOptions, type KafkaCommittable } from './kafka-sink.ts'

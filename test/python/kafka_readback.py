"""What the Python suites share: where the gateway and Kafka are, Kafka's own partitioner, and reading a topic back
straight from Kafka with kafka-python (never through the gateway), so a test checks what Kafka really holds.

Environment: GATEWAY_URL and KAFKA_BROKERS (set by the vitest wrappers in test/integration/).
"""

import os
import time

from kafka import KafkaConsumer, TopicPartition
from kafka.partitioner.default import murmur2

GATEWAY = os.environ["GATEWAY_URL"].rstrip("/")
BROKERS = os.environ["KAFKA_BROKERS"].split(",")


def expected_partition(key: bytes, partitions: int) -> int:
    """Kafka's default partitioner: toPositive(murmur2(keyBytes)) % numPartitions."""
    return (murmur2(key) & 0x7FFFFFFF) % partitions


def read_all(topic: str, partitions: int, count: int, timeout_s: float = 30.0):
    """Every record of the topic from the beginning (no consumer group), sorted by partition and offset; stops at
    `count` records or after `timeout_s`, so a missing record shows as a short list rather than a hang."""
    consumer = KafkaConsumer(
        bootstrap_servers=BROKERS,
        group_id=None,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        client_id="gateway-python-test",
    )
    try:
        tps = [TopicPartition(topic, p) for p in range(partitions)]
        consumer.assign(tps)
        consumer.seek_to_beginning(*tps)
        records = []
        deadline = time.monotonic() + timeout_s
        while len(records) < count and time.monotonic() < deadline:
            for batch in consumer.poll(timeout_ms=500, max_records=10_000).values():
                records.extend(batch)
        return sorted(records, key=lambda r: (r.partition, r.offset))
    finally:
        consumer.close()

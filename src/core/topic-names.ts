/**
 * What Kafka accepts as a topic name, and which names are Kafka's own. The one place for both rules: the REST
 * routes, the WebSocket frame schemas, the metadata lookups and the authorisation module all ask here.
 */

/** Kafka's legal topic names: 1–249 of `[a-zA-Z0-9._-]` (Kafka's `Topic.validate`), and not `.` or `..`. */
export const TOPIC_NAME = /^[a-zA-Z0-9._-]{1,249}$/;

export function isLegalTopicName(name: string): boolean {
  return TOPIC_NAME.test(name) && name !== '.' && name !== '..';
}

/** Topics whose names start with this are Kafka's own (`__consumer_offsets`, `__transaction_state`, ...). */
export const INTERNAL_TOPIC_PREFIX = '__';

export function isInternalTopic(name: string): boolean {
  return name.startsWith(INTERNAL_TOPIC_PREFIX);
}

package kgw

// The Confluent v2 consumer API over net/http: an instance in a group, subscribe, GET records in a loop, commit.

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
)

// Codes of the consumer API.
const (
	CodeConsumerNotFound = 40403
	CodeFormatMismatch   = 40601
)

// Consumer is one consumer instance; BaseURI is where the gateway said it lives (through the load balancer).
type Consumer struct {
	c       *Client
	BaseURI string
	Format  string
}

// ConsumerRecord is one record of GET records in the JSON format (Key and Value as raw JSON).
type ConsumerRecord struct {
	Topic     string          `json:"topic"`
	Partition int32           `json:"partition"`
	Offset    int64           `json:"offset"`
	Timestamp int64           `json:"timestamp"`
	Key       json.RawMessage `json:"key"`
	Value     json.RawMessage `json:"value"`
}

// TopicPartitionOffset names a record to commit (the last one processed).
type TopicPartitionOffset struct {
	Topic     string `json:"topic"`
	Partition int32  `json:"partition"`
	Offset    int64  `json:"offset"`
}

// NewConsumer creates an instance in group with Confluent's config keys (e.g. "format", "auto.offset.reset").
func (c *Client) NewConsumer(ctx context.Context, group string, config map[string]string) (*Consumer, error) {
	var out struct {
		InstanceID string `json:"instance_id"`
		BaseURI    string `json:"base_uri"`
	}
	if err := c.do(ctx, http.MethodPost, "/consumers/"+url.PathEscape(group), MediaV2, config, &out); err != nil {
		return nil, err
	}
	format := config["format"]
	if format == "" {
		format = "binary"
	}
	return &Consumer{c: c, BaseURI: out.BaseURI, Format: format}, nil
}

func (k *Consumer) call(ctx context.Context, method, suffix, accept string, body any, out any) error {
	contentType := ""
	if body != nil {
		contentType = MediaV2
	}
	return k.c.send(ctx, method, k.BaseURI+suffix, accept, contentType, body, out)
}

// Subscribe joins the group for these topics.
func (k *Consumer) Subscribe(ctx context.Context, topics ...string) error {
	return k.call(ctx, http.MethodPost, "/subscription", MediaV2, map[string]any{"topics": topics}, nil)
}

// Records fetches what is there, waiting up to timeoutMs (JSON-format instances).
func (k *Consumer) Records(ctx context.Context, timeoutMs, maxBytes int) ([]ConsumerRecord, error) {
	var out []ConsumerRecord
	accept := fmt.Sprintf("application/vnd.kafka.%s.v2+json", k.Format)
	err := k.call(ctx, http.MethodGet, fmt.Sprintf("/records?timeout=%d&max_bytes=%d", timeoutMs, maxBytes), accept, nil, &out)
	return out, err
}

// Commit stores, for each partition, the offset after the given last-processed record.
func (k *Consumer) Commit(ctx context.Context, offsets []TopicPartitionOffset) error {
	return k.call(ctx, http.MethodPost, "/offsets", MediaV2, map[string]any{"offsets": offsets}, nil)
}

// Close deletes the instance (it leaves the group at once).
func (k *Consumer) Close(ctx context.Context) error {
	return k.call(ctx, http.MethodDelete, "", MediaV2, nil, nil)
}

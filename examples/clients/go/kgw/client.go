// Package kgw is a small Go client for the Kafka gateway: Confluent REST Proxy v2 produce and metadata over
// net/http, and kgw.v1 WebSocket subscriptions over github.com/coder/websocket.
package kgw

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
)

// Media types of the Confluent v2 wire format.
const (
	MediaV2       = "application/vnd.kafka.v2+json"
	MediaJSONV2   = "application/vnd.kafka.json.v2+json"
	MediaBinaryV2 = "application/vnd.kafka.binary.v2+json"
)

// Confluent error codes the gateway answers with (docs/rest-api.md, "Errors").
const (
	CodeTopicNotFound     = 40401
	CodePartitionNotFound = 40402
)

// Error is the gateway's error body {"error_code", "message"} plus the HTTP status that carried it.
type Error struct {
	Status  int    `json:"-"`
	Code    int    `json:"error_code"`
	Message string `json:"message"`
}

func (e *Error) Error() string {
	return fmt.Sprintf("gateway: HTTP %d, error_code %d: %s", e.Status, e.Code, e.Message)
}

// IsTopicNotFound reports whether err is (or wraps) the gateway's 40401.
func IsTopicNotFound(err error) bool {
	var ge *Error
	return errors.As(err, &ge) && ge.Code == CodeTopicNotFound
}

// Client talks to one gateway, e.g. New("http://127.0.0.1:8080").
type Client struct {
	BaseURL string
	HTTP    *http.Client
	// Header is added to every request and to the WebSocket handshake (e.g. Authorization).
	Header http.Header
}

func New(baseURL string) *Client {
	return &Client{BaseURL: strings.TrimRight(baseURL, "/"), HTTP: http.DefaultClient, Header: http.Header{}}
}

// JSONRecord is one record of the JSON embedded format: Key and Value are any JSON values (nil → null).
type JSONRecord struct {
	Key       any  `json:"key"`
	Value     any  `json:"value"`
	Partition *int `json:"partition,omitempty"`
}

// BinaryRecord is one record of the binary embedded format; encoding/json writes []byte as standard base64
// and nil as null, which is exactly the wire format.
type BinaryRecord struct {
	Key       []byte `json:"key"`
	Value     []byte `json:"value"`
	Partition *int   `json:"partition,omitempty"`
}

// Offset is one record's outcome, in request order. Partition/Offset are nil when ErrorCode is set.
type Offset struct {
	Partition *int32  `json:"partition"`
	Offset    *int64  `json:"offset"`
	ErrorCode *int    `json:"error_code"`
	Error     *string `json:"error"`
}

type ProduceResponse struct {
	KeySchemaID   *int     `json:"key_schema_id"`
	ValueSchemaID *int     `json:"value_schema_id"`
	Offsets       []Offset `json:"offsets"`
}

type Replica struct {
	Broker int  `json:"broker"`
	Leader bool `json:"leader"`
	InSync bool `json:"in_sync"`
}

type Partition struct {
	Partition int       `json:"partition"`
	Leader    int       `json:"leader"`
	Replicas  []Replica `json:"replicas"`
}

type Topic struct {
	Name       string             `json:"name"`
	Configs    map[string]*string `json:"configs"`
	Partitions []Partition        `json:"partitions"`
}

type PartitionOffsets struct {
	BeginningOffset int64 `json:"beginning_offset"`
	EndOffset       int64 `json:"end_offset"`
}

// do sends a request to a path of the gateway's REST API (v2 answers) and decodes a 2xx JSON answer into out.
func (c *Client) do(ctx context.Context, method, path, contentType string, body any, out any) error {
	return c.send(ctx, method, c.BaseURL+path, MediaV2, contentType, body, out)
}

// send sends a request to a full URL (a consumer instance's base_uri may name another host) and decodes a 2xx
// JSON answer into out; any other status becomes an *Error.
func (c *Client) send(ctx context.Context, method, target, accept, contentType string, body any, out any) error {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, target, rd)
	if err != nil {
		return err
	}
	for k, v := range c.Header {
		req.Header[k] = v
	}
	req.Header.Set("Accept", accept)
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	res, err := c.HTTP.Do(req)
	if err != nil {
		return err
	}
	defer res.Body.Close()
	data, err := io.ReadAll(res.Body)
	if err != nil {
		return err
	}
	if res.StatusCode/100 != 2 {
		return decodeError(res.StatusCode, data)
	}
	if out == nil {
		return nil
	}
	if err := json.Unmarshal(data, out); err != nil {
		return fmt.Errorf("gateway: %s %s: undecodable answer %q: %w", method, target, data, err)
	}
	return nil
}

func decodeError(status int, body []byte) error {
	e := &Error{Status: status}
	if json.Unmarshal(body, e) != nil || e.Code == 0 {
		e.Code, e.Message = status, strings.TrimSpace(string(body))
	}
	return e
}

func topicPath(topic string) string { return "/topics/" + url.PathEscape(topic) }

// ProduceJSON writes records in the JSON embedded format.
func (c *Client) ProduceJSON(ctx context.Context, topic string, records []JSONRecord) (*ProduceResponse, error) {
	var out ProduceResponse
	err := c.do(ctx, http.MethodPost, topicPath(topic), MediaJSONV2, map[string]any{"records": records}, &out)
	return &out, err
}

// ProduceBinary writes records in the binary embedded format.
func (c *Client) ProduceBinary(ctx context.Context, topic string, records []BinaryRecord) (*ProduceResponse, error) {
	var out ProduceResponse
	err := c.do(ctx, http.MethodPost, topicPath(topic), MediaBinaryV2, map[string]any{"records": records}, &out)
	return &out, err
}

// ProduceBinaryToPartition writes binary records to one partition (POST /topics/{t}/partitions/{p}).
func (c *Client) ProduceBinaryToPartition(ctx context.Context, topic string, partition int, records []BinaryRecord) (*ProduceResponse, error) {
	var out ProduceResponse
	path := fmt.Sprintf("%s/partitions/%d", topicPath(topic), partition)
	err := c.do(ctx, http.MethodPost, path, MediaBinaryV2, map[string]any{"records": records}, &out)
	return &out, err
}

func (c *Client) Topics(ctx context.Context) ([]string, error) {
	var out []string
	return out, c.do(ctx, http.MethodGet, "/topics", "", nil, &out)
}

func (c *Client) Topic(ctx context.Context, topic string) (*Topic, error) {
	var out Topic
	return &out, c.do(ctx, http.MethodGet, topicPath(topic), "", nil, &out)
}

func (c *Client) Partitions(ctx context.Context, topic string) ([]Partition, error) {
	var out []Partition
	return out, c.do(ctx, http.MethodGet, topicPath(topic)+"/partitions", "", nil, &out)
}

func (c *Client) PartitionOffsets(ctx context.Context, topic string, partition int) (*PartitionOffsets, error) {
	var out PartitionOffsets
	path := fmt.Sprintf("%s/partitions/%d/offsets", topicPath(topic), partition)
	return &out, c.do(ctx, http.MethodGet, path, "", nil, &out)
}

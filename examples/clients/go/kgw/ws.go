package kgw

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"

	"github.com/coder/websocket"
)

// Subprotocol is the WebSocket protocol the gateway speaks (docs/websocket.md).
const Subprotocol = "kgw.v1"

type TopicPartition struct {
	Topic     string `json:"topic"`
	Partition int32  `json:"partition"`
}

// Subscribe is a `subscribe` frame. From is "earliest", "latest", {"offset": n} or {"timestamp": ms}.
type Subscribe struct {
	ID         string           `json:"id"`
	Mode       string           `json:"mode"` // group | assign | broadcast
	Topics     []string         `json:"topics,omitempty"`
	Partitions []TopicPartition `json:"partitions,omitempty"`
	Group      string           `json:"group,omitempty"`
	From       any              `json:"from,omitempty"`
	Format     string           `json:"format,omitempty"` // json | string | base64
	Ack        string           `json:"ack,omitempty"`    // auto | manual
	Window     int              `json:"window,omitempty"`
}

type Header struct {
	Name  string  `json:"name"`
	Value *string `json:"value"`
}

// Frame is any server frame; which fields are set depends on Type
// (subscribed, assignment, record, error, pong).
type Frame struct {
	Type string `json:"type"`
	ID   string `json:"id,omitempty"`
	// subscribed
	Mode       string           `json:"mode,omitempty"`
	Assignment []TopicPartition `json:"assignment,omitempty"`
	// assignment
	Assigned []TopicPartition `json:"assigned,omitempty"`
	Revoked  []TopicPartition `json:"revoked,omitempty"`
	Current  []TopicPartition `json:"current,omitempty"`
	// record: Key/Value as the subscription's format put them (JSON value, string or base64 string).
	Topic     string          `json:"topic,omitempty"`
	Partition int32           `json:"partition"`
	Offset    int64           `json:"offset"`
	Timestamp int64           `json:"timestamp"`
	Key       json.RawMessage `json:"key,omitempty"`
	Value     json.RawMessage `json:"value,omitempty"`
	Headers   []Header        `json:"headers,omitempty"`
	// error
	Code    string `json:"code,omitempty"`
	Message string `json:"message,omitempty"`
}

// KeyBytes / ValueBytes decode a record of a `format: "base64"` subscription (nil for a null key/value).
func (f *Frame) KeyBytes() ([]byte, error)   { return base64Field(f.Key) }
func (f *Frame) ValueBytes() ([]byte, error) { return base64Field(f.Value) }

func base64Field(raw json.RawMessage) ([]byte, error) {
	if len(raw) == 0 || string(raw) == "null" {
		return nil, nil
	}
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		return nil, fmt.Errorf("not a base64 string: %s", raw)
	}
	return base64.StdEncoding.DecodeString(s)
}

// FrameError is an `error` frame: the subscription (or message) it names was refused; the socket stays open.
type FrameError struct {
	ID      string
	Code    string // UNKNOWN_TOPIC, FORBIDDEN, BAD_MESSAGE, ...
	Message string
}

func (e *FrameError) Error() string {
	return fmt.Sprintf("kgw.v1 %s (id %q): %s", e.Code, e.ID, e.Message)
}

// Conn is one kgw.v1 socket.
type Conn struct {
	ws      *websocket.Conn
	pending []*Frame // frames read while waiting for something else
}

// Connect opens /ws. A non-empty query is the URL shortcut (topic, group, from, format, ack, ...), whose
// subscription has id "0". A refusal before the upgrade comes back as *Error (e.g. 404 / 40401).
func (c *Client) Connect(ctx context.Context, query url.Values) (*Conn, error) {
	u := "ws" + strings.TrimPrefix(c.BaseURL, "http") + "/ws"
	if len(query) > 0 {
		u += "?" + query.Encode()
	}
	ws, res, err := websocket.Dial(ctx, u, &websocket.DialOptions{
		HTTPClient:   c.HTTP,
		HTTPHeader:   c.Header.Clone(),
		Subprotocols: []string{Subprotocol},
	})
	if err != nil {
		if res != nil && res.StatusCode != http.StatusSwitchingProtocols {
			body, _ := io.ReadAll(res.Body)
			return nil, decodeError(res.StatusCode, body)
		}
		return nil, err
	}
	if ws.Subprotocol() != Subprotocol {
		ws.CloseNow()
		return nil, fmt.Errorf("gateway selected subprotocol %q, want %q", ws.Subprotocol(), Subprotocol)
	}
	ws.SetReadLimit(16 << 20) // records can be large; the library's default is 32 KiB
	return &Conn{ws: ws}, nil
}

func (c *Conn) send(ctx context.Context, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return c.ws.Write(ctx, websocket.MessageText, b)
}

func (c *Conn) read(ctx context.Context) (*Frame, error) {
	typ, data, err := c.ws.Read(ctx)
	if err != nil {
		return nil, err
	}
	if typ != websocket.MessageText {
		return nil, errors.New("kgw.v1: unexpected binary frame")
	}
	var f Frame
	if err := json.Unmarshal(data, &f); err != nil {
		return nil, fmt.Errorf("kgw.v1: bad frame %q: %w", data, err)
	}
	return &f, nil
}

// Subscribe sends a subscribe frame and waits for its `subscribed` frame; an `error` frame for it is returned as
// *FrameError. Other frames that arrive meanwhile are kept for Next.
func (c *Conn) Subscribe(ctx context.Context, s Subscribe) (*Frame, error) {
	if err := c.send(ctx, struct {
		Type string `json:"type"`
		Subscribe
	}{"subscribe", s}); err != nil {
		return nil, err
	}
	return c.Await(ctx, s.ID)
}

// Await waits for the `subscribed` (or `error`) frame of subscription id, e.g. "0" for the URL shortcut.
func (c *Conn) Await(ctx context.Context, id string) (*Frame, error) {
	for i, f := range c.pending {
		if f.ID == id && (f.Type == "subscribed" || f.Type == "error") {
			c.pending = append(c.pending[:i:i], c.pending[i+1:]...)
			return subscribed(f)
		}
	}
	for {
		f, err := c.read(ctx)
		if err != nil {
			return nil, err
		}
		if f.ID == id && (f.Type == "subscribed" || f.Type == "error") {
			return subscribed(f)
		}
		c.pending = append(c.pending, f)
	}
}

func subscribed(f *Frame) (*Frame, error) {
	if f.Type == "error" {
		return nil, &FrameError{ID: f.ID, Code: f.Code, Message: f.Message}
	}
	return f, nil
}

// Next returns the next frame (record, assignment, error, ...). Cancelling ctx closes the socket
// (coder/websocket's rule), so give it the deadline of the whole conversation, not of one read.
func (c *Conn) Next(ctx context.Context) (*Frame, error) {
	if len(c.pending) > 0 {
		f := c.pending[0]
		c.pending = c.pending[1:]
		return f, nil
	}
	return c.read(ctx)
}

// Ack acknowledges record r (and, cumulatively, everything before it in its partition) for subscription id.
func (c *Conn) Ack(ctx context.Context, id string, r *Frame) error {
	return c.send(ctx, map[string]any{"type": "ack", "id": id, "topic": r.Topic, "partition": r.Partition, "offset": r.Offset})
}

// Close ends the conversation normally (1000); the gateway commits acknowledged offsets.
func (c *Conn) Close() error {
	return c.ws.Close(websocket.StatusNormalClosure, "bye")
}

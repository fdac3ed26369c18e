// kgw-check: exercises the gateway with the kgw package — metadata, JSON and binary produce, a manual-ack group
// subscription over WebSocket that must deliver exactly what was produced, and typed errors. Prints each check;
// exits 1 on the first mismatch.
//
//	GATEWAY_URL=http://127.0.0.1:8080 TOPIC=orders [GROUP=g] [TIMEOUT_SECONDS=120] go run .
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"os"
	"reflect"
	"slices"
	"strconv"
	"time"

	"kafka-gateway/examples/clients/go/kgw"
)

func fail(format string, args ...any) {
	fmt.Printf("FAIL "+format+"\n", args...)
	os.Exit(1)
}

func ok(format string, args ...any) { fmt.Printf("ok   "+format+"\n", args...) }

func must[T any](v T, err error) T {
	if err != nil {
		fail("%v", err)
	}
	return v
}

func env(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	if def == "" {
		fail("%s is not set", name)
	}
	return def
}

// expected is what one produced record must look like when it comes back (key/value as raw bytes in Kafka).
type expected struct {
	key, value []byte
	json       bool // compare as JSON values rather than bytes
}

type tp struct {
	p   int32
	off int64
}

func main() {
	base, topic := env("GATEWAY_URL", ""), env("TOPIC", "")
	group := env("GROUP", fmt.Sprintf("kgw-go-%d", time.Now().UnixNano()))
	timeout := must(strconv.Atoi(env("TIMEOUT_SECONDS", "120")))
	ctx, cancel := context.WithTimeout(context.Background(), time.Duration(timeout)*time.Second)
	defer cancel()
	c := kgw.New(base)
	if os.Getenv("MODE") == "http-consumer" {
		httpConsumerCheck(ctx, c, topic, group)
		return
	}
	missing := fmt.Sprintf("kgw-go-missing-%d", time.Now().UnixNano())

	// --- metadata -------------------------------------------------------------------------------------------
	if !slices.Contains(must(c.Topics(ctx)), topic) {
		fail("GET /topics does not list %s", topic)
	}
	t := must(c.Topic(ctx, topic))
	if t.Name != topic || len(t.Partitions) == 0 {
		fail("GET /topics/%s: name %q, %d partitions", topic, t.Name, len(t.Partitions))
	}
	parts := must(c.Partitions(ctx, topic))
	n := len(parts)
	for i, p := range parts {
		if p.Partition != i || p.Partition != t.Partitions[i].Partition || len(p.Replicas) == 0 || p.Leader < 0 {
			fail("partition %d: %+v (topic says %+v)", i, p, t.Partitions[i])
		}
	}
	ok("metadata: topic %s has %d partitions (GET /topics, /topics/{t}, /topics/{t}/partitions agree), each with a leader", topic, n)
	next := map[int32]int64{} // the offset the next record of each partition must get
	for p := range n {
		o := must(c.PartitionOffsets(ctx, topic, p))
		next[int32(p)] = o.EndOffset
	}
	start := maps.Clone(next) // records before these offsets were there before this check: skipped (but acknowledged)
	want := map[tp]expected{}
	check := func(what string, res *kgw.ProduceResponse, partitions []int, records []expected) {
		if res.KeySchemaID != nil || res.ValueSchemaID != nil || len(res.Offsets) != len(records) {
			fail("%s: %d offsets for %d records, schema ids %v/%v", what, len(res.Offsets), len(records), res.KeySchemaID, res.ValueSchemaID)
		}
		for i, o := range res.Offsets {
			if o.ErrorCode != nil || o.Partition == nil || o.Offset == nil {
				fail("%s: record %d failed: %+v", what, i, o)
			}
			p := *o.Partition
			if int(p) != partitions[i] || *o.Offset != next[p] {
				fail("%s: record %d at %d@%d, want %d@%d", what, i, p, *o.Offset, partitions[i], next[p])
			}
			next[p]++
			want[tp{p, *o.Offset}] = records[i]
		}
		ok("%s: %d offsets, each in the requested partition at the next offset", what, len(records))
	}

	// --- produce: JSON -----------------------------------------------------------------------------------------
	var jrecs []kgw.JSONRecord
	var jparts []int
	var jexp []expected
	for i := range 2 * n {
		p := i % n
		key := fmt.Sprintf("go-json-%d", i)
		value := map[string]any{"lang": "go", "i": i, "text": "héllo ✓", "tags": []any{"a", "b"}, "nested": map[string]any{"ok": true, "none": nil}}
		jrecs = append(jrecs, kgw.JSONRecord{Key: key, Value: value, Partition: &p})
		jparts = append(jparts, p)
		jexp = append(jexp, expected{key: must(json.Marshal(key)), value: must(json.Marshal(value)), json: true})
	}
	check("produce JSON", must(c.ProduceJSON(ctx, topic, jrecs)), jparts, jexp)

	// --- produce: binary (bytes that are neither UTF-8 nor JSON; a null key) ---------------------------------
	var brecs []kgw.BinaryRecord
	var bparts []int
	var bexp []expected
	for i := range n + 1 {
		p := (i + 1) % n
		key := []byte{0x00, 0xff, 'k', byte(i)}
		if i == n {
			key = nil
		}
		value := append([]byte{0xc3, 0x28, 0x80, 0xfe}, bytes.Repeat([]byte{byte(i)}, 40+i)...)
		brecs = append(brecs, kgw.BinaryRecord{Key: key, Value: value, Partition: &p})
		bparts = append(bparts, p)
		bexp = append(bexp, expected{key: key, value: value})
	}
	check("produce binary", must(c.ProduceBinary(ctx, topic, brecs)), bparts, bexp)
	last := n - 1
	one := kgw.BinaryRecord{Key: []byte("path-key"), Value: []byte{0, 1, 2, 3}}
	check("produce binary to /partitions/"+strconv.Itoa(last), must(c.ProduceBinaryToPartition(ctx, topic, last, []kgw.BinaryRecord{one})), []int{last}, []expected{{key: one.Key, value: one.Value}})

	for p := range n {
		if o := must(c.PartitionOffsets(ctx, topic, p)); o.EndOffset != next[int32(p)] {
			fail("partition %d end_offset %d, want %d", p, o.EndOffset, next[int32(p)])
		}
	}
	ok("offsets: every partition's end_offset moved past what was produced")

	// --- subscribe: group mode, manual ack, from earliest, base64 so every byte can be compared -----------------
	conn := must(c.Connect(ctx, nil))
	sub := must(conn.Subscribe(ctx, kgw.Subscribe{ID: "orders", Mode: "group", Topics: []string{topic}, Group: group, From: "earliest", Format: "base64", Ack: "manual"}))
	if sub.Mode != "group" {
		fail("subscribed frame: %+v", sub)
	}
	ok("subscribed: group %s, assignment %v", group, sub.Assignment)
	got := map[tp]bool{}
	lastOffset := map[int32]int64{}
	skipped := 0
	for len(got) < len(want) {
		f, err := conn.Next(ctx)
		if err != nil {
			fail("waiting for records (%d of %d): %v", len(got), len(want), err)
		}
		switch f.Type {
		case "record":
		case "assignment":
			continue
		default:
			fail("unexpected frame %+v", f)
		}
		if f.Topic == topic && f.Offset < start[f.Partition] {
			skipped++
			if err := conn.Ack(ctx, "orders", f); err != nil {
				fail("ack: %v", err)
			}
			continue
		}
		at := tp{f.Partition, f.Offset}
		exp, known := want[at]
		if f.ID != "orders" || f.Topic != topic || !known {
			fail("record %s %d@%d (id %s) was not produced by this check", f.Topic, f.Partition, f.Offset, f.ID)
		}
		if prev, seen := lastOffset[f.Partition]; seen && f.Offset <= prev && !got[at] {
			fail("partition %d: offset %d after %d", f.Partition, f.Offset, prev)
		}
		lastOffset[f.Partition] = f.Offset
		key, value := must(f.KeyBytes()), must(f.ValueBytes())
		if !same(exp, key, exp.key) || !same(exp, value, exp.value) {
			fail("record %d@%d: key %q value %q, want key %q value %q", f.Partition, f.Offset, key, value, exp.key, exp.value)
		}
		got[at] = true
		if err := conn.Ack(ctx, "orders", f); err != nil {
			fail("ack: %v", err)
		}
	}
	ok("received and acknowledged all %d records: key, value, partition and offset as produced, in order per partition (%d older records skipped)", len(got), skipped)

	// --- errors ---------------------------------------------------------------------------------------------
	_, err := conn.Subscribe(ctx, kgw.Subscribe{ID: "nope", Mode: "group", Topics: []string{missing}, Group: group})
	var fe *kgw.FrameError
	if !errors.As(err, &fe) || fe.Code != "UNKNOWN_TOPIC" || fe.ID != "nope" {
		fail("subscribe to a missing topic: %v", err)
	}
	ok("subscribe to a missing topic → error frame %s, socket still open", fe.Code)
	if err := conn.Close(); err != nil {
		fail("close: %v", err)
	}
	ok("closed the socket normally (1000)")

	_, err = c.ProduceJSON(ctx, missing, []kgw.JSONRecord{{Value: 1}})
	var ge *kgw.Error
	if !errors.As(err, &ge) || ge.Status != 404 || ge.Code != kgw.CodeTopicNotFound || !kgw.IsTopicNotFound(err) {
		fail("produce to a missing topic: %v", err)
	}
	ok("produce to a missing topic → *kgw.Error HTTP %d error_code %d (%s)", ge.Status, ge.Code, ge.Message)
	if _, err = c.Topic(ctx, missing); !kgw.IsTopicNotFound(err) {
		fail("GET a missing topic: %v", err)
	}
	ok("GET /topics/<missing> → 40401")
	_, err = c.Connect(ctx, map[string][]string{"topic": {missing}, "group": {group}})
	if !errors.As(err, &ge) || ge.Status != 404 || ge.Code != kgw.CodeTopicNotFound {
		fail("WebSocket shortcut to a missing topic: %v", err)
	}
	ok("WebSocket shortcut to a missing topic → refused before the upgrade: HTTP %d error_code %d", ge.Status, ge.Code)
	fmt.Println("go client: all checks passed")
}

// same compares what came back with what was sent: bytes exactly, or JSON by value (the gateway stores the
// compact form, which may order or space things differently than encoding/json).
func same(e expected, got, sent []byte) bool {
	if !e.json || got == nil || sent == nil {
		return bytes.Equal(got, sent) && (got == nil) == (sent == nil)
	}
	var a, b any
	return json.Unmarshal(got, &a) == nil && json.Unmarshal(sent, &b) == nil && reflect.DeepEqual(a, b)
}

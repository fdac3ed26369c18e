package main

// MODE=http-consumer: produce JSON records, then read them back with the v2 consumer API in the loop a Go user
// writes (create, subscribe, GET records, commit the last record of each partition, delete): every record once.

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"kafka-gateway/examples/clients/go/kgw"
)

func httpConsumerCheck(ctx context.Context, c *kgw.Client, topic, group string) {
	const n = 30
	var recs []kgw.JSONRecord
	for i := range n {
		recs = append(recs, kgw.JSONRecord{Key: fmt.Sprintf("k%d", i), Value: map[string]any{"i": i}})
	}
	must(c.ProduceJSON(ctx, topic, recs))
	ok("produced %d JSON records", n)

	k := must(c.NewConsumer(ctx, group, map[string]string{
		"format": "json", "auto.offset.reset": "earliest", "auto.commit.enable": "false",
	}))
	if err := k.Subscribe(ctx, topic); err != nil {
		fail("subscribe: %v", err)
	}
	ok("instance %s subscribed", k.BaseURI)
	seen := map[int]int{}
	for len(seen) < n {
		if ctx.Err() != nil {
			fail("only %d of %d records before the deadline", len(seen), n)
		}
		batch := must(k.Records(ctx, 1000, 1<<20))
		last := map[int32]int64{}
		for _, r := range batch {
			var v struct{ I int }
			if err := json.Unmarshal(r.Value, &v); err != nil {
				fail("record value %s: %v", r.Value, err)
			}
			seen[v.I]++
			last[r.Partition] = r.Offset
		}
		var offsets []kgw.TopicPartitionOffset
		for p, o := range last {
			offsets = append(offsets, kgw.TopicPartitionOffset{Topic: topic, Partition: p, Offset: o})
		}
		if len(offsets) > 0 {
			if err := k.Commit(ctx, offsets); err != nil {
				fail("commit: %v", err)
			}
		}
	}
	for i := range n {
		if seen[i] != 1 {
			fail("record %d read %d times", i, seen[i])
		}
	}
	ok("GET records loop: each of %d records exactly once, committed", n)
	k.Format = "binary"
	_, err := k.Records(ctx, 0, 1024)
	var ge *kgw.Error
	if !errors.As(err, &ge) || ge.Status != 406 || ge.Code != kgw.CodeFormatMismatch {
		fail("records with another format's Accept: %v", err)
	}
	ok("Accept naming another format → 406 40601")
	if err := k.Close(ctx); err != nil {
		fail("delete: %v", err)
	}
	k.Format = "json"
	if _, err = k.Records(ctx, 0, 1024); !errors.As(err, &ge) || ge.Code != kgw.CodeConsumerNotFound {
		fail("records after delete: %v", err)
	}
	ok("deleted; its next call → 40403")
	fmt.Println("go client: all checks passed")
}

package kgw;

import com.fasterxml.jackson.databind.JsonNode;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import kgw.GatewayClient.BinaryRecord;
import kgw.GatewayClient.JsonRecord;
import kgw.GatewayClient.Offset;
import kgw.GatewayClient.Partition;
import kgw.GatewayClient.ProduceResponse;
import kgw.GatewayException.FrameException;
import kgw.GatewayException.TopicNotFoundException;
import kgw.KgwSocket.RecordFrame;

/**
 * kgw check (Java): metadata, JSON and binary produce, a manual-ack group subscription (subscribe frame) that must
 * deliver exactly what was produced, and typed errors. Prints each check; exits 1 on the first mismatch.
 *
 * <pre>GATEWAY_URL=http://127.0.0.1:8080 TOPIC=orders [GROUP=g] [TIMEOUT_SECONDS=120] java -cp 'target/classes:target/dependency/*' kgw.Check</pre>
 */
public final class Check {
    /** What one produced record must look like when it comes back: raw bytes, or (json) compared as JSON values. */
    private record Expected(byte[] key, byte[] value, boolean json) {}

    private static final class Mismatch extends RuntimeException {
        private static final long serialVersionUID = 1L;

        Mismatch(String message) {
            super(message);
        }
    }

    private static void expect(boolean cond, String message) {
        if (!cond) throw new Mismatch(message);
    }

    private static void ok(String message) {
        System.out.println("ok   " + message);
    }

    private static String env(String name, String def) {
        String v = System.getenv(name);
        if (v != null && !v.isEmpty()) return v;
        if (def == null) throw new Mismatch(name + " is not set");
        return def;
    }

    private final GatewayClient gw;
    private final String topic;
    private final Map<Integer, Long> next = new HashMap<>(); // the offset the next record of each partition must get
    private final Map<String, Expected> want = new HashMap<>(); // "partition@offset" → record

    private Check(GatewayClient gw, String topic) {
        this.gw = gw;
        this.topic = topic;
    }

    public static void main(String[] args) {
        try {
            String base = env("GATEWAY_URL", null);
            String topic = env("TOPIC", null);
            String group = env("GROUP", "kgw-java-" + System.nanoTime());
            Duration timeout = Duration.ofSeconds(Long.parseLong(env("TIMEOUT_SECONDS", "120")));
            new Check(new GatewayClient(base), topic).run(group, timeout);
            System.out.println("java client: all checks passed");
        } catch (Throwable e) {
            System.out.println("FAIL " + e);
            for (StackTraceElement f : e.getStackTrace()) {
                if (f.getClassName().startsWith("kgw.")) System.out.println("       at " + f);
            }
            System.exit(1);
        }
    }

    private void produced(String what, ProduceResponse res, List<Integer> partitions, List<Expected> records) {
        expect(res.keySchemaId() == null && res.valueSchemaId() == null && res.offsets().size() == records.size(), what + ": " + res);
        for (int i = 0; i < records.size(); i++) {
            Offset o = res.offsets().get(i);
            expect(o.errorCode() == null && o.error() == null && o.partition() != null && o.offset() != null, what + ": record " + i + " failed: " + o);
            long at = next.get(partitions.get(i));
            expect(o.partition().equals(partitions.get(i)) && o.offset() == at,
                    what + ": record " + i + " at " + o.partition() + "@" + o.offset() + ", want " + partitions.get(i) + "@" + at);
            next.put(o.partition(), at + 1);
            want.put(o.partition() + "@" + o.offset(), records.get(i));
        }
        ok(what + ": " + records.size() + " offsets, each in the requested partition at the next offset");
    }

    private void run(String group, Duration timeout) throws Exception {
        String missing = "kgw-java-missing-" + System.nanoTime();

        // --- metadata ---------------------------------------------------------------------------------------
        expect(gw.topics().contains(topic), "GET /topics does not list " + topic);
        GatewayClient.Topic t = gw.topic(topic);
        List<Partition> parts = gw.partitions(topic);
        int n = parts.size();
        expect(t.name().equals(topic) && n > 0 && t.partitions().size() == n, "GET /topics/" + topic + ": " + t);
        for (int i = 0; i < n; i++) {
            Partition p = parts.get(i);
            expect(p.partition() == i && t.partitions().get(i).partition() == i && p.leader() >= 0 && !p.replicas().isEmpty(),
                    "partition " + i + ": " + p);
        }
        ok("metadata: topic " + topic + " has " + n + " partitions (GET /topics, /topics/{t}, /topics/{t}/partitions agree), each with a leader");
        for (int p = 0; p < n; p++) next.put(p, gw.partitionOffsets(topic, p).endOffset());
        Map<Integer, Long> start = Map.copyOf(next); // records before these offsets were there before this check: skipped (but acknowledged)

        // --- produce: JSON ----------------------------------------------------------------------------------
        List<JsonRecord> jrecs = new ArrayList<>();
        List<Integer> jparts = new ArrayList<>();
        List<Expected> jexp = new ArrayList<>();
        for (int i = 0; i < 2 * n; i++) {
            String key = "java-json-" + i;
            Map<String, Object> nested = new LinkedHashMap<>();
            nested.put("ok", true);
            nested.put("none", null);
            Map<String, Object> value = Map.of("lang", "java", "i", i, "text", "héllo ✓", "tags", List.of("a", "b"), "nested", nested);
            jrecs.add(new JsonRecord(key, value, i % n));
            jparts.add(i % n);
            jexp.add(new Expected(GatewayClient.JSON.writeValueAsBytes(key), GatewayClient.JSON.writeValueAsBytes(value), true));
        }
        produced("produce JSON", gw.produceJson(topic, jrecs), jparts, jexp);

        // --- produce: binary (bytes that are neither UTF-8 nor JSON; a null key) --------------------------------
        List<BinaryRecord> brecs = new ArrayList<>();
        List<Integer> bparts = new ArrayList<>();
        List<Expected> bexp = new ArrayList<>();
        for (int i = 0; i <= n; i++) {
            byte[] key = i == n ? null : new byte[] {0, (byte) 0xff, 'k', (byte) i};
            byte[] value = new byte[44 + i];
            Arrays.fill(value, (byte) i);
            System.arraycopy(new byte[] {(byte) 0xc3, 0x28, (byte) 0x80, (byte) 0xfe}, 0, value, 0, 4);
            brecs.add(new BinaryRecord(key, value, (i + 1) % n));
            bparts.add((i + 1) % n);
            bexp.add(new Expected(key, value, false));
        }
        produced("produce binary", gw.produceBinary(topic, brecs), bparts, bexp);
        BinaryRecord one = new BinaryRecord("path-key".getBytes(StandardCharsets.UTF_8), new byte[] {0, 1, 2, 3}, null);
        produced("produce binary to /partitions/" + (n - 1), gw.produceBinary(topic, n - 1, List.of(one)), List.of(n - 1),
                List.of(new Expected(one.key(), one.value(), false)));
        for (int p = 0; p < n; p++) {
            long end = gw.partitionOffsets(topic, p).endOffset();
            expect(end == next.get(p), "partition " + p + " end_offset " + end + ", want " + next.get(p));
        }
        ok("offsets: every partition's end_offset moved past what was produced");

        // --- subscribe: group mode, manual ack, from earliest, base64 so every byte can be compared ------------------
        Set<String> got = new HashSet<>();
        Map<Integer, Long> last = new HashMap<>();
        int skipped = 0;
        long deadline = System.nanoTime() + timeout.toNanos();
        try (KgwSocket ws = gw.connect(Map.of())) {
            JsonNode sub = ws.subscribe(Map.of("id", "orders", "mode", "group", "topics", List.of(topic), "group", group,
                    "from", "earliest", "format", "base64", "ack", "manual"), timeout);
            expect(sub.path("mode").asText().equals("group"), "subscribed frame: " + sub);
            ok("subscribed: group " + group + ", assignment " + sub.path("assignment"));
            while (got.size() < want.size()) {
                RecordFrame r = ws.nextRecord(Duration.ofNanos(deadline - System.nanoTime()));
                if (r.topic().equals(topic) && r.offset() < start.get(r.partition())) {
                    skipped++;
                    ws.ack(r);
                    continue;
                }
                String at = r.partition() + "@" + r.offset();
                Expected e = want.get(at);
                expect(r.id().equals("orders") && r.topic().equals(topic) && e != null, "record " + r.topic() + " " + at + " was not produced here");
                expect(got.contains(at) || r.offset() > last.getOrDefault(r.partition(), -1L), "partition " + r.partition() + ": " + r.offset() + " after " + last);
                last.put(r.partition(), r.offset());
                expect(same(e, r.keyBytes(), e.key()) && same(e, r.valueBytes(), e.value()),
                        "record " + at + ": key " + Arrays.toString(r.keyBytes()) + " value " + Arrays.toString(r.valueBytes()));
                got.add(at);
                ws.ack(r);
            }
            ok("received and acknowledged all " + got.size() + " records: key, value, partition and offset as produced, in order per partition ("
                    + skipped + " older records skipped)");

            // --- errors on the socket -------------------------------------------------------------------------
            try {
                ws.subscribe(Map.of("id", "nope", "mode", "group", "topics", List.of(missing), "group", group), timeout);
                throw new Mismatch("subscribe to a missing topic was accepted");
            } catch (FrameException e) {
                expect(e.code().equals("UNKNOWN_TOPIC") && e.id().equals("nope"), e.toString());
                ok("subscribe to a missing topic → FrameException " + e.code() + ", socket still open");
            }
            int code = ws.closeNormally(timeout);
            expect(code == 1000, "close code " + code);
            ok("closed the socket normally (1000)");
        }

        // --- errors over HTTP and at the handshake ----------------------------------------------------------------
        try {
            gw.produceJson(missing, List.of(new JsonRecord(null, 1, null)));
            throw new Mismatch("produce to a missing topic succeeded");
        } catch (TopicNotFoundException e) {
            expect(e.status() == 404 && e.errorCode() == GatewayException.TOPIC_NOT_FOUND, e.toString());
            ok("produce to a missing topic → TopicNotFoundException HTTP " + e.status() + " error_code " + e.errorCode() + " (" + e.getMessage() + ")");
        }
        try {
            gw.topic(missing);
            throw new Mismatch("GET a missing topic succeeded");
        } catch (TopicNotFoundException e) {
            ok("GET /topics/<missing> → TopicNotFoundException (40401)");
        }
        try {
            gw.connect(Map.of("topic", missing, "group", group)).close();
            throw new Mismatch("WebSocket shortcut to a missing topic was accepted");
        } catch (GatewayException e) {
            expect(e.status() == 404 && e.errorCode() == GatewayException.TOPIC_NOT_FOUND, e.toString());
            ok("WebSocket shortcut to a missing topic → refused before the upgrade: HTTP " + e.status() + " error_code " + e.errorCode());
        }
    }

    /** Bytes exactly; JSON by value (the gateway stores the compact form, Jackson may order map entries differently). */
    private static boolean same(Expected e, byte[] got, byte[] sent) {
        if (got == null || sent == null) return got == sent;
        if (!e.json()) return Arrays.equals(got, sent);
        try {
            return Objects.equals(GatewayClient.JSON.readTree(got), GatewayClient.JSON.readTree(sent));
        } catch (java.io.IOException x) {
            return false;
        }
    }
}

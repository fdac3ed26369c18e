package kgw;

import com.fasterxml.jackson.databind.JsonNode;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * kgw HTTP consumer check (Java): produce JSON records, then read them back with the Confluent v2 consumer API in the
 * loop a Java user writes with java.net.http.HttpClient and Jackson — create an instance, subscribe, GET records,
 * commit the last record of each partition, delete. Every record must come back exactly once.
 *
 * <pre>GATEWAY_URL=http://127.0.0.1:8080 TOPIC=orders GROUP=g java -cp 'target/classes:target/dependency/*' kgw.HttpConsumerCheck</pre>
 */
public final class HttpConsumerCheck {
    private static final String V2 = "application/vnd.kafka.v2+json";
    private static final String JSON_V2 = "application/vnd.kafka.json.v2+json";
    // HTTP/1.1: the JDK's default (HTTP_2) sends `Upgrade: h2c` on cleartext requests.
    private static final HttpClient HTTP =
            HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).connectTimeout(Duration.ofSeconds(10)).build();

    private record Answer(int status, JsonNode body) {}

    private static Answer send(String method, String url, String accept, Object body) throws Exception {
        HttpRequest.Builder req = HttpRequest.newBuilder(URI.create(url)).timeout(Duration.ofSeconds(90)).header("Accept", accept);
        if (body == null) req.method(method, HttpRequest.BodyPublishers.noBody());
        else req.header("Content-Type", V2).method(method, HttpRequest.BodyPublishers.ofByteArray(GatewayClient.JSON.writeValueAsBytes(body)));
        HttpResponse<byte[]> res = HTTP.send(req.build(), HttpResponse.BodyHandlers.ofByteArray());
        JsonNode parsed = res.body().length == 0 ? null : GatewayClient.JSON.readTree(new String(res.body(), StandardCharsets.UTF_8));
        return new Answer(res.statusCode(), parsed);
    }

    private static void check(boolean ok, String what) {
        if (!ok) {
            System.out.println("FAIL " + what);
            System.exit(1);
        }
        System.out.println("ok   " + what);
    }

    public static void main(String[] args) throws Exception {
        String base = System.getenv("GATEWAY_URL").replaceAll("/+$", "");
        String topic = System.getenv("TOPIC");
        String group = System.getenv("GROUP");
        int n = 25;
        List<GatewayClient.JsonRecord> records = new ArrayList<>();
        for (int i = 0; i < n; i++) records.add(new GatewayClient.JsonRecord("k" + i, Map.of("i", i), null));
        new GatewayClient(base).produceJson(topic, records);
        System.out.println("ok   produced " + n + " JSON records");

        Answer created = send("POST", base + "/consumers/" + group, V2,
                Map.of("name", "java-1", "format", "json", "auto.offset.reset", "earliest", "auto.commit.enable", "false"));
        check(created.status() == 200, "create → 200 " + created.body());
        String uri = created.body().get("base_uri").asText();
        check(uri.equals(base + "/consumers/" + group + "/instances/java-1"), "base_uri " + uri);
        check(send("POST", uri + "/subscription", V2, Map.of("topics", List.of(topic))).status() == 204, "subscribed");

        Map<Integer, Integer> seen = new HashMap<>();
        long deadline = System.currentTimeMillis() + 120_000;
        while (seen.size() < n && System.currentTimeMillis() < deadline) {
            Answer r = send("GET", uri + "/records?timeout=1000&max_bytes=1048576", JSON_V2, null);
            if (r.status() != 200) check(false, "GET records → " + r.status() + " " + r.body());
            Map<Integer, Long> last = new HashMap<>();
            for (JsonNode rec : r.body()) {
                seen.merge(rec.get("value").get("i").asInt(), 1, Integer::sum);
                last.put(rec.get("partition").asInt(), rec.get("offset").asLong());
            }
            if (last.isEmpty()) continue;
            List<Map<String, Object>> offsets = new ArrayList<>();
            last.forEach((p, o) -> offsets.add(Map.of("topic", topic, "partition", p, "offset", o)));
            Answer c = send("POST", uri + "/offsets", V2, Map.of("offsets", offsets));
            if (c.status() != 200) check(false, "commit → " + c.status() + " " + c.body());
        }
        boolean once = seen.size() == n && seen.values().stream().allMatch(v -> v == 1);
        check(once, "GET records loop: each of " + n + " records exactly once, committed (" + seen + ")");
        Answer wrong = send("GET", uri + "/records", "application/vnd.kafka.binary.v2+json", null);
        check(wrong.status() == 406 && wrong.body().get("error_code").asInt() == 40601, "another format's Accept → 406 40601");
        check(send("DELETE", uri, V2, null).status() == 204, "deleted");
        Answer gone = send("GET", uri + "/records", JSON_V2, null);
        check(gone.status() == 404 && gone.body().get("error_code").asInt() == 40403, "after delete → 40403");
        System.out.println("java client: all checks passed");
    }

    private HttpConsumerCheck() {}
}

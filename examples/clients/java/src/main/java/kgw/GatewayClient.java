package kgw;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.PropertyNamingStrategies;
import com.fasterxml.jackson.databind.json.JsonMapper;
import java.io.IOException;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.net.http.WebSocketHandshakeException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletionException;
import java.util.stream.Collectors;

/**
 * A small Java client for the Kafka gateway: Confluent REST Proxy v2 produce and metadata, and kgw.v1 WebSocket
 * subscriptions ({@link KgwSocket}), with nothing but the JDK's {@code java.net.http} and Jackson.
 */
public final class GatewayClient {
    public static final String V2 = "application/vnd.kafka.v2+json";
    public static final String JSON_V2 = "application/vnd.kafka.json.v2+json";
    public static final String BINARY_V2 = "application/vnd.kafka.binary.v2+json";

    /** One record of the JSON embedded format: key and value are any JSON-serialisable values (null → null). */
    public record JsonRecord(Object key, Object value, @JsonInclude(JsonInclude.Include.NON_NULL) Integer partition) {}

    /** One record of the binary embedded format (Jackson writes byte[] as standard base64, null as null). */
    public record BinaryRecord(byte[] key, byte[] value, @JsonInclude(JsonInclude.Include.NON_NULL) Integer partition) {}

    /** One record's outcome, in request order: partition/offset are null when errorCode is set. */
    public record Offset(Integer partition, Long offset, Integer errorCode, String error) {}

    public record ProduceResponse(Integer keySchemaId, Integer valueSchemaId, List<Offset> offsets) {}

    public record Replica(int broker, boolean leader, boolean inSync) {}

    public record Partition(int partition, int leader, List<Replica> replicas) {}

    public record Topic(String name, Map<String, String> configs, List<Partition> partitions) {}

    public record PartitionOffsets(long beginningOffset, long endOffset) {}

    static final ObjectMapper JSON = JsonMapper.builder()
            .propertyNamingStrategy(PropertyNamingStrategies.SNAKE_CASE)
            .disable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES)
            .build();

    private final String baseUrl;
    private final HttpClient http;
    private final Duration timeout;

    public GatewayClient(String baseUrl) {
        // HTTP/1.1: the JDK's default (HTTP_2) sends `Upgrade: h2c` on cleartext requests, which the gateway's
        // Node server routes to its WebSocket upgrade handler (404 for any path but /ws).
        this(baseUrl, HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).connectTimeout(Duration.ofSeconds(10)).build(), Duration.ofSeconds(30));
    }

    public GatewayClient(String baseUrl, HttpClient http, Duration timeout) {
        this.baseUrl = baseUrl.replaceAll("/+$", "");
        this.http = http;
        this.timeout = timeout;
    }

    // ---- REST (Confluent v2) -----------------------------------------------------------------------------------

    private <T> T call(String method, String path, String contentType, Object body, Class<T> type) {
        try {
            HttpRequest.Builder req = HttpRequest.newBuilder(URI.create(baseUrl + path)).timeout(timeout).header("Accept", V2);
            if (body == null) {
                req.method(method, HttpRequest.BodyPublishers.noBody());
            } else {
                req.header("Content-Type", contentType).method(method, HttpRequest.BodyPublishers.ofByteArray(JSON.writeValueAsBytes(body)));
            }
            HttpResponse<byte[]> res = http.send(req.build(), HttpResponse.BodyHandlers.ofByteArray());
            if (res.statusCode() / 100 != 2) throw error(res.statusCode(), res.body());
            return JSON.readValue(res.body(), type);
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(method + " " + path + ": " + e.getMessage(), e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted", e);
        }
    }

    static GatewayException error(int status, byte[] body) {
        try {
            JsonNode e = body == null ? null : JSON.readTree(body);
            if (e != null && e.path("error_code").isInt()) {
                return GatewayException.of(status, e.get("error_code").asInt(), e.path("message").asText());
            }
        } catch (IOException notJson) {
            // fall through: a bare body (e.g. Node's own 408)
        }
        return GatewayException.of(status, status, body == null ? "" : new String(body, StandardCharsets.UTF_8).strip());
    }

    private static String enc(String s) {
        return URLEncoder.encode(s, StandardCharsets.UTF_8).replace("+", "%20");
    }

    public ProduceResponse produceJson(String topic, List<JsonRecord> records) {
        return call("POST", "/topics/" + enc(topic), JSON_V2, Map.of("records", records), ProduceResponse.class);
    }

    public ProduceResponse produceBinary(String topic, List<BinaryRecord> records) {
        return call("POST", "/topics/" + enc(topic), BINARY_V2, Map.of("records", records), ProduceResponse.class);
    }

    /** POST /topics/{t}/partitions/{p}: every record to that partition. */
    public ProduceResponse produceBinary(String topic, int partition, List<BinaryRecord> records) {
        return call("POST", "/topics/" + enc(topic) + "/partitions/" + partition, BINARY_V2, Map.of("records", records), ProduceResponse.class);
    }

    public List<String> topics() {
        return List.of(call("GET", "/topics", null, null, String[].class));
    }

    public Topic topic(String topic) {
        return call("GET", "/topics/" + enc(topic), null, null, Topic.class);
    }

    public List<Partition> partitions(String topic) {
        return List.of(call("GET", "/topics/" + enc(topic) + "/partitions", null, null, Partition[].class));
    }

    public PartitionOffsets partitionOffsets(String topic, int partition) {
        return call("GET", "/topics/" + enc(topic) + "/partitions/" + partition + "/offsets", null, null, PartitionOffsets.class);
    }

    // ---- WebSocket (kgw.v1) ----------------------------------------------------------------------------------

    /**
     * Opens /ws with subprotocol kgw.v1. A non-empty {@code query} is the URL shortcut (its subscription has id "0").
     * A refusal before the upgrade throws {@link GatewayException} (e.g. 404 / 40401 for a missing topic).
     */
    public KgwSocket connect(Map<String, String> query) {
        String q = query.entrySet().stream().map(e -> enc(e.getKey()) + "=" + enc(e.getValue())).collect(Collectors.joining("&"));
        URI uri = URI.create("ws" + baseUrl.substring("http".length()) + "/ws" + (q.isEmpty() ? "" : "?" + q));
        KgwSocket.Listener listener = new KgwSocket.Listener();
        try {
            var ws = http.newWebSocketBuilder().subprotocols(KgwSocket.SUBPROTOCOL).connectTimeout(timeout).buildAsync(uri, listener).join();
            return new KgwSocket(ws, listener);
        } catch (CompletionException e) {
            if (e.getCause() instanceof WebSocketHandshakeException h) {
                // The JDK reads a refused handshake's body as a String.
                Object body = h.getResponse().body();
                byte[] bytes = body instanceof String s ? s.getBytes(StandardCharsets.UTF_8) : body instanceof byte[] b ? b : null;
                throw error(h.getResponse().statusCode(), bytes);
            }
            throw e;
        }
    }

    static String toJson(Object o) {
        try {
            return JSON.writeValueAsString(o);
        } catch (JsonProcessingException e) {
            throw new IllegalArgumentException(e);
        }
    }
}

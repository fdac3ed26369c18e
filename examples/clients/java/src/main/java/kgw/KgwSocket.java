package kgw;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.http.WebSocket;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/** One kgw.v1 WebSocket (JDK {@link WebSocket}): send subscribe/ack frames, take server frames in order. */
public final class KgwSocket implements AutoCloseable {
    public static final String SUBPROTOCOL = "kgw.v1";

    /** A {@code record} frame; key/value as the subscription's format put them (for "base64", see keyBytes/valueBytes). */
    public record RecordFrame(String id, String topic, int partition, long offset, long timestamp, JsonNode key, JsonNode value, JsonNode headers) {
        public byte[] keyBytes() {
            return bytes(key);
        }

        public byte[] valueBytes() {
            return bytes(value);
        }

        private static byte[] bytes(JsonNode n) {
            return n == null || n.isNull() ? null : Base64.getDecoder().decode(n.asText());
        }
    }

    private final WebSocket ws;
    private final Listener listener;
    private final List<JsonNode> pending = new ArrayList<>(); // frames read while waiting for something else

    KgwSocket(WebSocket ws, Listener listener) {
        this.ws = ws;
        this.listener = listener;
        if (!SUBPROTOCOL.equals(ws.getSubprotocol())) {
            ws.abort();
            throw new IllegalStateException("gateway selected subprotocol '" + ws.getSubprotocol() + "'");
        }
    }

    public void send(Object frame) {
        ws.sendText(GatewayClient.toJson(frame), true).join();
    }

    /** Sends a {@code subscribe} frame and waits for its {@code subscribed} frame (an {@code error} frame throws). */
    public JsonNode subscribe(Map<String, Object> frame, Duration timeout) throws TimeoutException {
        ObjectNode f = GatewayClient.JSON.createObjectNode().put("type", "subscribe");
        f.setAll((ObjectNode) GatewayClient.JSON.valueToTree(frame));
        send(f);
        return awaitSubscribed(String.valueOf(frame.get("id")), timeout);
    }

    /** Waits for the {@code subscribed} (or {@code error}) frame of subscription {@code id}: "0" for the URL shortcut. */
    public JsonNode awaitSubscribed(String id, Duration timeout) throws TimeoutException {
        long deadline = System.nanoTime() + timeout.toNanos();
        for (Iterator<JsonNode> it = pending.iterator(); it.hasNext(); ) {
            JsonNode f = it.next();
            if (isReplyTo(f, id)) {
                it.remove();
                return subscribed(f);
            }
        }
        for (;;) {
            JsonNode f = read(Duration.ofNanos(deadline - System.nanoTime()));
            if (isReplyTo(f, id)) return subscribed(f);
            pending.add(f);
        }
    }

    private static boolean isReplyTo(JsonNode f, String id) {
        String type = f.path("type").asText();
        return id.equals(f.path("id").asText(null)) && (type.equals("subscribed") || type.equals("error"));
    }

    private static JsonNode subscribed(JsonNode f) {
        if (f.path("type").asText().equals("error")) {
            throw new GatewayException.FrameException(f.path("id").asText(), f.path("code").asText(), f.path("message").asText());
        }
        return f;
    }

    /** The next frame of any type (record, assignment, error, ...). */
    public JsonNode next(Duration timeout) throws TimeoutException {
        return pending.isEmpty() ? read(timeout) : pending.remove(0);
    }

    /** The next {@code record} frame; {@code assignment} frames are skipped, an {@code error} frame throws. */
    public RecordFrame nextRecord(Duration timeout) throws TimeoutException {
        long deadline = System.nanoTime() + timeout.toNanos();
        for (;;) {
            JsonNode f = next(Duration.ofNanos(deadline - System.nanoTime()));
            switch (f.path("type").asText()) {
                case "record":
                    return GatewayClient.JSON.convertValue(f, RecordFrame.class);
                case "error":
                    throw new GatewayException.FrameException(f.path("id").asText(), f.path("code").asText(), f.path("message").asText());
                default:
                    break; // assignment, pong, ...
            }
        }
    }

    /** Acknowledges record r (cumulative per partition); the gateway commits offset + 1. */
    public void ack(RecordFrame r) {
        send(Map.of("type", "ack", "id", r.id(), "topic", r.topic(), "partition", r.partition(), "offset", r.offset()));
    }

    private JsonNode read(Duration timeout) throws TimeoutException {
        Object item;
        try {
            item = listener.frames.poll(Math.max(0, timeout.toNanos()), TimeUnit.NANOSECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted", e);
        }
        if (item == null) throw new TimeoutException("no frame within " + timeout);
        if (item instanceof JsonNode n) return n;
        if (item instanceof Closed c) throw new IllegalStateException("socket closed: " + c.code + " " + c.reason);
        throw new IllegalStateException("socket failed", (Throwable) item);
    }

    /** Normal close (1000), waiting for the gateway's close frame; it commits acknowledged offsets. Returns its code. */
    public int closeNormally(Duration timeout) {
        ws.sendClose(WebSocket.NORMAL_CLOSURE, "bye").join();
        try {
            return listener.closed.get(timeout.toMillis(), TimeUnit.MILLISECONDS);
        } catch (Exception e) {
            ws.abort();
            throw new IllegalStateException("no close frame from the gateway: " + e, e);
        }
    }

    @Override
    public void close() {
        if (!ws.isOutputClosed()) closeNormally(Duration.ofSeconds(10));
    }

    private record Closed(int code, String reason) {}

    /** Collects text frames (which may arrive in parts) into parsed JSON, in order. */
    static final class Listener implements WebSocket.Listener {
        final LinkedBlockingQueue<Object> frames = new LinkedBlockingQueue<>();
        final CompletableFuture<Integer> closed = new CompletableFuture<>();
        private final StringBuilder text = new StringBuilder();

        @Override
        public void onOpen(WebSocket ws) {
            ws.request(1);
        }

        @Override
        public CompletionStage<?> onText(WebSocket ws, CharSequence data, boolean last) {
            text.append(data);
            if (last) {
                try {
                    frames.add(GatewayClient.JSON.readTree(text.toString()));
                } catch (IOException e) {
                    frames.add(new UncheckedIOException("not a JSON frame: " + text, e));
                }
                text.setLength(0);
            }
            ws.request(1);
            return null;
        }

        @Override
        public CompletionStage<?> onBinary(WebSocket ws, java.nio.ByteBuffer data, boolean last) {
            frames.add(new IllegalStateException("unexpected binary frame"));
            ws.request(1);
            return null;
        }

        @Override
        public CompletionStage<?> onClose(WebSocket ws, int code, String reason) {
            frames.add(new Closed(code, reason));
            closed.complete(code);
            return null;
        }

        @Override
        public void onError(WebSocket ws, Throwable error) {
            frames.add(error);
            closed.completeExceptionally(error);
        }
    }
}

package kgw;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;

/**
 * Each early refusal of the gateway reaches Java's HttpClient on a request body of several MiB (issue 11 §1): the
 * status and error_code of each case in REFUSAL_CASES (written by test/helpers/refusals.ts), three times on one
 * client, then once with {@code expectContinue(true)}. Prints each check; exits 1 on the first mismatch.
 *
 * <pre>REFUSAL_CASES=/tmp/cases.json java -cp 'target/classes:target/dependency/*' kgw.Refusals</pre>
 */
public final class Refusals {
    private static final ObjectMapper JSON = new ObjectMapper();

    private Refusals() {}

    private record Answer(int status, int errorCode) {}

    private static Answer post(HttpClient client, JsonNode c, byte[] body, boolean expectContinue)
            throws IOException, InterruptedException {
        HttpRequest.Builder req = HttpRequest.newBuilder(URI.create(c.get("url").asText()))
                .timeout(Duration.ofSeconds(60))
                .expectContinue(expectContinue)
                .POST(HttpRequest.BodyPublishers.ofByteArray(body));
        for (Map.Entry<String, JsonNode> h : c.get("headers").properties()) req.header(h.getKey(), h.getValue().asText());
        HttpResponse<byte[]> res = client.send(req.build(), HttpResponse.BodyHandlers.ofByteArray());
        JsonNode answer = JSON.readTree(res.body());
        if (answer == null || !answer.path("message").isTextual() || answer.path("message").asText().isEmpty())
            throw new IOException("not a Confluent error body: " + new String(res.body(), java.nio.charset.StandardCharsets.UTF_8));
        return new Answer(res.statusCode(), answer.path("error_code").asInt());
    }

    private static void fail(String message) {
        System.out.println("FAIL " + message);
        System.exit(1);
    }

    public static void main(String[] args) throws Exception {
        JsonNode cases = JSON.readTree(Path.of(System.getenv("REFUSAL_CASES")).toFile());
        if (cases == null || cases.isEmpty()) fail("REFUSAL_CASES: no cases");
        HttpClient client = HttpClient.newBuilder()
                .version(HttpClient.Version.HTTP_1_1)
                .connectTimeout(Duration.ofSeconds(10))
                .build();
        for (JsonNode c : cases) {
            String name = c.get("name").asText();
            Answer want = new Answer(c.get("status").asInt(), c.get("errorCode").asInt());
            byte[] body = Files.readAllBytes(Path.of(c.get("bodyFile").asText()));
            if (body.length != c.get("bodyBytes").asInt()) fail(name + ": body file has " + body.length + " bytes");
            for (int i = 1; i <= 3; i++) {
                try {
                    Answer got = post(client, c, body, false);
                    if (!got.equals(want)) fail(name + " (try " + i + "): got " + got + ", want " + want);
                } catch (IOException e) {
                    fail(name + " (try " + i + "): " + e + " instead of " + want);
                }
            }
            System.out.println("ok   " + name + ": " + want + ", 3 times (" + (body.length >> 20) + " MiB body)");
            if (Runtime.version().feature() < 19) {
                // JDK-8286171: before JDK 19, HttpClient waits forever when a request sent with expectContinue(true)
                // gets a final answer instead of 100 Continue (which is what the gateway gives a refused request).
                System.out.println("skip " + name + " with Expect: 100-continue: JDK " + Runtime.version().feature()
                        + " has JDK-8286171 (fixed in 19)");
                continue;
            }
            try {
                Answer got = post(client, c, body, true);
                if (!got.equals(want)) fail(name + " with expectContinue: got " + got + ", want " + want);
            } catch (IOException e) {
                fail(name + " with expectContinue: " + e + " instead of " + want);
            }
            System.out.println("ok   " + name + ": " + want + " with Expect: 100-continue");
        }
        System.out.println("java client: all refusal checks passed");
    }
}

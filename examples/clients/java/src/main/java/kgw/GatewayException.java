package kgw;

/** The gateway refused a request: its {@code {"error_code", "message"}} body and the HTTP status that carried it. */
public class GatewayException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    public static final int TOPIC_NOT_FOUND = 40401;
    public static final int PARTITION_NOT_FOUND = 40402;

    private final int status;
    private final int errorCode;

    public GatewayException(int status, int errorCode, String message) {
        super(message);
        this.status = status;
        this.errorCode = errorCode;
    }

    /** The typed exception for a Confluent error body: {@link TopicNotFoundException} for 40401. */
    static GatewayException of(int status, int errorCode, String message) {
        return errorCode == TOPIC_NOT_FOUND
                ? new TopicNotFoundException(status, message)
                : new GatewayException(status, errorCode, message);
    }

    public int status() {
        return status;
    }

    public int errorCode() {
        return errorCode;
    }

    @Override
    public String toString() {
        return getClass().getSimpleName() + ": HTTP " + status + ", error_code " + errorCode + ": " + getMessage();
    }

    /** 40401: the topic does not exist. */
    public static final class TopicNotFoundException extends GatewayException {
        private static final long serialVersionUID = 1L;

        public TopicNotFoundException(int status, String message) {
            super(status, TOPIC_NOT_FOUND, message);
        }
    }

    /** An {@code error} frame on the WebSocket: the subscription or message it names was refused; the socket stays open. */
    public static final class FrameException extends RuntimeException {
        private static final long serialVersionUID = 1L;
        private final String id;
        private final String code;

        public FrameException(String id, String code, String message) {
            super(code + " (id " + id + "): " + message);
            this.id = id;
            this.code = code;
        }

        public String id() {
            return id;
        }

        /** UNKNOWN_TOPIC, FORBIDDEN, BAD_MESSAGE, ... */
        public String code() {
            return code;
        }
    }
}

// Conformance oracle: Apache Kafka's own generated message classes, driven
// over stdin/stdout by kafkabed/javacodec.py. One long-lived process answers
// many cases, so the JVM start-up cost is paid once per test module.
//
// Frames (big-endian, both directions): int32 length, then the frame body.
//
// Request body:  int8 op, int16 apiKey, int16 version, payload
// Response body: int8 status (0 ok, 1 error), then
//                ok:    int32 n, n bytes (Kafka's serialization), UTF-8 JSON
//                error: UTF-8 text naming what went wrong
//
// Ops (the kind of message is given by op; headers ignore apiKey):
//   0-3  payload is wire bytes of a request body, response body, request
//        header, response header: read them with Kafka's classes, write them
//        back, return those bytes and the JsonConverter rendering.
//   4-7  the same four kinds, but payload is UTF-8 JSON in JsonConverter
//        form: build the message from JSON, return its bytes and JSON.
//   8    list the API keys Kafka knows (JSON: version ranges, classes and
//        header versions per API version), ignoring apiKey/version.
//   9,10 a "data" message (not an API body: ConsumerProtocolAssignment,
//        LeaderChangeMessage, ...) named in the payload: int16 n, n bytes of
//        the class's simple name, then wire bytes (9) or JSON (10).
//   11-14 a default-constructed message of the four kinds of ops 0-3
//        (payload ignored); 15 the same for a data message named as in 9.

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.BufferedInputStream;
import java.io.BufferedOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Method;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.HashMap;
import java.util.Map;
import org.apache.kafka.common.message.ApiMessageType;
import org.apache.kafka.common.message.RequestHeaderData;
import org.apache.kafka.common.message.ResponseHeaderData;
import org.apache.kafka.common.protocol.ByteBufferAccessor;
import org.apache.kafka.common.protocol.Message;
import org.apache.kafka.common.protocol.ObjectSerializationCache;

public final class KafkaCodecServer {
    private static final int OP_LIST = 8;
    private static final int OP_DATA_BYTES = 9;
    private static final int OP_DATA_JSON = 10;
    private static final int OP_DEFAULT = 11;
    private static final int OP_DATA_DEFAULT = 15;
    private static final String MESSAGE_PACKAGE = "org.apache.kafka.common.message.";
    private static final int MAX_FRAME = 256 * 1024 * 1024;

    private static final ObjectMapper MAPPER = new ObjectMapper();
    private static final Map<Class<?>, Method> JSON_WRITERS = new HashMap<>();
    private static final Map<Class<?>, Method> JSON_READERS = new HashMap<>();

    /** A case that Kafka's classes reject: reported back, never fatal. */
    private static final class CaseError extends Exception {
        CaseError(String message) {
            super(message);
        }
    }

    public static void main(String[] args) throws IOException {
        DataInputStream in = new DataInputStream(new BufferedInputStream(System.in, 1 << 16));
        DataOutputStream out = new DataOutputStream(new BufferedOutputStream(System.out, 1 << 16));
        while (true) {
            int length;
            try {
                length = in.readInt();
            } catch (EOFException eof) {
                out.flush();
                return;  // the driver closed stdin: normal shutdown
            }
            if (length < 5 || length > MAX_FRAME) {
                throw new IOException("bad frame length " + length);
            }
            byte[] frame = new byte[length];
            in.readFully(frame);
            byte[] reply = answer(frame);
            out.writeInt(reply.length);
            out.write(reply);
            // Flush only when no further case is already waiting: the driver
            // pipelines cases, so this batches many replies per write.
            if (in.available() == 0) {
                out.flush();
            }
        }
    }

    private static byte[] answer(byte[] frame) {
        ByteBuffer buf = ByteBuffer.wrap(frame);
        int op = buf.get();
        short apiKey = buf.getShort();
        short version = buf.getShort();
        ByteBuffer payload = buf.slice();
        try {
            if (op == OP_LIST) {
                return ok(new byte[0], listApis());
            }
            if (op < 0 || op > OP_DATA_DEFAULT) {
                throw new CaseError("unknown op " + op);
            }
            Message message;
            boolean fromJson = op == OP_DATA_JSON || (op >= 4 && op < 8);
            boolean asDefault = op >= OP_DEFAULT;
            String what;
            if (op == OP_DATA_BYTES || op == OP_DATA_JSON || op == OP_DATA_DEFAULT) {
                byte[] name = new byte[payload.getShort()];
                payload.get(name);
                what = new String(name, StandardCharsets.UTF_8);
                message = newDataMessage(what);
                payload = payload.slice();
            } else {
                int kind = asDefault ? op - OP_DEFAULT : op & 3;
                message = newMessage(kind, apiKey);
                what = describe(kind, apiKey);
            }
            if (version < message.lowestSupportedVersion() || version > message.highestSupportedVersion()) {
                throw new CaseError("version out of range " + message.lowestSupportedVersion() + "-"
                        + message.highestSupportedVersion() + " for " + what + " v" + version);
            }
            if (asDefault) {
                // Nothing to read: the message keeps its constructor defaults.
            } else if (!fromJson) {
                ByteBufferAccessor reader = new ByteBufferAccessor(payload);
                message.read(reader, version);
                if (reader.remaining() != 0) {
                    throw new CaseError(reader.remaining() + " trailing bytes after " + what + " v" + version);
                }
            } else {
                byte[] text = new byte[payload.remaining()];
                payload.get(text);
                JsonNode node = MAPPER.readTree(new String(text, StandardCharsets.UTF_8));
                message = fromJson(message.getClass(), node, version);
            }
            byte[] bytes = serialize(message, version);
            return ok(bytes, toJson(message, version));
        } catch (CaseError e) {
            return error(e.getMessage());
        } catch (InvocationTargetException e) {
            return error(trace(e.getCause()));
        } catch (Exception | StackOverflowError | OutOfMemoryError e) {
            // A malformed case must not end the session: it is an answer.
            return error(trace(e));
        }
    }

    private static Message newMessage(int kind, short apiKey) throws CaseError {
        switch (kind) {
            case 2:
                return new RequestHeaderData();
            case 3:
                return new ResponseHeaderData();
            default:
                ApiMessageType type;
                try {
                    type = ApiMessageType.fromApiKey(apiKey);
                } catch (Exception e) {
                    throw new CaseError("unknown api key " + apiKey);
                }
                return kind == 0 ? type.newRequest() : type.newResponse();
        }
    }

    private static Message newDataMessage(String simpleName) throws Exception {
        if (!simpleName.matches("[A-Z][A-Za-z0-9]*")) {
            throw new CaseError("not a message class name: " + simpleName);
        }
        Class<?> cls;
        try {
            cls = Class.forName(MESSAGE_PACKAGE + simpleName);
        } catch (ClassNotFoundException e) {
            throw new CaseError("no message class " + simpleName);
        }
        if (!Message.class.isAssignableFrom(cls)) {
            throw new CaseError(simpleName + " is not a Kafka message class");
        }
        return (Message) cls.getConstructor().newInstance();
    }

    private static byte[] serialize(Message message, short version) {
        ObjectSerializationCache cache = new ObjectSerializationCache();
        int size = message.size(cache, version);
        ByteBuffer out = ByteBuffer.allocate(size);
        message.write(new ByteBufferAccessor(out), cache, version);
        if (out.hasRemaining()) {
            throw new IllegalStateException("size() said " + size + " but write() left " + out.remaining());
        }
        return out.array();
    }

    private static String toJson(Message message, short version) throws Exception {
        Class<?> cls = message.getClass();
        Method writer = JSON_WRITERS.get(cls);
        if (writer == null) {
            Class<?> converter = Class.forName(cls.getName() + "JsonConverter");
            // write(message, version, serializeRecords): with true, Kafka
            // prints every records field as an empty binary (KIP-673 request
            // logging); with false it prints "<name>SizeInBytes" instead.
            writer = converter.getMethod("write", cls, short.class, boolean.class);
            JSON_WRITERS.put(cls, writer);
        }
        JsonNode node = (JsonNode) writer.invoke(null, message, version, false);
        return MAPPER.writeValueAsString(node);
    }

    private static Message fromJson(Class<?> cls, JsonNode node, short version) throws Exception {
        Method reader = JSON_READERS.get(cls);
        if (reader == null) {
            Class<?> converter = Class.forName(cls.getName() + "JsonConverter");
            reader = converter.getMethod("read", JsonNode.class, short.class);
            JSON_READERS.put(cls, reader);
        }
        return (Message) reader.invoke(null, node, version);
    }

    private static String listApis() {
        StringBuilder json = new StringBuilder("[");
        for (ApiMessageType type : ApiMessageType.values()) {
            if (json.length() > 1) {
                json.append(',');
            }
            json.append("{\"apiKey\":").append(type.apiKey())
                .append(",\"name\":\"").append(type.name).append('"');
            try {
                String request = type.newRequest().getClass().getSimpleName();
                String response = type.newResponse().getClass().getSimpleName();
                json.append(",\"lowest\":").append(type.lowestSupportedVersion())
                    .append(",\"highest\":").append(type.highestSupportedVersion(true))
                    .append(",\"requestClass\":\"").append(request).append('"')
                    .append(",\"responseClass\":\"").append(response).append('"');
                StringBuilder requestHeaders = new StringBuilder();
                StringBuilder responseHeaders = new StringBuilder();
                for (short v = type.lowestSupportedVersion(); v <= type.highestSupportedVersion(true); v++) {
                    String sep = v == type.lowestSupportedVersion() ? "" : ",";
                    requestHeaders.append(sep).append(type.requestHeaderVersion(v));
                    responseHeaders.append(sep).append(type.responseHeaderVersion(v));
                }
                json.append(",\"requestHeaderVersions\":[").append(requestHeaders).append(']')
                    .append(",\"responseHeaderVersions\":[").append(responseHeaders).append(']');
            } catch (RuntimeException removed) {
                // Keys whose spec says "validVersions": "none" (removed APIs
                // such as LeaderAndIsr) keep an enum entry but no classes.
                json.append(",\"removed\":true");
            }
            json.append('}');
        }
        json.append(",{\"header\":\"RequestHeader\",\"lowest\":").append(new RequestHeaderData().lowestSupportedVersion())
            .append(",\"highest\":").append(new RequestHeaderData().highestSupportedVersion()).append('}');
        json.append(",{\"header\":\"ResponseHeader\",\"lowest\":").append(new ResponseHeaderData().lowestSupportedVersion())
            .append(",\"highest\":").append(new ResponseHeaderData().highestSupportedVersion()).append('}');
        return json.append(']').toString();
    }

    private static String describe(int kind, short apiKey) {
        String[] kinds = {"request", "response", "request header", "response header"};
        return kinds[kind] + (kind < 2 ? " of api key " + apiKey : "");
    }

    private static byte[] ok(byte[] bytes, String json) {
        byte[] text = json.getBytes(StandardCharsets.UTF_8);
        ByteBuffer out = ByteBuffer.allocate(1 + 4 + bytes.length + text.length);
        out.put((byte) 0).putInt(bytes.length).put(bytes).put(text);
        return out.array();
    }

    private static byte[] error(String message) {
        byte[] text = (message == null ? "error without message" : message).getBytes(StandardCharsets.UTF_8);
        ByteBuffer out = ByteBuffer.allocate(1 + text.length);
        out.put((byte) 1).put(text);
        return out.array();
    }

    private static String trace(Throwable t) {
        StringWriter text = new StringWriter();
        t.printStackTrace(new PrintWriter(text));
        String full = text.toString();
        // The first lines name the exception and where Kafka threw it.
        String[] lines = full.split("\n");
        StringBuilder head = new StringBuilder();
        for (int i = 0; i < Math.min(lines.length, 4); i++) {
            head.append(lines[i].trim()).append('\n');
        }
        return head.toString().trim();
    }
}

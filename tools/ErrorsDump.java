// Prints every org.apache.kafka.common.protocol.Errors entry as: code TAB name TAB retriable TAB message.
// Run by tools/gen_kproto_errors.py against the pinned kafka-clients jar.
import org.apache.kafka.common.protocol.Errors;
import org.apache.kafka.common.errors.RetriableException;
public class ErrorsDump {
    public static void main(String[] a) {
        for (Errors e : Errors.values()) {
            Throwable ex = e.exception();
            boolean r = ex instanceof RetriableException;
            String m = e.message();
            System.out.println(e.code() + "\t" + e.name() + "\t" + r + "\t" + (m == null ? "" : m.replace("\t", " ").replace("\n", " ")));
        }
    }
}

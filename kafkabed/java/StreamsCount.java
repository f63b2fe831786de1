// A small Kafka Streams application for the test bed: counts records per key.
//
// Usage: StreamsCount <bootstrap> <application.id> <input> <output> <state.dir> [<processing.guarantee>]
// Topology: input (String keys) -> groupByKey -> count in the store "counts"
// (changelog "<application.id>-counts-changelog", compacted, its cleaner made
// quick by the topic configs below) -> output (String key, Long count).
// With processing.guarantee exactly_once_v2 every write is transactional and the
// records go through a repartition topic first ("<application.id>-counts-repartition",
// groupBy instead of groupByKey), so an exactly-once application's every kind of topic exists.
// Prints "STATE <new state>" on every state change; SIGTERM closes it cleanly
// (offsets committed), so the same application.id can continue elsewhere.
import java.time.Duration;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.CountDownLatch;

import org.apache.kafka.common.serialization.Serdes;
import org.apache.kafka.common.utils.Bytes;
import org.apache.kafka.streams.KafkaStreams;
import org.apache.kafka.streams.StreamsBuilder;
import org.apache.kafka.streams.StreamsConfig;
import org.apache.kafka.streams.kstream.Consumed;
import org.apache.kafka.streams.kstream.Grouped;
import org.apache.kafka.streams.kstream.KGroupedStream;
import org.apache.kafka.streams.kstream.KStream;
import org.apache.kafka.streams.kstream.Materialized;
import org.apache.kafka.streams.kstream.Produced;
import org.apache.kafka.streams.state.KeyValueStore;

public final class StreamsCount {
    public static void main(String[] args) throws Exception {
        if (args.length != 5 && args.length != 6) {
            System.err.println("usage: StreamsCount <bootstrap> <application.id> <input> <output> <state.dir> "
                               + "[<processing.guarantee>]");
            System.exit(2);
        }
        String guarantee = args.length == 6 ? args[5] : StreamsConfig.AT_LEAST_ONCE;
        boolean exactlyOnce = !guarantee.equals(StreamsConfig.AT_LEAST_ONCE);
        Properties props = new Properties();
        props.put(StreamsConfig.BOOTSTRAP_SERVERS_CONFIG, args[0]);
        props.put(StreamsConfig.APPLICATION_ID_CONFIG, args[1]);
        props.put(StreamsConfig.STATE_DIR_CONFIG, args[4]);
        props.put(StreamsConfig.REPLICATION_FACTOR_CONFIG, 1);
        props.put(StreamsConfig.COMMIT_INTERVAL_MS_CONFIG, 100);
        props.put(StreamsConfig.STATESTORE_CACHE_MAX_BYTES_CONFIG, 0);  // every update reaches the changelog
        props.put(StreamsConfig.NUM_STREAM_THREADS_CONFIG, 1);
        props.put(StreamsConfig.consumerPrefix("auto.offset.reset"), "earliest");
        props.put(StreamsConfig.PROCESSING_GUARANTEE_CONFIG, guarantee);

        Map<String, String> changelog = Map.of(
            "segment.ms", "100", "min.cleanable.dirty.ratio", "0.01", "min.compaction.lag.ms", "0");
        StreamsBuilder builder = new StreamsBuilder();
        KStream<String, String> input = builder.stream(args[2], Consumed.with(Serdes.String(), Serdes.String()));
        KGroupedStream<String, String> grouped = exactlyOnce
            ? input.groupBy((k, v) -> k, Grouped.with("counts", Serdes.String(), Serdes.String()))
            : input.groupByKey();
        grouped
            .count(Materialized.<String, Long, KeyValueStore<Bytes, byte[]>>as("counts")
                .withLoggingEnabled(changelog))
            .toStream()
            .to(args[3], Produced.with(Serdes.String(), Serdes.Long()));

        KafkaStreams streams = new KafkaStreams(builder.build(), props);
        CountDownLatch done = new CountDownLatch(1);
        streams.setStateListener((now, before) -> {
            System.out.println("STATE " + now);
            System.out.flush();
        });
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            streams.close(Duration.ofSeconds(20));
            done.countDown();
        }));
        streams.start();
        done.await();
    }
}

// Admin calls no Kafka command-line tool makes on its own, made against a proxy's bootstrap:
// a log-dir move of a mirror replica (kafka-reassign-partitions stops at the reassignment
// before it gets there), a DENY ACL on the mirror (kafka-acls --add first lists ACLs, which
// a cluster without an authorizer refuses) and deletes of the mirror by topic id (one the
// proxy has not seen in a Metadata answer, one it has).
// Usage: HostileAdmin BOOTSTRAP TOPIC. Prints one line "<attack>: <outcome>" per attack.
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.ExecutionException;

import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.common.KafkaFuture;
import org.apache.kafka.common.TopicCollection;
import org.apache.kafka.common.TopicPartitionReplica;
import org.apache.kafka.common.Uuid;
import org.apache.kafka.common.acl.AccessControlEntry;
import org.apache.kafka.common.acl.AclBinding;
import org.apache.kafka.common.acl.AclOperation;
import org.apache.kafka.common.acl.AclPermissionType;
import org.apache.kafka.common.resource.PatternType;
import org.apache.kafka.common.resource.ResourcePattern;
import org.apache.kafka.common.resource.ResourceType;

public class HostileAdmin {
    public static void main(String[] args) throws Exception {
        String bootstrap = args[0], topic = args[1];
        Properties props = new Properties();
        props.put(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
        props.put(AdminClientConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, "8000");
        props.put(AdminClientConfig.REQUEST_TIMEOUT_MS_CONFIG, "4000");
        try (Admin admin = Admin.create(props)) {
            int broker = admin.describeCluster().nodes().get().iterator().next().id();
            String dir = admin.describeLogDirs(List.of(broker)).allDescriptions().get().get(broker)
                              .keySet().iterator().next();
            report("alter-replica-log-dirs", admin.alterReplicaLogDirs(
                Map.of(new TopicPartitionReplica(topic, 0, broker), dir)).all());
            report("create-deny-acl", admin.createAcls(List.of(new AclBinding(
                new ResourcePattern(ResourceType.TOPIC, topic, PatternType.LITERAL),
                new AccessControlEntry("User:linker", "*", AclOperation.WRITE, AclPermissionType.DENY)))).all());
            // describeTopics reads DescribeTopicPartitions, which the proxy does not learn ids from;
            // listTopics reads Metadata, which it does
            Uuid id = admin.describeTopics(List.of(topic)).allTopicNames().get().get(topic).topicId();
            report("delete-topic-by-unseen-id", admin.deleteTopics(TopicCollection.ofTopicIds(List.of(id))).all());
            admin.listTopics().names().get();
            report("delete-topic-by-id", admin.deleteTopics(TopicCollection.ofTopicIds(List.of(id))).all());
        }
    }

    static void report(String attack, KafkaFuture<?> result) throws InterruptedException {
        try {
            result.get();
            System.out.println(attack + ": ACCEPTED");
        } catch (ExecutionException e) {
            System.out.println(attack + ": " + e.getCause());
        }
    }
}

// Reads a topic from the beginning to its end offsets with the Apache Kafka Java consumer
// (isolation.level=read_committed: the reference implementation), printing one line per
// record: "<partition>:<offset>\t<value>". Used by the Kafka tests as an independent check.
import java.time.Duration;
import java.util.*;
import org.apache.kafka.clients.consumer.*;
import org.apache.kafka.common.TopicPartition;

public class ReadCommitted {
  public static void main(String[] args) {
    Properties p = new Properties();
    p.put("bootstrap.servers", args[0]);
    p.put("isolation.level", "read_committed");
    p.put("key.deserializer", "org.apache.kafka.common.serialization.ByteArrayDeserializer");
    p.put("value.deserializer", "org.apache.kafka.common.serialization.StringDeserializer");
    long deadline = System.currentTimeMillis() + Long.parseLong(args.length > 2 ? args[2] : "180000");
    StringBuilder out = new StringBuilder();
    try (KafkaConsumer<byte[], String> c = new KafkaConsumer<>(p)) {
      List<TopicPartition> tps = new ArrayList<>();
      c.partitionsFor(args[1]).forEach(i -> tps.add(new TopicPartition(args[1], i.partition())));
      c.assign(tps);
      c.seekToBeginning(tps);
      // read_committed end offsets are the last stable offsets.
      Map<TopicPartition, Long> end = c.endOffsets(tps);
      while (true) {
        boolean done = true;
        for (TopicPartition tp : tps) if (c.position(tp) < end.get(tp)) done = false;
        if (done) break;
        if (System.currentTimeMillis() > deadline) throw new RuntimeException("not at the end offsets before the deadline");
        for (ConsumerRecord<byte[], String> r : c.poll(Duration.ofMillis(500))) {
          out.append(r.partition()).append(':').append(r.offset()).append('\t').append(r.value()).append('\n');
        }
      }
    }
    System.out.print(out);
  }
}

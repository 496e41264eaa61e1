package io.rund.cluster;

import static org.junit.jupiter.api.Assertions.assertEquals;

import com.typesafe.config.ConfigFactory;
import io.rund.cgroup.Limits;
import io.rund.resctrl.DomainValues;
import java.util.Map;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.serialization.Serialization;
import org.apache.pekko.serialization.SerializationExtension;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;

/** Limits with Intel RDT settings cross between nodes (Jackson CBOR, as application.conf binds NodeMessage) unchanged. */
class RdtLimitsSerializationTest {
    private static final ActorTestKit kit = ActorTestKit.create(ConfigFactory.parseString(
            "pekko.actor.serialization-bindings { \"io.rund.cluster.NodeMessage\" = jackson-cbor }")
            .withFallback(ConfigFactory.load()));

    @AfterAll
    static void stop() {
        kit.shutdownTestKit();
    }

    @Test
    void anUpdateReplyWithRdtLimitsRoundTrips() throws Exception {
        Limits limits = Limits.none().withPidsMax(9)
                .withL3CacheMask(new DomainValues(java.util.OptionalLong.of(0xff0), new java.util.TreeMap<>(Map.of(1, 0xfL))))
                .withMemoryBandwidthPercent(DomainValues.perDomain(Map.of(0, 20L, 1, 70L)));
        NodeGateway.UpdateReply reply = new NodeGateway.UpdateReply("01JCZ5Q0A8X3V8M2N1P4R6T7W9", limits, 0, null, null);
        Serialization serialization = SerializationExtension.get(kit.system());
        byte[] bytes = serialization.serialize(reply).get();
        Object back = serialization.deserialize(bytes, serialization.findSerializerFor(reply).identifier(),
                serialization.findSerializerFor(reply).includeManifest()
                        ? org.apache.pekko.serialization.Serializers.manifestFor(serialization.findSerializerFor(reply), reply)
                        : "").get();
        assertEquals(reply, back);
    }
}

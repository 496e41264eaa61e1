package io.rund.api;

import io.rund.job.JobEvent;

import java.util.concurrent.atomic.AtomicReferenceArray;

/**
 * Each recent journal event's proto, built once for all the Watch streams that deliver it. With N watchers of every
 * job each event was mapped N times (its status's builder, labels and control fields): 6-40% of the daemon's CPU
 * samples with 1,000 watchers (docs/BENCHMARKS.md, section 9). Slots are indexed by sequence and keep the last event
 * mapped there, compared by identity: a watcher far behind the others, or an event relayed from another node (a copy
 * per stream), is simply mapped again.
 */
final class WatchEventProtos {

    /** How far apart (in events) watchers may be and still share: the default batch a stream reads at once. */
    private static final int SLOTS = 256;

    private record Mapped(JobEvent event, String host, io.rund.proto.v1.JobEvent proto) {}

    private final AtomicReferenceArray<Mapped> slots = new AtomicReferenceArray<>(SLOTS);

    io.rund.proto.v1.JobEvent toProto(JobEvent event, String host) {
        int slot = (int) Math.floorMod(event.sequence(), (long) SLOTS);
        Mapped mapped = slots.get(slot);
        if (mapped != null && mapped.event() == event && mapped.host().equals(host)) {
            return mapped.proto();
        }
        io.rund.proto.v1.JobEvent proto = ProtoMapping.toProto(event, host);
        slots.set(slot, new Mapped(event, host, proto));
        return proto;
    }
}

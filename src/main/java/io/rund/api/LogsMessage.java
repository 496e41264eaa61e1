package io.rund.api;

import io.rund.logs.LogRecord;
import io.rund.proto.v1.JobControllerPowerApi;
import io.rund.proto.v1.LogChunk;
import org.apache.pekko.NotUsed;
import org.apache.pekko.grpc.javadsl.Metadata;
import org.apache.pekko.stream.javadsl.Source;
import io.rund.proto.v1.LogsRequest;

/**
 * One message of a Logs stream before it is serialized: a record of output, kept as the record (so that what is
 * derived from a shared record, its compressed message, is derived once for every follower), or a chunk made for
 * this stream alone (the trailer, or a chunk of a service that has no records).
 */
sealed interface LogsMessage {

    /** The message as the protobuf type the generated API speaks. */
    LogChunk toChunk();

    /** A record of output; its timestamp goes with it only if the request asked for timestamps. */
    record Output(LogRecord record, boolean timestamps) implements LogsMessage {
        @Override
        public LogChunk toChunk() {
            return ProtoMapping.toProto(record, timestamps);
        }
    }

    /** A chunk as it is. */
    record Chunk(LogChunk chunk) implements LogsMessage {
        @Override
        public LogChunk toChunk() {
            return chunk;
        }
    }

    /** A Logs service that can answer with {@link LogsMessage}s rather than chunks. */
    interface Service {
        Source<LogsMessage, NotUsed> logMessages(LogsRequest in, Metadata metadata);
    }

    /** {@code service}'s Logs stream as messages: its records if it has them, else its chunks as they are. */
    static Source<LogsMessage, NotUsed> of(JobControllerPowerApi service, LogsRequest in, Metadata metadata) {
        return service instanceof Service records ? records.logMessages(in, metadata)
                : service.logs(in, metadata).map(Chunk::new);
    }
}

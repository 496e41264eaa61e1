package io.rund.cluster;

import io.rund.logs.LogRecord;
import io.rund.logs.LogStream;

import java.time.Instant;

/**
 * One element of a log stream between nodes: a record, or the error that ended the stream on its owner, carried
 * in band (stream refs pass failures on as bare strings): OUT_OF_RANGE with the first retained offset, or
 * RESOURCE_EXHAUSTED with its message.
 */
public record LogFrame(long offset, Instant timestamp, LogStream stream, byte[] bytes, String error, String message,
                       long retainedFrom, long requestedOffset) implements NodeMessage {

    static final String OUT_OF_RANGE = "OUT_OF_RANGE";
    static final String RESOURCE_EXHAUSTED = "RESOURCE_EXHAUSTED";

    static LogFrame of(LogRecord record) {
        return new LogFrame(record.offset(), record.timestamp(), record.stream(), record.bytes(), null, null, 0, 0);
    }

    static LogFrame failure(String error, String message, long retainedFrom, long requestedOffset) {
        return new LogFrame(0, null, null, null, error, message, retainedFrom, requestedOffset);
    }

    LogRecord record() {
        return new LogRecord(offset, timestamp, stream, bytes);
    }
}

package io.rund.cluster;

import io.rund.logs.LogRecord;
import org.apache.pekko.NotUsed;
import org.apache.pekko.stream.javadsl.Source;

/** The answer to opening a job's log through the fleet: its records, or no such job (for this caller). */
public sealed interface LogOpening {

    record Opened(Source<LogRecord, NotUsed> records) implements LogOpening {}

    record NotFound(String jobId) implements LogOpening {}
}

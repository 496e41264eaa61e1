package io.rund.cli;

import io.grpc.StatusRuntimeException;
import io.rund.proto.v1.JobStatus;
import io.rund.proto.v1.LogChunk;
import io.rund.proto.v1.LogData;
import io.rund.proto.v1.LogStream;
import io.rund.proto.v1.LogsRequest;

import java.io.PrintStream;
import java.util.Iterator;
import java.util.Optional;

/**
 * Copies a job's log records to this process: stdout records to {@code out}, stderr records to {@code err},
 * byte for byte, flushed per record so interleaving is kept as well as two pipes allow. Returns the trailer.
 */
final class LogCopier {

    private LogCopier() {}

    /** The job status of the stream's trailer, or empty if the stream ended without one. */
    static Optional<JobStatus> copy(RundClient client, LogsRequest request, PrintStream out, PrintStream err) throws CliException {
        try {
            Iterator<LogChunk> chunks = client.logs(request);
            while (chunks.hasNext()) {
                LogChunk chunk = chunks.next();
                switch (chunk.getKindCase()) {
                    case DATA -> write(chunk.getData(), out, err);
                    case TRAILER -> {
                        return Optional.of(chunk.getTrailer().getStatus());
                    }
                    case KIND_NOT_SET -> throw new CliException(ExitCodes.FAILURE, "the server sent an empty log chunk");
                }
            }
            return Optional.empty();
        } catch (StatusRuntimeException e) {
            throw ConnectionOptions.failure(client, e);
        }
    }

    private static void write(LogData data, PrintStream out, PrintStream err) throws CliException {
        PrintStream target = data.getStream() == LogStream.LOG_STREAM_STDERR ? err : out;
        byte[] bytes = data.getData().toByteArray();
        target.write(bytes, 0, bytes.length);
        target.flush();
        if (target.checkError()) {
            throw new CliException(ExitCodes.FAILURE, "cannot write the job's " + (target == err ? "stderr" : "stdout")
                    + " here: the output is closed");
        }
    }
}

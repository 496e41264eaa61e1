package io.rund.cli;

import io.rund.proto.v1.LogData;
import io.rund.proto.v1.LogStream;

import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.time.format.DateTimeFormatter;

/**
 * Where a job's log goes on this side: stdout records to {@code out}, stderr records to {@code err}, byte for byte,
 * flushed per record so interleaving is kept as well as two pipes allow. With timestamps, every line starts with
 * the RFC 3339 time (UTC, up to nanoseconds) at which rund read its first byte, and a space; a line split over
 * several records is stamped once.
 */
final class LogOutput {

    private static final byte NEWLINE = '\n';
    private static final byte SPACE = ' ';

    private final PrintStream out;
    private final PrintStream err;
    private final boolean timestamps;
    private boolean outAtLineStart = true;
    private boolean errAtLineStart = true;

    LogOutput(PrintStream out, PrintStream err, boolean timestamps) {
        this.out = out;
        this.err = err;
        this.timestamps = timestamps;
    }

    void write(LogData data) throws CliException {
        boolean stderr = data.getStream() == LogStream.LOG_STREAM_STDERR;
        PrintStream target = stderr ? err : out;
        byte[] bytes = data.getData().toByteArray();
        if (timestamps) {
            boolean atLineStart = writeStamped(target, bytes, stamp(data), stderr ? errAtLineStart : outAtLineStart);
            if (stderr) {
                errAtLineStart = atLineStart;
            } else {
                outAtLineStart = atLineStart;
            }
        } else {
            target.write(bytes, 0, bytes.length);
        }
        target.flush();
        if (target.checkError()) {
            // The reader went away (`rund logs -f ID | head -1`): end quietly, as a tool killed by SIGPIPE does.
            throw CliException.quiet(ExitCodes.OUTPUT_CLOSED, "the job's " + (stderr ? "stderr" : "stdout") + " is closed here");
        }
    }

    /** Writes {@code bytes} with {@code stamp} before each line start; returns whether it ended at one. */
    private static boolean writeStamped(PrintStream target, byte[] bytes, byte[] stamp, boolean atLineStart) {
        int from = 0;
        for (int i = 0; i < bytes.length; i++) {
            if (atLineStart) {
                target.write(stamp, 0, stamp.length);
                atLineStart = false;
            }
            if (bytes[i] == NEWLINE) {
                target.write(bytes, from, i + 1 - from);
                from = i + 1;
                atLineStart = true;
            }
        }
        target.write(bytes, from, bytes.length - from);
        return atLineStart;
    }

    private static byte[] stamp(LogData data) {
        Instant time = Instant.ofEpochSecond(data.getTimestamp().getSeconds(), data.getTimestamp().getNanos());
        byte[] text = DateTimeFormatter.ISO_INSTANT.format(time).getBytes(StandardCharsets.US_ASCII);
        byte[] stamp = new byte[text.length + 1];
        System.arraycopy(text, 0, stamp, 0, text.length);
        stamp[text.length] = SPACE;
        return stamp;
    }
}

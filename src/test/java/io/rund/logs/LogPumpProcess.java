package io.rund.logs;

import io.rund.linux.OutputPump;
import io.rund.linux.OutputSink;
import io.rund.linux.PositionalFiles;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * The crash test's stand-in for a rund daemon: pumps two FIFOs (a job's stdout and stderr) into a log with the
 * real {@link OutputPump} and {@link LogWriter}, creating the log or reopening it as an adopting daemon would.
 * {@code java LogPumpProcess STDOUT_FIFO STDERR_FIFO LOG [UNTIL_BYTES]}: prints "pumping from offset N" once it
 * pumps; runs until killed, or, given UNTIL_BYTES, until the log holds that many bytes, then seals it and exits.
 */
public final class LogPumpProcess {

    /** How often the last run looks whether the log holds everything yet. */
    private static final long CHECK_MILLIS = 5;

    private LogPumpProcess() {}

    public static void main(String[] args) throws Exception {
        Path stdout = Path.of(args[0]);
        Path stderr = Path.of(args[1]);
        Path logPath = Path.of(args[2]);
        long until = args.length > 3 ? Long.parseLong(args[3]) : Long.MAX_VALUE;
        LogSpace space = LogSpace.create(LogSettings.unlimited());
        LogStore log = Files.exists(logPath) ? space.reopenLog(logPath, null) : space.createLog(logPath);
        LogWriter writer = log.writer();
        // Read-write, as the FIFOs' holder has them: opening never waits for a writer, and never sees EOF.
        int stdoutFd = PositionalFiles.openExisting(stdout);
        int stderrFd = PositionalFiles.openExisting(stderr);
        try (OutputPump pump = new OutputPump()) {
            pump.pump(stdoutFd, stderrFd, new OutputSink() {
                @Override
                public long onReadable(int fd, int pipeFd, int available) throws IOException {
                    return writer.appendFromPipe(LogStream.ofFd(fd), pipeFd, available);
                }

                @Override
                public void onClosed() {}
            });
            System.out.println("pumping from offset " + log.size());
            System.out.flush();
            while (log.size() < until) {
                Thread.sleep(CHECK_MILLIS);
            }
        }
        writer.seal();
        log.close();
        System.out.println("sealed at offset " + log.size());
    }
}

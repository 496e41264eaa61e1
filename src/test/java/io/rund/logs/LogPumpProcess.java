package io.rund.logs;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_INT;

import io.rund.linux.OutputPump;
import io.rund.linux.OutputSink;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.invoke.MethodHandle;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.CountDownLatch;

/**
 * The crash test's stand-in for a rund daemon: pumps two FIFOs (a job's stdout and stderr) into a log with the
 * real {@link OutputPump} and {@link LogWriter}, creating the log or reopening it as an adopting daemon would.
 * {@code java LogPumpProcess STDOUT_FIFO STDERR_FIFO LOG}: prints "pumping from offset N" once it pumps, and runs
 * until killed or until both FIFOs end (every writer gone, nothing left in them); then it seals the log and exits.
 */
public final class LogPumpProcess {

    private static final int O_RDONLY = 0;
    private static final int O_NONBLOCK = 04000;
    private static final int O_CLOEXEC = 02_000_000;
    private static final int OPEN_FIRST_VARIADIC_ARG = 2;
    private static final int NO_MODE = 0;

    private LogPumpProcess() {}

    public static void main(String[] args) throws Throwable {
        Path logPath = Path.of(args[2]);
        LogSpace space = LogSpace.create(LogSettings.unlimited());
        LogStore log = Files.exists(logPath) ? space.reopenLog(logPath, null) : space.createLog(logPath);
        LogWriter writer = log.writer();
        // Read ends only, as rund has a job's pipes: once the FIFOs' holder and writers are gone, they end.
        int stdoutFd = openReadEnd(Path.of(args[0]));
        int stderrFd = openReadEnd(Path.of(args[1]));
        CountDownLatch ended = new CountDownLatch(1);
        try (OutputPump pump = new OutputPump()) {
            pump.pump(stdoutFd, stderrFd, new OutputSink() {
                @Override
                public long onReadable(int fd, int pipeFd, int available) throws IOException {
                    return writer.appendFromPipe(LogStream.ofFd(fd), pipeFd, available);
                }

                @Override
                public void onClosed() {
                    ended.countDown();
                }
            });
            System.out.println("pumping from offset " + log.size());
            System.out.flush();
            ended.await();
        }
        writer.seal();
        log.close();
        System.out.println("sealed at offset " + log.size());
    }

    /** open(2) of a FIFO's read end, non-blocking (it never waits: the test holds the FIFO open read-write). */
    private static int openReadEnd(Path fifo) throws Throwable {
        Linker linker = Linker.nativeLinker();
        MethodHandle open = linker.downcallHandle(linker.defaultLookup().findOrThrow("open"),
                FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT, JAVA_INT),
                Linker.Option.firstVariadicArg(OPEN_FIRST_VARIADIC_ARG));
        try (Arena arena = Arena.ofConfined()) {
            int fd = (int) open.invokeExact(arena.allocateFrom(fifo.toString()), O_RDONLY | O_NONBLOCK | O_CLOEXEC,
                    NO_MODE);
            if (fd < 0) {
                throw new IOException("cannot open " + fifo + " for reading");
            }
            return fd;
        }
    }
}

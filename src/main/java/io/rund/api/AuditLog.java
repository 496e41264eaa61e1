package io.rund.api;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.LoggerContext;
import ch.qos.logback.classic.encoder.PatternLayoutEncoder;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.classic.util.LogbackMDCAdapter;
import ch.qos.logback.core.rolling.FixedWindowRollingPolicy;
import ch.qos.logback.core.rolling.RollingFileAppender;
import ch.qos.logback.core.rolling.SizeBasedTriggeringPolicy;
import ch.qos.logback.core.util.FileSize;
import io.rund.job.ClientText;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.Collection;
import java.util.List;
import java.util.stream.Collectors;

/**
 * The audit log: one JSON object per line for each mutating request (Start, Stop, Delete), written by logback to its
 * own file and rolled over by size ({@link AuditSettings}). Every value a client controls is cut and escaped as error
 * messages quote it ({@link ClientText#excerpt}), so a line is bounded and no request can forge or break one. The log
 * has its own logback context, apart from the daemon's log and from any other daemon in the same JVM (tests); it is
 * opened with the API and closed when the daemon ends.
 */
public final class AuditLog implements AutoCloseable {

    static final String OK = "OK";

    /** One mutating request and how it ended; {@code reason} and {@code jobId} may be empty. */
    record Entry(String method, Collection<String> sans, String peer, String jobId, String command, List<String> args,
                 String outcome, String reason) {}

    private final LoggerContext context;
    private final Logger logger;
    private final int maxArgs;

    private AuditLog(LoggerContext context, Logger logger, int maxArgs) {
        this.context = context;
        this.logger = logger;
        this.maxArgs = maxArgs;
    }

    /** Opens (creating it and its directory if needed) the file {@code settings} name. */
    static AuditLog open(AuditSettings settings) throws IOException {
        Path file = settings.file().toAbsolutePath();
        Files.createDirectories(file.getParent());
        LoggerContext context = new LoggerContext();
        context.setName("rund-audit");
        context.setMDCAdapter(new LogbackMDCAdapter()); // logback 1.5 fails every append of a context without one
        context.start();
        PatternLayoutEncoder encoder = new PatternLayoutEncoder();
        encoder.setContext(context);
        encoder.setPattern("%msg%n");
        encoder.start();
        RollingFileAppender<ILoggingEvent> appender = new RollingFileAppender<>();
        appender.setContext(context);
        appender.setName("audit");
        appender.setFile(file.toString());
        appender.setEncoder(encoder);
        FixedWindowRollingPolicy rolling = new FixedWindowRollingPolicy();
        rolling.setContext(context);
        rolling.setParent(appender);
        rolling.setFileNamePattern(file + ".%i");
        rolling.setMinIndex(1);
        rolling.setMaxIndex(settings.maxFiles());
        rolling.start();
        SizeBasedTriggeringPolicy<ILoggingEvent> trigger = new SizeBasedTriggeringPolicy<>();
        trigger.setContext(context);
        trigger.setMaxFileSize(new FileSize(settings.maxFileSize()));
        trigger.start();
        appender.setRollingPolicy(rolling);
        appender.setTriggeringPolicy(trigger);
        appender.start();
        if (!appender.isStarted() || !Files.isWritable(file)) {
            context.stop();
            throw new IOException("cannot open the audit log " + file + " for appending (rund.audit.file): "
                    + context.getStatusManager().getCopyOfStatusList());
        }
        Logger logger = context.getLogger("rund.audit");
        logger.setAdditive(false);
        logger.setLevel(Level.INFO);
        logger.addAppender(appender);
        return new AuditLog(context, logger, settings.maxArgs());
    }

    /** Writes {@code entry} as one line. */
    void record(Entry entry) {
        StringBuilder line = new StringBuilder(256);
        line.append('{');
        field(line, "time", Instant.now().toString());
        field(line, "method", entry.method());
        field(line, "outcome", entry.outcome());
        if (!entry.reason().isEmpty()) {
            field(line, "reason", entry.reason());
        }
        if (!entry.jobId().isEmpty()) {
            field(line, "jobId", entry.jobId());
        }
        array(line, "sans", entry.sans().stream().sorted().toList());
        field(line, "peer", entry.peer());
        if (entry.command() != null) {
            field(line, "command", entry.command());
            array(line, "args", entry.args().stream().limit(maxArgs).toList());
            if (entry.args().size() > maxArgs) {
                line.append("\"argsOmitted\":").append(entry.args().size() - maxArgs).append(',');
            }
        }
        line.setLength(line.length() - 1);
        line.append('}');
        logger.info(line.toString());
    }

    @Override
    public void close() {
        context.stop();
    }

    private static void field(StringBuilder line, String name, String value) {
        line.append('"').append(name).append("\":").append(json(value)).append(',');
    }

    private static void array(StringBuilder line, String name, List<String> values) {
        line.append('"').append(name).append("\":[")
                .append(values.stream().map(AuditLog::json).collect(Collectors.joining(",")))
                .append("],");
    }

    /**
     * {@code value} cut and escaped as rund quotes client input (no control character is left), then as a JSON string:
     * the decoded value is that escaped text.
     */
    private static String json(String value) {
        String escaped = ClientText.excerpt(value);
        return '"' + escaped.replace("\\", "\\\\").replace("\"", "\\\"") + '"';
    }
}

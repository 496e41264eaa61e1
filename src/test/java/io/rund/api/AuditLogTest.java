package io.rund.api;

import io.grpc.StatusRuntimeException;
import io.rund.cli.RundClient;
import io.rund.proto.v1.StartRequest;
import io.rund.proto.v1.StopRequest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Each mutating request against a real daemon leaves one JSON line in {@code <state-directory>/audit.log}: the
 * caller's SANs from its certificate, its address, the method, the job, the command for Start, and the outcome, OK
 * or the code and reason the client got; a client's newline cannot forge a line.
 */
class AuditLogTest {

    private static final String ALICE_SANS = "\"sans\":[\"DNS:alice.example\",\"URI:spiffe://rund/team-a\"]";
    private static final String CAROL_SANS = "\"sans\":[\"DNS:carol.example\"]";

    @RegisterExtension
    static final ApiFixture rund = new ApiFixture();

    @Test
    void aStartAndAStopAreRecordedWithTheCallerAndTheOutcome() throws Exception {
        RundClient alice = rund.shared("alice");
        String id = alice.start(StartRequest.newBuilder().setCommand("sleep").addArgs("600").build()).getJobId();
        alice.stop(StopRequest.newBuilder().setJobId(id).build());

        String start = onlyLine("\"method\":\"Start\",\"outcome\":\"OK\",\"jobId\":\"" + id + "\"");
        assertTrue(start.contains(ALICE_SANS), start);
        assertTrue(start.contains("\"peer\":\"127.0.0.1:"), start);
        assertTrue(start.contains("\"command\":\"sleep\",\"args\":[\"600\"]"), start);
        String stop = onlyLine("\"method\":\"Stop\",\"outcome\":\"OK\",\"jobId\":\"" + id + "\"");
        assertTrue(stop.contains(ALICE_SANS), stop);
        assertFalse(stop.contains("\"command\""), stop);
    }

    @Test
    void aRefusedStopIsRecordedWithItsCodeAndReasonAndTheOneWhoAsked() throws Exception {
        String id = rund.shared("alice").start(StartRequest.newBuilder().setCommand("true").build()).getJobId();
        RundClient carol = rund.shared("carol");
        assertThrows(StatusRuntimeException.class, () -> carol.stop(StopRequest.newBuilder().setJobId(id).build()));

        String refused = onlyLine("\"method\":\"Stop\",\"outcome\":\"NOT_FOUND\",\"reason\":\"JOB_NOT_FOUND\",\"jobId\":\"" + id + "\"");
        assertTrue(refused.contains(CAROL_SANS), refused);
    }

    @Test
    void aNewlineInTheCommandStaysInsideOneLine() throws Exception {
        String forged = "no-such-command\n{\"method\":\"Forged\"}";
        assertThrows(StatusRuntimeException.class,
                () -> rund.shared("carol").start(StartRequest.newBuilder().setCommand(forged).build()));

        String line = onlyLine("\"reason\":\"COMMAND_NOT_FOUND\"");
        assertTrue(line.contains("\"command\":\"no-such-command\\\\n{\\\"method\\\":\\\"Forged\\\"}\""), line);
        assertTrue(lines().stream().noneMatch(l -> l.startsWith("{\"method\":\"Forged\"")), "no forged line");
    }

    /** The one line of the audit log containing {@code text}. */
    private static String onlyLine(String text) throws IOException {
        List<String> matching = lines().stream().filter(line -> line.contains(text)).toList();
        assertEquals(1, matching.size(), "lines with " + text + ": " + lines());
        String line = matching.getFirst();
        assertTrue(line.startsWith("{\"time\":\"") && line.endsWith("}"), line);
        return line;
    }

    private static List<String> lines() throws IOException {
        return Files.readAllLines(rund.stateDirectory().resolve("audit.log"));
    }
}

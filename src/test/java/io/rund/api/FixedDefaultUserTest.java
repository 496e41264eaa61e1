package io.rund.api;

import io.rund.cli.RundClient;
import io.rund.proto.v1.LogStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

import java.nio.file.Files;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;

/**
 * An operator who configures rund.jobs.default-user gets the behaviour from before per-job users: every job that
 * names no account runs as that one account, with its passwd HOME, and no private home is made.
 */
class FixedDefaultUserTest {

    @RegisterExtension
    static final ApiFixture rund = new ApiFixture("rund.jobs.default-user = nobody");

    @Test
    void jobsRunAsTheConfiguredAccount() throws Exception {
        try (RundClient alice = rund.client("alice")) {
            String job = LogReads.start(alice, "id -u; id -g; echo $HOME $USER $LOGNAME");
            LogReads.awaitEnd(alice, job);
            assertEquals("65534\n65534\n/nonexistent nobody nobody\n",
                    LogReads.read(alice, LogReads.request(job).build()).text(LogStream.LOG_STREAM_STDOUT));
            assertFalse(Files.exists(rund.homeRoot().resolve(job)), "no private home for a named account");
        }
    }
}

package io.rund.api;

import com.google.protobuf.Int64Value;
import com.google.protobuf.StringValue;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.rund.TestFiles;
import io.rund.cli.RundClient;
import io.rund.proto.v1.IoLimit;
import io.rund.proto.v1.Limits;
import io.rund.proto.v1.StartRequest;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * rund runs as root, but what it answers about a client's paths is what the job's user could see: a command, a
 * PATH entry, an io device or a working directory inside a directory only root may enter fails the same way
 * whether the file exists or not, so Start is no file-existence oracle on the host. Paths the job's user can see
 * still get their clear errors.
 */
class HostOracleTest {

    private static final long ONE_MIB = 1 << 20;

    @RegisterExtension
    static final ApiFixture rund = new ApiFixture();

    /** Mode 0700, owned by root: holds an executable file and a subdirectory. */
    private static Path hidden;
    /** Mode 0755: holds a file that is not executable. */
    private static Path visible;

    @BeforeAll
    static void makeDirectories() throws IOException {
        hidden = Files.createTempDirectory("rund-oracle-hidden-");
        Files.setPosixFilePermissions(hidden, PosixFilePermissions.fromString("rwx------"));
        Path exists = Files.writeString(hidden.resolve("exists"), "#!/bin/sh\necho ran\n");
        Files.setPosixFilePermissions(exists, PosixFilePermissions.fromString("rwxr-xr-x"));
        Files.createDirectory(hidden.resolve("subdir"));
        visible = Files.createTempDirectory("rund-oracle-visible-");
        Files.setPosixFilePermissions(visible, PosixFilePermissions.fromString("rwxr-xr-x"));
        Files.writeString(visible.resolve("not-executable"), "data\n");
    }

    @AfterAll
    static void removeDirectories() throws IOException {
        TestFiles.deleteTree(hidden);
        TestFiles.deleteTree(visible);
    }

    @Test
    void aCommandPathInAHiddenDirectoryFailsAlikeWhetherItExistsOrNot() throws Exception {
        assertSameAnswer(command(hidden + "/exists"), command(hidden + "/missing"));
    }

    @Test
    void aBareNameSearchedInAHiddenPathEntryFailsAlikeWhetherItExistsOrNot() throws Exception {
        assertSameAnswer(command("exists").putEnv("PATH", hidden.toString()),
                command("missing").putEnv("PATH", hidden.toString()));
    }

    @Test
    void anIoDevicePathInAHiddenDirectoryFailsAlikeWhetherItExistsOrNot() throws Exception {
        assertSameAnswer(command("true").setLimits(ioLimit(hidden + "/exists")),
                command("true").setLimits(ioLimit(hidden + "/missing")));
    }

    @Test
    void aHiddenWorkingDirectoryAsTheDefaultIoDeviceFailsAlikeWhetherItExistsOrNot() throws Exception {
        assertSameAnswer(command("true").setWorkingDirectory(hidden + "/subdir").setLimits(ioLimit(null)),
                command("true").setWorkingDirectory(hidden + "/missing").setLimits(ioLimit(null)));
    }

    @Test
    void pathsTheJobsUserCanSeeStillGetTheirClearErrors() throws Exception {
        StatusRuntimeException notFound = refused(command("no-such-command-rund").putEnv("PATH", "/usr/bin:/bin"));
        assertEquals(Status.Code.INVALID_ARGUMENT, notFound.getStatus().getCode());
        assertTrue(notFound.getStatus().getDescription().contains("no-such-command-rund")
                && notFound.getStatus().getDescription().contains("No such file"), notFound.getStatus().getDescription());

        StatusRuntimeException notExecutable = refused(command("not-executable").putEnv("PATH", visible.toString()));
        assertEquals(Status.Code.INVALID_ARGUMENT, notExecutable.getStatus().getCode());
        assertTrue(notExecutable.getStatus().getDescription().contains(visible.resolve("not-executable").toString())
                && notExecutable.getStatus().getDescription().contains("Permission denied"),
                notExecutable.getStatus().getDescription());

        StatusRuntimeException noDevice = refused(command("true").setLimits(ioLimit(visible + "/missing")));
        assertEquals(Status.Code.INVALID_ARGUMENT, noDevice.getStatus().getCode());
        assertTrue(noDevice.getStatus().getDescription().contains(visible + "/missing does not exist"),
                noDevice.getStatus().getDescription());
    }

    /** Both refused with the same code and the same message, once each request's own path is blotted out. */
    private static void assertSameAnswer(StartRequest.Builder existing, StartRequest.Builder missing) throws Exception {
        StatusRuntimeException forExisting = refused(existing);
        StatusRuntimeException forMissing = refused(missing);
        assertEquals(forMissing.getStatus().getCode(), forExisting.getStatus().getCode(),
                forExisting.getStatus() + " vs " + forMissing.getStatus());
        assertEquals(forMissing.getStatus().getDescription().replace("missing", "NAME"),
                forExisting.getStatus().getDescription().replace("subdir", "NAME").replace("exists", "NAME"));
    }

    private static StatusRuntimeException refused(StartRequest.Builder request) throws Exception {
        try (RundClient client = rund.client("alice")) {
            return LogReads.failure(() -> client.start(request.build()));
        }
    }

    private static StartRequest.Builder command(String command) {
        return StartRequest.newBuilder().setCommand(command);
    }

    private static Limits ioLimit(String device) {
        IoLimit.Builder limit = IoLimit.newBuilder().setWbps(Int64Value.of(ONE_MIB));
        if (device != null) {
            limit.setDevice(StringValue.of(device));
        }
        return Limits.newBuilder().addIo(limit).build();
    }
}

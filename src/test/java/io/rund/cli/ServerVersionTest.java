package io.rund.cli;

import io.rund.api.ApiFixture;
import io.rund.cli.CliCalls.Output;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** {@code rund version} prints the server's version and commit, read from the headers of a real daemon's reply. */
class ServerVersionTest {

    @RegisterExtension
    static final ApiFixture rund = new ApiFixture();

    @Test
    void versionPrintsTheClientsAndTheServersVersionAndCommit() {
        Output version = CliCalls.run(rund.flags("alice"), "version");
        assertEquals(0, version.exitCode(), version.errText());
        List<String> lines = version.outText().lines().toList();
        assertEquals(2, lines.size(), version.outText());
        assertTrue(lines.get(0).startsWith("client: rund "), version.outText());
        String client = lines.get(0).substring("client: ".length());
        // The same build serves and calls here, so the server names the same version and commit.
        assertEquals("server: " + client + " (localhost:" + rund.port() + ")", lines.get(1));
        assertEquals("", version.errText());
    }

    @Test
    void anUnreachableServerLeavesTheClientsLineAndANote() throws IOException {
        int closedPort;
        try (ServerSocket socket = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            closedPort = socket.getLocalPort();
        }
        List<String> flags = new ArrayList<>(rund.flags("alice"));
        int addr = flags.indexOf("--addr");
        flags.set(addr + 1, "127.0.0.1:" + closedPort);

        Output version = CliCalls.run(flags, "version");
        assertEquals(0, version.exitCode(), version.errText());
        assertEquals(1, version.outText().lines().count(), version.outText());
        assertTrue(version.outText().startsWith("client: rund "), version.outText());
        assertTrue(version.errText().startsWith("rund: server version unknown: "), version.errText());
        assertEquals(1, version.errText().lines().count(), "one line: " + version.errText());
    }
}

package io.rund.linux;

import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A daemon that meets a rund-keeper of a newer protocol version (a downgrade: the keeper holds a newer rund's jobs)
 * refuses at once, in one line naming the keeper, both versions and what to do, and does not retry, start a keeper
 * of its own, or send it anything past its hello. The peer here is a real unix socket at the state directory's
 * keeper.sock that answers the hello as a keeper of version {@code Keeper.PROTOCOL_VERSION + 1} would.
 */
class KeeperVersionTest {

    private static final int HELLO_OK = 101;

    @Test
    void aKeeperOfANewerProtocolIsRefusedInOneLineAndLeftAlone() throws Exception {
        Path state = Files.createTempDirectory("rund-keeper-version-");
        Path socket = state.resolve("keeper.sock");
        int newer = Keeper.PROTOCOL_VERSION + 1;
        try (ServerSocketChannel server = ServerSocketChannel.open(StandardProtocolFamily.UNIX)) {
            server.bind(UnixDomainSocketAddress.of(socket));
            CompletableFuture<Integer> hellosAnswered = CompletableFuture.supplyAsync(() -> answerHellos(server, newer));

            Keeper.NewerKeeperException refused = assertThrows(Keeper.NewerKeeperException.class,
                    () -> Keeper.connectOrStart(new Keeper.Location(state, state.resolve("no-cgroup"))));
            String line = refused.getMessage();
            assertFalse(line.contains("\n"), "one line: " + line);
            assertTrue(line.contains("keeper protocol version " + newer) && line.contains("this rund " + Keeper.PROTOCOL_VERSION)
                    && line.contains("newer rund") && line.contains(state.toString()), line);
            server.close(); // ends the peer's accept loop
            assertEquals(1, hellosAnswered.get(30, TimeUnit.SECONDS), "one hello, no retry");
            assertFalse(Files.exists(state.resolve("keeper.lock")), "no keeper of its own was started");
        } finally {
            try (var files = Files.list(state)) {
                for (Path file : files.toList()) {
                    Files.deleteIfExists(file);
                }
            }
            Files.deleteIfExists(state);
        }
    }

    /** Answers each connection's hello as a keeper of protocol {@code version} holding no job; counts them. */
    private static int answerHellos(ServerSocketChannel server, int version) {
        int answered = 0;
        while (true) {
            try (SocketChannel peer = server.accept()) {
                ByteBuffer hello = ByteBuffer.allocate(Keeper.HEADER_BYTES + Integer.BYTES).order(ByteOrder.nativeOrder());
                while (hello.hasRemaining() && peer.read(hello) >= 0) {
                    // until the whole hello is in
                }
                long tag = hello.getLong(8);
                ByteBuffer reply = ByteBuffer.allocate(Keeper.HEADER_BYTES + 3 * Integer.BYTES).order(ByteOrder.nativeOrder())
                        .putInt(Keeper.HEADER_BYTES + 3 * Integer.BYTES).putShort((short) HELLO_OK).putShort((short) 0)
                        .putLong(tag).putInt(version).putInt((int) ProcessHandle.current().pid()).putInt(0).flip();
                while (reply.hasRemaining()) {
                    peer.write(reply);
                }
                answered++;
                ByteBuffer rest = ByteBuffer.allocate(1);
                peer.read(rest); // the daemon closes its end: nothing more is sent
            } catch (IOException closed) {
                return answered;
            }
        }
    }
}

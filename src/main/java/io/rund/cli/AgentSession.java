package io.rund.cli;

import java.io.DataInputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.PrintStream;
import java.nio.ByteBuffer;
import java.nio.channels.Channels;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.function.BooleanSupplier;

/**
 * One command the CLI agent runs for its native front end, over one Unix socket connection. The front end sends the
 * command ("RND1", flags, cwd, argv, its RUND_* environment; big-endian u32 lengths) and later one-byte-pair control
 * frames: a signal it caught ('I', signo), or that one of its outputs closed ('C', fd). The agent sends output frames
 * ('o' stdout, 'e' stderr: u32 length, bytes) and ends with the exit code ('x', 4 bytes), or declines at once ('f',
 * no payload) so the front end runs the command in a JVM of its own.
 */
final class AgentSession {

    private static final int MAGIC = 0x524e4431; // "RND1"
    /** Front end flag: its stdin and stdout are both a terminal. */
    private static final int FLAG_TERMINAL = 1;
    /** Longest argument, environment entry or directory name accepted: bounds what a peer can make the agent hold. */
    private static final int MAX_STRING_BYTES = 1 << 20;
    private static final int MAX_STRINGS = 1 << 16;
    private static final byte STDOUT = 'o';
    private static final byte STDERR = 'e';
    private static final byte EXIT = 'x';
    private static final byte DECLINE = 'f';
    private static final byte INTERRUPT = 'I';
    private static final byte CLOSED = 'C';
    private static final int STDOUT_FD = 1;
    private static final String ENV_PREFIX = "RUND_";

    private final SocketChannel channel;
    private final AgentConnections connections;
    private final BooleanSupplier stale;
    private final List<Thread> hooks = new ArrayList<>();
    private final Frames frames;
    private volatile Thread command;
    /** Set before a forwarded signal's hooks run: the command's own end then waits for them, as a JVM's exit does. */
    private volatile boolean interrupting;
    private Thread controller;

    AgentSession(SocketChannel channel, AgentConnections connections, BooleanSupplier stale) {
        this.channel = channel;
        this.connections = connections;
        this.stale = stale;
        this.frames = new Frames(channel);
    }

    void serve() {
        try (channel) {
            DataInputStream in = new DataInputStream(Channels.newInputStream(channel));
            if (in.readInt() != MAGIC) {
                return;
            }
            boolean terminal = (in.readInt() & FLAG_TERMINAL) != 0;
            Path cwd = Path.of(readString(in));
            String[] args = new String[readCount(in)];
            for (int i = 0; i < args.length; i++) {
                args[i] = readString(in);
            }
            Map<String, String> env = new HashMap<>();
            int entries = readCount(in);
            for (int i = 0; i < entries; i++) {
                String entry = readString(in);
                int equals = entry.indexOf('=');
                if (equals > 0 && entry.startsWith(ENV_PREFIX)) {
                    env.put(entry.substring(0, equals), entry.substring(equals + 1));
                }
            }
            if (stale.getAsBoolean()) {
                frames.send(DECLINE, new byte[0]);
                return;
            }
            command = Thread.currentThread();
            controller = Thread.ofPlatform().daemon().name("rund-agent-control").start(() -> control(in));
            InterruptHooks.useSession(hooks);
            int code;
            try (PrintStream out = new PrintStream(new FrameStream(STDOUT), true);
                    PrintStream err = new PrintStream(new FrameStream(STDERR), true)) {
                code = RundCli.executeForwarded(out, err, terminal, env, cwd, args);
                if (interrupting) {
                    // `rund run` ends as its hook stops the job: the hook's line and 128+signal come first, as in a
                    // JVM of its own, where the command's exit waits for the shutdown hooks. The command may end
                    // first (its job's end reached the follow before the Stop's reply reached the hook): the streams
                    // stay open until the hook has written its line.
                    controller.join();
                }
            } finally {
                InterruptHooks.useSession(null);
                command = null;
            }
            if (code == ExitCodes.PERMISSION || code == ExitCodes.UNAVAILABLE) {
                // The server went or refused us: the next command connects afresh.
                connections.forgetAll();
            }
            frames.exit(code);
        } catch (IOException e) {
            // The front end went away (killed, or its connection broke): nothing to report to.
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /** Reads the front end's control frames: a caught signal runs the command's interrupt hooks and ends the session. */
    private void control(DataInputStream in) {
        try {
            while (true) {
                byte type = in.readByte();
                byte value = in.readByte();
                if (type == CLOSED) {
                    frames.close(value == STDOUT_FD ? STDOUT : STDERR);
                } else if (type == INTERRUPT) {
                    interrupting = true;
                    InterruptHooks.runAll(hooks);
                    frames.exit(ExitCodes.SIGNAL_BASE + value);
                    interruptCommand();
                    return;
                }
            }
        } catch (EOFException e) {
            // The front end is gone without a word (killed): its outputs are closed, the command ends at its next write.
            frames.close(STDOUT);
            frames.close(STDERR);
            interruptCommand();
        } catch (IOException e) {
            interruptCommand();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private void interruptCommand() {
        Thread running = command;
        if (running != null) {
            running.interrupt();
        }
    }

    private static int readCount(DataInputStream in) throws IOException {
        int count = in.readInt();
        if (count < 0 || count > MAX_STRINGS) {
            throw new IOException("bad count " + count);
        }
        return count;
    }

    private static String readString(DataInputStream in) throws IOException {
        int length = in.readInt();
        if (length < 0 || length > MAX_STRING_BYTES) {
            throw new IOException("bad length " + length);
        }
        return new String(in.readNBytes(length), StandardCharsets.UTF_8);
    }

    /** One of the command's outputs, as frames of its type; fails once the front end said that output is closed. */
    private final class FrameStream extends OutputStream {
        private final byte type;

        FrameStream(byte type) {
            this.type = type;
        }

        @Override
        public void write(int b) throws IOException {
            write(new byte[] {(byte) b}, 0, 1);
        }

        @Override
        public void write(byte[] bytes, int offset, int length) throws IOException {
            if (length > 0) {
                frames.send(type, bytes, offset, length);
            }
        }
    }

    /** The agent's side of the socket: whole frames, one writer at a time; nothing after the exit code. */
    private static final class Frames {
        private final SocketChannel channel;
        private boolean stdoutClosed;
        private boolean stderrClosed;
        private boolean ended;

        Frames(SocketChannel channel) {
            this.channel = channel;
        }

        void send(byte type, byte[] payload) throws IOException {
            send(type, payload, 0, payload.length);
        }

        synchronized void send(byte type, byte[] bytes, int offset, int length) throws IOException {
            if (ended || (type == STDOUT && stdoutClosed) || (type == STDERR && stderrClosed)) {
                throw new IOException("closed");
            }
            ByteBuffer header = ByteBuffer.allocate(5).put(type).putInt(length).flip();
            ByteBuffer body = ByteBuffer.wrap(bytes, offset, length);
            while (header.hasRemaining() || body.hasRemaining()) {
                channel.write(new ByteBuffer[] {header, body});
            }
        }

        synchronized void close(byte type) {
            if (type == STDOUT) {
                stdoutClosed = true;
            } else {
                stderrClosed = true;
            }
        }

        synchronized void exit(int code) throws IOException {
            if (ended) {
                return;
            }
            send(EXIT, ByteBuffer.allocate(4).putInt(code).array());
            ended = true;
        }
    }
}

package io.rund.logs;

import java.io.FileOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.SplittableRandom;
import java.util.concurrent.locks.LockSupport;

/**
 * A known pseudo-random byte stream, the same for the same seed however it is cut into writes; its main writes one
 * into a FIFO continuously, in writes of random size with short pauses, as a job writing its output would
 * ({@code java PseudoRandomStream FIFO SEED BYTES}). The crash test compares a log with {@link #sha256}.
 */
public final class PseudoRandomStream {

    private static final int BLOCK_BYTES = 4096;
    private static final int MAX_WRITE_BYTES = 48 * 1024;
    /** Between writes: keeps the writer running for the whole test rather than filling the FIFO at once. */
    private static final long PAUSE_NANOS = 3_000_000;
    private static final long CHUNK_SEED_MIX = 0x9E3779B97F4A7C15L;

    private final SplittableRandom content;
    private final byte[] block = new byte[BLOCK_BYTES];
    private int used = BLOCK_BYTES;

    PseudoRandomStream(long seed) {
        this.content = new SplittableRandom(seed);
    }

    /** Fills {@code into[0, length)} with the stream's next bytes. */
    void next(byte[] into, int length) {
        for (int done = 0; done < length; ) {
            if (used == BLOCK_BYTES) {
                content.nextBytes(block);
                used = 0;
            }
            int take = Math.min(length - done, BLOCK_BYTES - used);
            System.arraycopy(block, used, into, done, take);
            used += take;
            done += take;
        }
    }

    /** The SHA-256 of the stream's first {@code bytes} bytes, in hex. */
    static String sha256(long seed, long bytes) throws NoSuchAlgorithmException {
        PseudoRandomStream stream = new PseudoRandomStream(seed);
        MessageDigest digest = MessageDigest.getInstance("SHA-256");
        byte[] chunk = new byte[BLOCK_BYTES];
        for (long left = bytes; left > 0; ) {
            int take = (int) Math.min(left, BLOCK_BYTES);
            stream.next(chunk, take);
            digest.update(chunk, 0, take);
            left -= take;
        }
        return HexFormat.of().formatHex(digest.digest());
    }

    public static void main(String[] args) throws IOException {
        Path fifo = Path.of(args[0]);
        long seed = Long.parseLong(args[1]);
        long total = Long.parseLong(args[2]);
        PseudoRandomStream stream = new PseudoRandomStream(seed);
        SplittableRandom sizes = new SplittableRandom(seed ^ CHUNK_SEED_MIX);
        byte[] chunk = new byte[MAX_WRITE_BYTES];
        try (OutputStream out = new FileOutputStream(fifo.toFile())) {
            for (long left = total; left > 0; ) {
                int length = (int) Math.min(left, sizes.nextInt(1, MAX_WRITE_BYTES + 1));
                stream.next(chunk, length);
                out.write(chunk, 0, length);
                left -= length;
                LockSupport.parkNanos(PAUSE_NANOS);
            }
        }
    }
}

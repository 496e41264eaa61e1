package io.rund.logs;

import java.util.Arrays;
import java.util.Objects;
import java.util.zip.CRC32;
import java.util.zip.DataFormatException;
import java.util.zip.Deflater;
import java.util.zip.Inflater;

/**
 * A record's output compressed by raw deflate (RFC 1951), with the CRC-32 and length of the bytes it stands for:
 * everything a gzip message carrying them needs, so that output is compressed once and the result serves every
 * follower, local (as the API's gzip message) or on another node (as what crosses between nodes). Made only when it
 * is worth it: output under {@link #MIN_BYTES} or that shrinks by less than a tenth stays as it is.
 * <p>
 * {@code deflate} ends with a final block and refers to nothing before its first byte, so a writer may put other
 * deflate blocks (the API's stored header) in front of it.
 */
public record Deflated(byte[] deflate, int crc32, int length) {

    /** Below this, output stays as it is: a gzip header and trailer alone are 18 bytes. */
    public static final int MIN_BYTES = 512;
    /** Compressed output is kept only if it is at most this share of the output. */
    private static final double WORTH = 0.9;
    /** The part compressed first, to give up early on output that does not compress (random, already compressed). */
    private static final int PROBE_BYTES = 4096;
    /** Deflate's fastest level: the work is once per record, but it is on the followers' path. */
    private static final ThreadLocal<Deflater> DEFLATERS = ThreadLocal.withInitial(() -> new Deflater(Deflater.BEST_SPEED, true));

    public Deflated {
        Objects.requireNonNull(deflate, "deflate");
        if (length < 0) {
            throw new IllegalArgumentException("length must be >= 0, was " + length);
        }
    }

    /** {@code bytes} deflated, or null when that is not worth it (too short, or it saves less than a tenth). */
    public static Deflated of(byte[] bytes) {
        if (bytes.length < MIN_BYTES) {
            return null;
        }
        int limit = (int) (bytes.length * WORTH);
        Deflater deflater = DEFLATERS.get();
        deflater.reset();
        // One byte of slack: zlib may mark the stream finished only on a call that had room left.
        byte[] out = new byte[limit + 1];
        // A first part, flushed: if it does not compress, the rest is not tried.
        int probe = Math.min(bytes.length, PROBE_BYTES);
        deflater.setInput(bytes, 0, probe);
        int at = deflater.deflate(out, 0, out.length, Deflater.SYNC_FLUSH);
        if (at >= out.length || at > probe * WORTH) {
            return null; // (output that filled the space may not all be out: given up as well)
        }
        deflater.setInput(bytes, probe, bytes.length - probe);
        deflater.finish();
        while (!deflater.finished()) {
            if (at >= out.length) {
                return null;
            }
            at += deflater.deflate(out, at, out.length - at);
        }
        if (at > limit) {
            return null;
        }
        CRC32 crc = new CRC32();
        crc.update(bytes);
        return new Deflated(Arrays.copyOf(out, at), (int) crc.getValue(), bytes.length);
    }

    /** The output again; fails if {@code deflate} does not inflate to exactly {@code length} bytes of that CRC. */
    public byte[] inflate() {
        byte[] bytes = new byte[length];
        Inflater inflater = new Inflater(true);
        try {
            inflater.setInput(deflate);
            int at = 0;
            while (at < length && !inflater.finished()) {
                int n = inflater.inflate(bytes, at, length - at);
                if (n == 0 && (inflater.needsInput() || inflater.needsDictionary())) {
                    break;
                }
                at += n;
            }
            if (at != length || !inflater.finished() && inflater.inflate(new byte[1]) > 0) {
                throw new IllegalStateException("deflated output does not inflate to its " + length + " bytes");
            }
        } catch (DataFormatException e) {
            throw new IllegalStateException("deflated output is corrupt: " + e.getMessage(), e);
        } finally {
            inflater.end();
        }
        CRC32 crc = new CRC32();
        crc.update(bytes);
        if ((int) crc.getValue() != crc32) {
            throw new IllegalStateException("deflated output fails its CRC-32");
        }
        return bytes;
    }

    @Override
    public boolean equals(Object other) {
        return other instanceof Deflated that && crc32 == that.crc32 && length == that.length
                && Arrays.equals(deflate, that.deflate);
    }

    @Override
    public int hashCode() {
        return 31 * Arrays.hashCode(deflate) + crc32;
    }

    @Override
    public String toString() {
        return "Deflated[" + deflate.length + " bytes for " + length + "]";
    }
}

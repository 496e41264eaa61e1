package io.rund.api;

import java.nio.ByteBuffer;
import java.util.HexFormat;

/**
 * The 32 random bytes of a connection's TLS ClientHello, read from the first bytes the peer sends: the key by which
 * a TLS engine (which pekko-http never tells the peer's address) and the connection's guard (which knows it) find
 * each other, so that a refused handshake is logged with its peer ({@link ConnectionDoor#handshakeRefused}). Fed the
 * stream from its first byte, in order; not thread-safe (each side owns one).
 */
final class ClientHelloRandom {

    /** Record header (5: type, version, length), handshake header (4: type, length), legacy_version (2). */
    private static final int RANDOM_OFFSET = 11;
    private static final int RANDOM_BYTES = 32;
    private static final int PREFIX_BYTES = RANDOM_OFFSET + RANDOM_BYTES;
    private static final byte HANDSHAKE_RECORD = 22;
    private static final byte CLIENT_HELLO = 1;

    private final byte[] prefix = new byte[PREFIX_BYTES];
    private int filled;
    private long streamOffset;

    /** Reads what it still needs of {@code bytes}, the next bytes of the stream (each byte given once); leaves them as they are. */
    void feed(ByteBuffer bytes) {
        feedAt(bytes, streamOffset);
        streamOffset += bytes.remaining();
    }

    /**
     * Reads what it still needs of the unread part of {@code bytes} (which starts at stream offset {@code startOffset}),
     * for a reader that is handed the same bytes again until it consumes them (an SSLEngine's unwrap).
     */
    void feedAt(ByteBuffer bytes, long startOffset) {
        if (filled >= PREFIX_BYTES || startOffset > filled) {
            return;
        }
        ByteBuffer view = bytes.duplicate();
        int skip = (int) (filled - startOffset);
        if (skip >= view.remaining()) {
            return;
        }
        view.position(view.position() + skip);
        int n = Math.min(PREFIX_BYTES - filled, view.remaining());
        view.get(prefix, filled, n);
        filled += n;
    }

    /** The random as hex once the first 43 bytes came and they begin a ClientHello; null before or otherwise. */
    String key() {
        if (filled < PREFIX_BYTES || prefix[0] != HANDSHAKE_RECORD || prefix[5] != CLIENT_HELLO) {
            return null;
        }
        return HexFormat.of().formatHex(prefix, RANDOM_OFFSET, PREFIX_BYTES);
    }

    boolean complete() {
        return filled >= PREFIX_BYTES;
    }
}

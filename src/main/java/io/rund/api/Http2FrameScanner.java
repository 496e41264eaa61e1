package io.rund.api;

import java.nio.ByteBuffer;

/**
 * Follows the frame boundaries of one direction of an HTTP/2 connection (RFC 9113 §4.1: a 9-byte header whose first
 * three bytes are the payload length and whose fourth is the type) without copying anything but headers, and notes
 * a GOAWAY that carries an error code: after sending one, an endpoint must close the TCP connection (§5.4.1), which
 * pekko-http 1.3 does not do (it keeps the connection, and a dead peer with it).
 */
final class Http2FrameScanner {

    private static final int HEADER_BYTES = 9;
    private static final int GOAWAY = 0x7;
    /** GOAWAY's payload: the last stream id (4 bytes), then the error code (4 bytes). */
    private static final int GOAWAY_CODE_END = 8;
    private static final int NO_ERROR = 0;

    private final byte[] header = new byte[HEADER_BYTES];
    private int headerFill;
    private long payloadLeft;
    private boolean inGoAway;
    private final byte[] goAwayStart = new byte[GOAWAY_CODE_END];
    private int goAwayFill;
    private int connectionErrorCode = NO_ERROR;

    /** Reads the bytes of {@code buffer} between the absolute positions {@code from} and {@code to}. */
    void scan(ByteBuffer buffer, int from, int to) {
        int i = from;
        while (i < to) {
            if (payloadLeft > 0) {
                if (inGoAway && goAwayFill < GOAWAY_CODE_END) {
                    goAwayStart[goAwayFill++] = buffer.get(i++);
                    payloadLeft--;
                    if (goAwayFill == GOAWAY_CODE_END) {
                        int code = ((goAwayStart[4] & 0xff) << 24) | ((goAwayStart[5] & 0xff) << 16)
                                | ((goAwayStart[6] & 0xff) << 8) | (goAwayStart[7] & 0xff);
                        if (code != NO_ERROR && connectionErrorCode == NO_ERROR) {
                            connectionErrorCode = code;
                        }
                    }
                    continue;
                }
                int skip = (int) Math.min(payloadLeft, to - i);
                i += skip;
                payloadLeft -= skip;
                continue;
            }
            header[headerFill++] = buffer.get(i++);
            if (headerFill == HEADER_BYTES) {
                headerFill = 0;
                payloadLeft = ((header[0] & 0xffL) << 16) | ((header[1] & 0xffL) << 8) | (header[2] & 0xffL);
                inGoAway = (header[3] & 0xff) == GOAWAY;
                goAwayFill = 0;
            }
        }
    }

    /** Whether a GOAWAY with an error code went by (then the connection must close). */
    boolean sawConnectionError() {
        return connectionErrorCode != NO_ERROR;
    }

    int connectionErrorCode() {
        return connectionErrorCode;
    }
}

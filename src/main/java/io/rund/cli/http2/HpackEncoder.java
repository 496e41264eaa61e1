package io.rund.cli.http2;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.List;

/**
 * Encodes request headers as HPACK literals without indexing and without Huffman coding: always valid, needs
 * no state shared with the peer, and a client's few short headers gain little from compression.
 */
final class HpackEncoder {

    private static final int LITERAL_WITHOUT_INDEXING = 0x00;

    private HpackEncoder() {}

    static byte[] encode(List<Header> headers) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        for (Header header : headers) {
            out.write(LITERAL_WITHOUT_INDEXING);
            string(out, header.name());
            string(out, header.value());
        }
        return out.toByteArray();
    }

    private static void string(ByteArrayOutputStream out, String text) {
        byte[] bytes = text.getBytes(StandardCharsets.ISO_8859_1);
        integer(out, bytes.length, 7, 0x00);
        out.write(bytes, 0, bytes.length);
    }

    /** An integer with an N-bit prefix, the prefix's other bits set to {@code flags} (RFC 7541, 5.1). */
    static void integer(ByteArrayOutputStream out, int value, int prefixBits, int flags) {
        int max = (1 << prefixBits) - 1;
        if (value < max) {
            out.write(flags | value);
            return;
        }
        out.write(flags | max);
        value -= max;
        while (value >= 0x80) {
            out.write((value & 0x7f) | 0x80);
            value >>>= 7;
        }
        out.write(value);
    }
}

package io.rund.cli.http2;

import java.nio.charset.StandardCharsets;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;

/**
 * Decodes HPACK header blocks (RFC 7541) for one connection: indexed fields, literals with and without indexing,
 * Huffman-coded strings, and the dynamic table with its size updates and evictions. Every header block the
 * connection receives must pass through here in order, also for streams nobody waits for any more, so that
 * the dynamic table stays in step with the peer's encoder.
 */
final class HpackDecoder {

    /** SETTINGS_HEADER_TABLE_SIZE we leave at its default: the most the peer may make the dynamic table. */
    static final int MAX_TABLE_SIZE = 4096;
    /** Refuse header lists larger than this (the sum of HPACK entry sizes). */
    static final int MAX_HEADER_LIST_SIZE = 64 * 1024;
    private static final int STATIC_SIZE = HpackStaticTable.ENTRIES.size();

    /** Newest entry first, as HPACK indexes them. */
    private final ArrayDeque<Header> dynamic = new ArrayDeque<>();
    private int dynamicSize;
    private int tableSizeLimit = MAX_TABLE_SIZE;

    List<Header> decode(byte[] block) throws Http2ProtocolException {
        List<Header> headers = new ArrayList<>();
        Cursor in = new Cursor(block);
        int listSize = 0;
        boolean fieldSeen = false;
        while (in.hasMore()) {
            int b = in.peek();
            Header header;
            if ((b & 0x80) != 0) {
                header = entry(in.integer(7));
            } else if ((b & 0xc0) == 0x40) {
                header = literal(in, 6);
                add(header);
            } else if ((b & 0xe0) == 0x20) {
                if (fieldSeen) {
                    throw new Http2ProtocolException("HPACK: dynamic table size update after a header field");
                }
                resize(in.integer(5));
                continue;
            } else {
                header = literal(in, 4); // 0000xxxx without indexing, 0001xxxx never indexed
            }
            fieldSeen = true;
            listSize += header.hpackSize();
            if (listSize > MAX_HEADER_LIST_SIZE) {
                throw new Http2ProtocolException("HPACK: header list larger than " + MAX_HEADER_LIST_SIZE + " bytes");
            }
            headers.add(header);
        }
        return headers;
    }

    private Header literal(Cursor in, int prefixBits) throws Http2ProtocolException {
        int index = in.integer(prefixBits);
        String name = index == 0 ? in.string() : entry(index).name();
        return new Header(name, in.string());
    }

    private Header entry(int index) throws Http2ProtocolException {
        if (index <= 0) {
            throw new Http2ProtocolException("HPACK: index 0");
        }
        if (index <= STATIC_SIZE) {
            return HpackStaticTable.ENTRIES.get(index - 1);
        }
        int position = index - STATIC_SIZE - 1;
        if (position >= dynamic.size()) {
            throw new Http2ProtocolException("HPACK: index " + index + " beyond the dynamic table (" + dynamic.size() + " entries)");
        }
        Iterator<Header> entries = dynamic.iterator();
        for (int i = 0; i < position; i++) {
            entries.next();
        }
        return entries.next();
    }

    private void add(Header header) {
        int size = header.hpackSize();
        if (size > tableSizeLimit) {
            dynamic.clear(); // an entry larger than the table empties it (RFC 7541, 4.4)
            dynamicSize = 0;
            return;
        }
        evictDownTo(tableSizeLimit - size);
        dynamic.addFirst(header);
        dynamicSize += size;
    }

    private void resize(int newLimit) throws Http2ProtocolException {
        if (newLimit > MAX_TABLE_SIZE) {
            throw new Http2ProtocolException("HPACK: table size update to " + newLimit + " above " + MAX_TABLE_SIZE);
        }
        tableSizeLimit = newLimit;
        evictDownTo(newLimit);
    }

    private void evictDownTo(int limit) {
        while (dynamicSize > limit) {
            dynamicSize -= dynamic.removeLast().hpackSize();
        }
    }

    /** Reads HPACK primitives from a header block. */
    private static final class Cursor {
        private final byte[] data;
        private int position;

        Cursor(byte[] data) {
            this.data = data;
        }

        boolean hasMore() {
            return position < data.length;
        }

        int peek() {
            return data[position] & 0xff;
        }

        /** An integer with an N-bit prefix (RFC 7541, 5.1). */
        int integer(int prefixBits) throws Http2ProtocolException {
            int max = (1 << prefixBits) - 1;
            int value = next() & max;
            if (value < max) {
                return value;
            }
            for (int shift = 0; ; shift += 7) {
                if (shift > 21) {
                    throw new Http2ProtocolException("HPACK: integer too large");
                }
                int b = next();
                value += (b & 0x7f) << shift;
                if ((b & 0x80) == 0) {
                    return value;
                }
            }
        }

        /** A string literal, Huffman-coded or not (RFC 7541, 5.2). */
        String string() throws Http2ProtocolException {
            boolean huffman = (peek() & 0x80) != 0;
            int length = integer(7);
            if (length > data.length - position) {
                throw new Http2ProtocolException("HPACK: string of " + length + " bytes runs past the header block");
            }
            byte[] bytes = huffman ? Huffman.decode(data, position, length) : java.util.Arrays.copyOfRange(data, position, position + length);
            position += length;
            return new String(bytes, StandardCharsets.ISO_8859_1);
        }

        private int next() throws Http2ProtocolException {
            if (position >= data.length) {
                throw new Http2ProtocolException("HPACK: header block ends inside a field");
            }
            return data[position++] & 0xff;
        }
    }
}

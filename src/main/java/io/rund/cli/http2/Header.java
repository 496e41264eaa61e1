package io.rund.cli.http2;

/** One HTTP/2 header field. Names are lower-case; names and values hold bytes as ISO-8859-1 characters. */
public record Header(String name, String value) {

    /** HPACK's size of an entry: its octets plus 32 (RFC 7541, 4.1). */
    int hpackSize() {
        return name.length() + value.length() + 32;
    }
}

package io.rund.cli.http2;

import java.io.IOException;

/** The peer broke the HTTP/2 or HPACK rules; the connection cannot be used any more. */
public final class Http2ProtocolException extends IOException {

    public Http2ProtocolException(String message) {
        super(message);
    }
}

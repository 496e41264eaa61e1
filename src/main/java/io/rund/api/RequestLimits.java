package io.rund.api;

import com.typesafe.config.Config;

/**
 * What the API accepts of one request before any of it reaches the service, read once from {@code rund.api}.
 *
 * @param maxRequestBytes        largest request message, in bytes (after decompression): a bigger one is refused
 *                               as soon as its length prefix announces it, and never buffered
 * @param maxBufferedRequestBytes request bytes all calls together may hold while they are read
 * @param badRequestLogsPerMinute log lines about refused requests per minute at most; the rest are counted
 */
public record RequestLimits(int maxRequestBytes, long maxBufferedRequestBytes, int badRequestLogsPerMinute) {

    /** Below this, Start's own 1 MiB cap on argv and environment could never be reached by a valid request. */
    static final long MIN_REQUEST_BYTES = 1 << 16;

    public RequestLimits {
        if (maxRequestBytes < MIN_REQUEST_BYTES) {
            throw new IllegalArgumentException("rund.api.max-request-bytes must be at least " + MIN_REQUEST_BYTES
                    + " bytes, not " + maxRequestBytes);
        }
        if (maxBufferedRequestBytes < maxRequestBytes) {
            throw new IllegalArgumentException("rund.api.max-buffered-request-bytes (" + maxBufferedRequestBytes
                    + ") must be at least rund.api.max-request-bytes (" + maxRequestBytes + ")");
        }
        if (badRequestLogsPerMinute < 0) {
            throw new IllegalArgumentException("rund.api.bad-request-logs-per-minute must not be negative");
        }
    }

    /** From the {@code rund.api} block. */
    public static RequestLimits fromConfig(Config api) {
        long bytes = api.getBytes("max-request-bytes");
        if (bytes > Integer.MAX_VALUE - GrpcFrames.PREFIX_BYTES) {
            throw new IllegalArgumentException("rund.api.max-request-bytes must be under 2 GiB, not " + bytes);
        }
        return new RequestLimits((int) bytes, api.getBytes("max-buffered-request-bytes"),
                api.getInt("bad-request-logs-per-minute"));
    }
}

package io.rund.api;

import io.grpc.Status;
import org.apache.pekko.grpc.GrpcServiceException;
import org.apache.pekko.util.ByteString;
import org.apache.pekko.util.ByteStringBuilder;

import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.zip.GZIPInputStream;

/**
 * gRPC's length-prefixed messages (a flags byte, a 4-byte big-endian length, the message) read from a request body as
 * it arrives, within a size limit checked on the prefix: a message announced bigger than the limit is refused before
 * any of it is buffered, so at most one prefix plus {@code maxMessageBytes} is ever held. A gzip message (the only
 * encoding rund accepts besides identity) is inflated with the same limit on its inflated size.
 */
final class GrpcFrames {

    static final int PREFIX_BYTES = 5;
    static final String LIMIT_SETTING = "rund.api.max-request-bytes";
    private static final int COMPRESSED_FLAG = 0x01;

    /** The encodings a request may name in grpc-encoding; any other is UNIMPLEMENTED. */
    enum Encoding { IDENTITY, GZIP }

    private final int maxMessageBytes;
    private final Encoding encoding;
    private final RequestBudget budget;
    private final boolean releaseEachMessage;
    /** Bytes reserved in the budget for the messages read and being read, until {@link #release()}. */
    private long reserved;
    private ByteString pending = ByteString.emptyByteString();
    /** The prefix of the message being read, or -1 while its prefix is incomplete. */
    private long expectedBytes = -1;
    private boolean compressed;

    /**
     * {@code releaseEachMessage}: a message's reservation is given back as it is handed on (a streaming call);
     * otherwise all are held until {@link #release()} (a unary call, once answered).
     */
    GrpcFrames(int maxMessageBytes, Encoding encoding, RequestBudget budget, boolean releaseEachMessage) {
        this.maxMessageBytes = maxMessageBytes;
        this.encoding = encoding;
        this.budget = budget;
        this.releaseEachMessage = releaseEachMessage;
    }

    /** Gives back what this body's messages reserved in the budget; may be called more than once. */
    synchronized void release() {
        budget.release(reserved);
        reserved = 0;
    }

    /** One message framed uncompressed. */
    static ByteString frame(ByteString message) {
        return new ByteStringBuilder()
                .putByte((byte) 0)
                .putInt(message.size(), ByteOrder.BIG_ENDIAN)
                .append(message)
                .result();
    }

    /** The messages {@code chunk} completes, uncompressed; refuses a bad or oversized one as soon as its prefix is read. */
    List<ByteString> feed(ByteString chunk) throws GrpcServiceException {
        pending = pending.concat(chunk);
        List<ByteString> messages = new ArrayList<>(1);
        while (true) {
            if (expectedBytes < 0) {
                if (pending.size() < PREFIX_BYTES) {
                    return messages;
                }
                readPrefix();
            }
            if (pending.size() < expectedBytes) {
                return messages;
            }
            ByteString message = pending.take((int) expectedBytes);
            pending = pending.drop((int) expectedBytes);
            expectedBytes = -1;
            messages.add(compressed ? inflate(message) : message);
            if (releaseEachMessage) {
                release();
            }
        }
    }

    /** Whether bytes of a next message have come. */
    boolean hasPending() {
        return expectedBytes >= 0 || !pending.isEmpty();
    }

    /** At the end of the body: refuses a message cut short. */
    void finish() throws GrpcServiceException {
        if (expectedBytes >= 0 || !pending.isEmpty()) {
            throw ApiErrors.refusal(Status.Code.INVALID_ARGUMENT, "request body ends inside a message: "
                    + (expectedBytes >= 0
                            ? "its prefix announced " + expectedBytes + " bytes, " + pending.size() + " came"
                            : "only " + pending.size() + " bytes of its " + PREFIX_BYTES + "-byte length prefix came"));
        }
    }

    private void readPrefix() throws GrpcServiceException {
        int flags = pending.apply(0) & 0xff;
        long length = Integer.toUnsignedLong(pending.iterator().drop(1).getInt(ByteOrder.BIG_ENDIAN));
        if ((flags & ~COMPRESSED_FLAG) != 0) {
            throw ApiErrors.refusal(Status.Code.INVALID_ARGUMENT, String.format(
                    "request message has unknown flags 0x%02x in its length prefix (only 0x01, compressed, exists)", flags));
        }
        compressed = (flags & COMPRESSED_FLAG) != 0;
        if (compressed && encoding == Encoding.IDENTITY) {
            throw ApiErrors.refusal(Status.Code.INVALID_ARGUMENT,
                    "request message is flagged compressed but the call names no grpc-encoding");
        }
        if (length > maxMessageBytes) {
            throw tooLarge("announces " + length + " bytes");
        }
        long reservation = compressed ? maxMessageBytes : length;
        synchronized (this) {
            if (!budget.tryReserve(reservation)) {
                throw ApiErrors.refusal(Status.Code.RESOURCE_EXHAUSTED, "rund is reading too many requests at once ("
                        + RequestBudget.SETTING + " = " + budget.capacity() + " bytes); try again shortly");
            }
            reserved += reservation;
        }
        expectedBytes = length;
        pending = pending.drop(PREFIX_BYTES);
    }

    private ByteString inflate(ByteString message) throws GrpcServiceException {
        try (InputStream in = new GZIPInputStream(message.iterator().asInputStream())) {
            byte[] inflated = in.readNBytes(maxMessageBytes + 1);
            if (inflated.length > maxMessageBytes) {
                throw tooLarge("inflates to more than " + maxMessageBytes + " bytes");
            }
            return ByteString.fromArrayUnsafe(inflated);
        } catch (IOException e) {
            throw ApiErrors.refusal(Status.Code.INVALID_ARGUMENT, "request message is not valid gzip: " + e.getMessage());
        }
    }

    private GrpcServiceException tooLarge(String what) {
        return ApiErrors.refusal(Status.Code.RESOURCE_EXHAUSTED, ApiErrors.REQUEST_TOO_LARGE, Map.of(),
                "request message " + what + "; the limit is " + maxMessageBytes + " bytes (" + LIMIT_SETTING + ")");
    }
}

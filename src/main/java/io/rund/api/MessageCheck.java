package io.rund.api;

import com.google.protobuf.ByteString;
import com.google.protobuf.CodedInputStream;
import com.google.protobuf.Descriptors.Descriptor;
import com.google.protobuf.Descriptors.FieldDescriptor;
import com.google.protobuf.WireFormat;
import io.grpc.Status;
import org.apache.pekko.grpc.GrpcServiceException;

import java.io.IOException;
import java.util.HashMap;
import java.util.Map;

/**
 * Reads a request message's wire format against its schema before protobuf parses it, to name the field at fault:
 * protobuf's own parser says only "invalid UTF-8" or "truncated" (and pekko-grpc answered that INTERNAL). Refused:
 * a string that is not UTF-8, a message cut short, and a known field sent with a wire type its type never has
 * (protobuf would drop it silently as an unknown field). Unknown field numbers are skipped, as protobuf does, so that
 * newer clients keep working. Nothing is copied: strings are checked where they lie.
 */
final class MessageCheck {

    /** Deeper than any message of rund's API nests; reached only through a recursive type. */
    private static final int MAX_DEPTH = 32;

    private MessageCheck() {}

    /** Refuses {@code message} with INVALID_ARGUMENT naming the field, unless it is a well-formed {@code type}. */
    static void check(Descriptor type, ByteString message) throws GrpcServiceException {
        CodedInputStream in = message.newCodedInput();
        in.enableAliasing(true);
        try {
            walk(type, in, "", 0);
        } catch (IOException e) { // InvalidProtocolBufferException: cut short, a bad tag, a bad varint
            throw ApiErrors.refusal(Status.Code.INVALID_ARGUMENT,
                    "request is not a valid " + type.getFullName() + " message: " + e.getMessage());
        }
    }

    private static void walk(Descriptor type, CodedInputStream in, String path, int depth) throws IOException {
        if (depth > MAX_DEPTH) {
            throw refusal(path, "nests deeper than " + MAX_DEPTH + " messages");
        }
        Map<Integer, Integer> seen = new HashMap<>();
        while (!in.isAtEnd()) {
            int tag = in.readTag();
            FieldDescriptor field = type.findFieldByNumber(WireFormat.getTagFieldNumber(tag));
            if (field == null) {
                in.skipField(tag);
                continue;
            }
            String name = path + field.getName();
            if (field.isRepeated()) {
                name += "[" + (seen.merge(field.getNumber(), 1, Integer::sum) - 1) + "]";
            }
            int wireType = WireFormat.getTagWireType(tag);
            if (wireType != expectedWireType(field)
                    && !(field.isPackable() && wireType == WireFormat.WIRETYPE_LENGTH_DELIMITED)) {
                throw refusal(name, "sent as wire type " + wireType + " (" + wireTypeName(wireType) + "), but a "
                        + field.getType().name().toLowerCase(java.util.Locale.ROOT) + " field is " + wireTypeName(expectedWireType(field))
                        + " (field number " + field.getNumber() + ")");
            }
            switch (field.getJavaType()) {
                case STRING -> {
                    if (!in.readBytes().isValidUtf8()) {
                        throw refusal(name, "is not valid UTF-8");
                    }
                }
                case MESSAGE -> {
                    int length = in.readRawVarint32();
                    int outer = in.pushLimit(length);
                    walk(field.getMessageType(), in, name + ".", depth + 1);
                    in.popLimit(outer);
                }
                default -> in.skipField(tag);
            }
        }
    }

    private static int expectedWireType(FieldDescriptor field) {
        return field.getLiteType().getWireType();
    }

    private static String wireTypeName(int wireType) {
        return switch (wireType) {
            case WireFormat.WIRETYPE_VARINT -> "varint";
            case WireFormat.WIRETYPE_FIXED64 -> "64-bit";
            case WireFormat.WIRETYPE_LENGTH_DELIMITED -> "length-delimited";
            case WireFormat.WIRETYPE_START_GROUP, WireFormat.WIRETYPE_END_GROUP -> "group";
            case WireFormat.WIRETYPE_FIXED32 -> "32-bit";
            default -> "invalid";
        };
    }

    private static GrpcServiceException refusal(String field, String problem) {
        return ApiErrors.invalidField(field, field + ": " + problem);
    }
}

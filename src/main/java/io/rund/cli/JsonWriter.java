package io.rund.cli;

import java.util.List;

/**
 * Just enough JSON for the CLI's output: objects, arrays, strings, numbers, booleans and null, written
 * compactly on one line. Strings are escaped per RFC 8259 (control characters as \\u escapes).
 */
public final class JsonWriter {

    private static final String HEX = "0123456789abcdef";
    private static final int FIRST_PRINTABLE = 0x20;

    private final StringBuilder out = new StringBuilder();
    private boolean needsComma;

    public JsonWriter beginObject() {
        separate();
        out.append('{');
        needsComma = false;
        return this;
    }

    public JsonWriter endObject() {
        out.append('}');
        needsComma = true;
        return this;
    }

    public JsonWriter beginArray() {
        separate();
        out.append('[');
        needsComma = false;
        return this;
    }

    public JsonWriter endArray() {
        out.append(']');
        needsComma = true;
        return this;
    }

    /** Starts a member of the current object; the next value written is its value. */
    public JsonWriter name(String name) {
        separate();
        quote(name);
        out.append(':');
        needsComma = false;
        return this;
    }

    public JsonWriter value(String value) {
        separate();
        if (value == null) {
            out.append("null");
        } else {
            quote(value);
        }
        needsComma = true;
        return this;
    }

    public JsonWriter value(Number value) {
        separate();
        out.append(value == null ? "null" : value.toString());
        needsComma = true;
        return this;
    }

    public JsonWriter value(boolean value) {
        separate();
        out.append(value);
        needsComma = true;
        return this;
    }

    public JsonWriter nullValue() {
        return value((String) null);
    }

    /** An object of {@code labels}, keys sorted (so that output is stable). */
    public JsonWriter labels(java.util.Map<String, String> labels) {
        beginObject();
        new java.util.TreeMap<>(labels).forEach((key, value) -> name(key).value(value));
        return endObject();
    }

    public JsonWriter strings(List<String> values) {
        beginArray();
        values.forEach(this::value);
        return endArray();
    }

    @Override
    public String toString() {
        return out.toString();
    }

    private void separate() {
        if (needsComma) {
            out.append(',');
            needsComma = false;
        }
    }

    private void quote(String s) {
        out.append('"');
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            switch (c) {
                case '"' -> out.append("\\\"");
                case '\\' -> out.append("\\\\");
                case '\n' -> out.append("\\n");
                case '\r' -> out.append("\\r");
                case '\t' -> out.append("\\t");
                default -> {
                    if (c < FIRST_PRINTABLE || c == '\u2028' || c == '\u2029') {
                        out.append("\\u");
                        for (int shift = 12; shift >= 0; shift -= 4) {
                            out.append(HEX.charAt((c >> shift) & 0xf));
                        }
                    } else {
                        out.append(c);
                    }
                }
            }
        }
        out.append('"');
    }
}

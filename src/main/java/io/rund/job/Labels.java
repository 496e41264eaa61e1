package io.rund.job;

import java.nio.charset.StandardCharsets;
import java.util.Map;
import java.util.Optional;
import java.util.regex.Pattern;

/**
 * The rules a job's labels follow, Kubernetes' own (so selectors and habits carry over): a key is an optional DNS
 * subdomain prefix and a slash, then a name of at most 63 characters of [A-Za-z0-9._-] that starts and ends with a
 * letter or digit; a value is empty or such a name. Refusals name the key and the rule broken. How many labels a job
 * may have and how many bytes they take are settings ({@code rund.labels}), checked with {@link #validateCaps}.
 */
public final class Labels {

    /** Longest label name and value (Kubernetes' limit). */
    public static final int MAX_NAME_CHARS = 63;
    /** Longest key prefix: a DNS subdomain (RFC 1123). */
    public static final int MAX_PREFIX_CHARS = 253;
    static final String FIELD = "labels";

    private static final Pattern NAME = Pattern.compile("[A-Za-z0-9]([A-Za-z0-9._-]*[A-Za-z0-9])?");
    private static final Pattern DNS_SUBDOMAIN = Pattern.compile("[a-z0-9]([a-z0-9-]*[a-z0-9])?(\\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*");

    private Labels() {}

    /** The first label of {@code labels} that breaks the syntax rules, as an error naming it, or empty. */
    public static Optional<JobError> validate(Map<String, String> labels) {
        for (Map.Entry<String, String> label : labels.entrySet()) {
            Optional<String> keyProblem = keyProblem(label.getKey());
            if (keyProblem.isPresent()) {
                return Optional.of(JobError.invalid(FIELD, "key " + ClientText.quote(label.getKey()) + " " + keyProblem.get()));
            }
            Optional<String> valueProblem = valueProblem(label.getValue());
            if (valueProblem.isPresent()) {
                return Optional.of(JobError.invalid(FIELD + "[" + label.getKey() + "]", "value "
                        + ClientText.quote(label.getValue()) + " " + valueProblem.get()));
            }
        }
        return Optional.empty();
    }

    /** An error if {@code labels} are more than {@code maxCount} or take more than {@code maxBytes} (keys and values, UTF-8). */
    public static Optional<JobError> validateCaps(Map<String, String> labels, int maxCount, long maxBytes) {
        if (labels.size() > maxCount) {
            return Optional.of(JobError.invalid(FIELD, labels.size() + " labels; a job may have at most " + maxCount
                    + " (rund.labels.max-count)"));
        }
        long bytes = bytesOf(labels);
        if (bytes > maxBytes) {
            return Optional.of(JobError.invalid(FIELD, "keys and values take " + bytes + " bytes; at most " + maxBytes
                    + " are accepted (rund.labels.max-bytes)"));
        }
        return Optional.empty();
    }

    /** Keys and values together, in UTF-8 bytes. */
    public static long bytesOf(Map<String, String> labels) {
        long bytes = 0;
        for (Map.Entry<String, String> label : labels.entrySet()) {
            bytes += label.getKey().getBytes(StandardCharsets.UTF_8).length + label.getValue().getBytes(StandardCharsets.UTF_8).length;
        }
        return bytes;
    }

    /** What is wrong with {@code key}, or empty if it is a valid label key. */
    public static Optional<String> keyProblem(String key) {
        int slash = key.indexOf('/');
        String name = slash < 0 ? key : key.substring(slash + 1);
        if (slash >= 0) {
            String prefix = key.substring(0, slash);
            if (prefix.isEmpty() || prefix.length() > MAX_PREFIX_CHARS || !DNS_SUBDOMAIN.matcher(prefix).matches()) {
                return Optional.of("has a prefix that is not a DNS subdomain (lower-case letters, digits, '-' and '.',"
                        + " at most " + MAX_PREFIX_CHARS + " characters, starting and ending alphanumeric)");
            }
        }
        if (name.isEmpty()) {
            return Optional.of("must have a name (after its prefix and '/', if any)");
        }
        return nameProblem(name, "its name");
    }

    /** What is wrong with {@code value}, or empty if it is a valid label value (empty is valid). */
    public static Optional<String> valueProblem(String value) {
        return value.isEmpty() ? Optional.empty() : nameProblem(value, "it");
    }

    private static Optional<String> nameProblem(String name, String what) {
        if (name.length() > MAX_NAME_CHARS) {
            return Optional.of("is too long: " + what + " must be at most " + MAX_NAME_CHARS + " characters");
        }
        if (!NAME.matcher(name).matches()) {
            return Optional.of("is not valid: " + what + " must be letters, digits, '-', '_' or '.', starting and ending"
                    + " with a letter or digit");
        }
        return Optional.empty();
    }
}

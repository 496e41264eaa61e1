package io.rund.job;

import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/**
 * A Kubernetes label selector, parsed once: requirements joined by commas, all of which a job's labels must meet.
 * Forms: {@code key=value} (or {@code ==}), {@code key!=value} (also met when the key is absent), {@code key in (a,b)},
 * {@code key notin (a)} (also met when absent), {@code key} (present) and {@code !key} (absent). The empty selector
 * matches every job. A parse error names the position (0-based) of the character where it went wrong.
 */
public final class LabelSelector {

    /** A requirement on one key. */
    public sealed interface Requirement {
        String key();

        boolean matches(Map<String, String> labels);
    }

    record Equals(String key, String value) implements Requirement {
        public boolean matches(Map<String, String> labels) {
            return value.equals(labels.get(key));
        }
    }

    record NotEquals(String key, String value) implements Requirement {
        public boolean matches(Map<String, String> labels) {
            return !value.equals(labels.get(key));
        }
    }

    record In(String key, Set<String> values) implements Requirement {
        public boolean matches(Map<String, String> labels) {
            return labels.containsKey(key) && values.contains(labels.get(key));
        }
    }

    record NotIn(String key, Set<String> values) implements Requirement {
        public boolean matches(Map<String, String> labels) {
            return !labels.containsKey(key) || !values.contains(labels.get(key));
        }
    }

    record Exists(String key) implements Requirement {
        public boolean matches(Map<String, String> labels) {
            return labels.containsKey(key);
        }
    }

    record DoesNotExist(String key) implements Requirement {
        public boolean matches(Map<String, String> labels) {
            return !labels.containsKey(key);
        }
    }

    /** A selector that cannot be parsed: what is wrong and where. */
    public static final class InvalidSelectorException extends Exception {
        private final int position;

        InvalidSelectorException(int position, String message) {
            super("at position " + position + ": " + message);
            this.position = position;
        }

        public int position() {
            return position;
        }
    }

    /** Longest selector accepted: more cannot be a useful filter over labels of bounded size. */
    public static final int MAX_CHARS = 4096;
    private static final LabelSelector EVERYTHING = new LabelSelector("", List.of());

    private final String text;
    private final List<Requirement> requirements;

    private LabelSelector(String text, List<Requirement> requirements) {
        this.text = text;
        this.requirements = List.copyOf(requirements);
    }

    /** The selector that matches every job. */
    public static LabelSelector everything() {
        return EVERYTHING;
    }

    /** The selector {@code text} states (blank: every job). */
    public static LabelSelector parse(String text) throws InvalidSelectorException {
        if (text.length() > MAX_CHARS) {
            throw new InvalidSelectorException(MAX_CHARS, "a selector may be at most " + MAX_CHARS + " characters");
        }
        if (text.isBlank()) {
            return EVERYTHING;
        }
        return new LabelSelector(text, new Parser(text).requirements());
    }

    /** A selector requiring each of {@code labels} (key=value), as {@code rund list -l} gives them. */
    public static LabelSelector ofEquals(Map<String, String> labels) {
        List<Requirement> requirements = new ArrayList<>();
        StringBuilder text = new StringBuilder();
        labels.forEach((key, value) -> {
            requirements.add(new Equals(key, value));
            text.append(text.isEmpty() ? "" : ",").append(key).append('=').append(value);
        });
        return new LabelSelector(text.toString(), requirements);
    }

    /** Whether a job with {@code labels} is selected. */
    public boolean matches(Map<String, String> labels) {
        for (Requirement requirement : requirements) {
            if (!requirement.matches(labels)) {
                return false;
            }
        }
        return true;
    }

    public boolean isEverything() {
        return requirements.isEmpty();
    }

    public List<Requirement> requirements() {
        return requirements;
    }

    /** The text it was parsed from: what a cluster node sends another, which parses it again. */
    public String text() {
        return text;
    }

    @Override
    public String toString() {
        return text;
    }

    /** A hand-written recursive-descent parser over the grammar above; positions are indices into the text. */
    private static final class Parser {
        private final String text;
        private int at;

        Parser(String text) {
            this.text = text;
        }

        List<Requirement> requirements() throws InvalidSelectorException {
            List<Requirement> requirements = new ArrayList<>();
            while (true) {
                requirements.add(requirement());
                skipSpaces();
                if (at == text.length()) {
                    return requirements;
                }
                expect(',');
            }
        }

        private Requirement requirement() throws InvalidSelectorException {
            skipSpaces();
            if (peek('!')) {
                at++;
                skipSpaces();
                return new DoesNotExist(key());
            }
            String key = key();
            skipSpaces();
            if (at == text.length() || peek(',')) {
                return new Exists(key);
            }
            if (text.startsWith("==", at)) {
                at += 2;
                return new Equals(key, value());
            }
            if (peek('=')) {
                at++;
                return new Equals(key, value());
            }
            if (text.startsWith("!=", at)) {
                at += 2;
                return new NotEquals(key, value());
            }
            int wordAt = at;
            String word = word();
            return switch (word) {
                case "in" -> new In(key, set());
                case "notin" -> new NotIn(key, set());
                default -> throw new InvalidSelectorException(wordAt,
                        "expected '=', '==', '!=', 'in', 'notin', ',' or the end after key " + ClientText.quote(key));
            };
        }

        private String key() throws InvalidSelectorException {
            int start = at;
            String key = word();
            if (key.isEmpty()) {
                throw new InvalidSelectorException(start, "expected a label key");
            }
            Optional<String> problem = Labels.keyProblem(key);
            if (problem.isPresent()) {
                throw new InvalidSelectorException(start, "key " + ClientText.quote(key) + " " + problem.get());
            }
            return key;
        }

        private String value() throws InvalidSelectorException {
            skipSpaces();
            int start = at;
            String value = word();
            Optional<String> problem = Labels.valueProblem(value);
            if (problem.isPresent()) {
                throw new InvalidSelectorException(start, "value " + ClientText.quote(value) + " " + problem.get());
            }
            return value;
        }

        private Set<String> set() throws InvalidSelectorException {
            skipSpaces();
            expect('(');
            Set<String> values = new LinkedHashSet<>();
            while (true) {
                values.add(value());
                skipSpaces();
                if (peek(')')) {
                    at++;
                    return values;
                }
                expect(',');
            }
        }

        /** Characters up to a space, ',', '=', '!', '(' or ')'. */
        private String word() {
            int start = at;
            while (at < text.length() && " \t,=!()".indexOf(text.charAt(at)) < 0) {
                at++;
            }
            return text.substring(start, at);
        }

        private void expect(char c) throws InvalidSelectorException {
            if (!peek(c)) {
                throw new InvalidSelectorException(at, "expected '" + c + "'"
                        + (at < text.length() ? " but found " + ClientText.quote(String.valueOf(text.charAt(at))) : " but the selector ended"));
            }
            at++;
        }

        private boolean peek(char c) {
            return at < text.length() && text.charAt(at) == c;
        }

        private void skipSpaces() {
            while (at < text.length() && (text.charAt(at) == ' ' || text.charAt(at) == '\t')) {
                at++;
            }
        }
    }
}

package io.rund.cli;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * {@code -l KEY=VALUE} as start, run, list and watch take it: repeatable; at start the job's labels, for list and
 * watch requirements that must all hold (turned into a label selector, ANDed with {@code --selector}).
 */
final class LabelOptions {

    private LabelOptions() {}

    /** The labels {@code options} give, in order; one without '=' is a usage error naming it. */
    static Map<String, String> parse(List<String> options) throws CliException {
        Map<String, String> labels = new LinkedHashMap<>();
        for (String option : options) {
            int equals = option.indexOf('=');
            if (equals <= 0) {
                throw new CliException(ExitCodes.USAGE, "-l " + option + ": write KEY=VALUE (VALUE may be empty)");
            }
            labels.put(option.substring(0, equals), option.substring(equals + 1));
        }
        return labels;
    }

    /** The selector that {@code -l} options and a {@code --selector} expression (null: none) state together. */
    static String selector(List<String> options, String expression) throws CliException {
        StringBuilder selector = new StringBuilder();
        for (Map.Entry<String, String> label : parse(options).entrySet()) {
            selector.append(selector.isEmpty() ? "" : ",").append(label.getKey()).append('=').append(label.getValue());
        }
        if (expression != null && !expression.isBlank()) {
            selector.append(selector.isEmpty() ? "" : ",").append(expression);
        }
        return selector.toString();
    }
}

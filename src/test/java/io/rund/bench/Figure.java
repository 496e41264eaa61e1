package io.rund.bench;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.function.DoublePredicate;

/**
 * One row of the benchmark table: a measured quantity with one value per run (shown as min / median / max), the
 * baselines measured in the same bench run that it is compared with (as ratios of medians), and the target it
 * is held to, if any. A figure without values is "not measured" and says why.
 */
final class Figure {

    private final String section;
    private final String name;
    private final String unit;
    private final List<Double> values = new ArrayList<>();
    private final List<Figure> baselines = new ArrayList<>();
    private String target = "";
    private DoublePredicate meets;
    private String note = "";
    private String shortName;

    Figure(String section, String name, String unit) {
        this.section = section;
        this.name = name;
        this.unit = unit;
    }

    Figure add(double value) {
        values.add(value);
        return this;
    }

    Figure comparedWith(Figure baseline) {
        baselines.add(baseline);
        return this;
    }

    /** {@code text} is how the target reads in the table; {@code meets} judges the median. */
    Figure target(String text, DoublePredicate meets) {
        this.target = text;
        this.meets = meets;
        return this;
    }

    /** How ratios to this figure name it, when the full name is too long for that. */
    Figure as(String shortName) {
        this.shortName = shortName;
        return this;
    }

    String shortName() {
        return shortName != null ? shortName : name;
    }

    Figure note(String text) {
        this.note = note.isEmpty() ? text : note + "; " + text;
        return this;
    }

    String section() {
        return section;
    }

    String name() {
        return name;
    }

    String unit() {
        return unit;
    }

    String note() {
        return note;
    }

    boolean measured() {
        return !values.isEmpty();
    }

    int runs() {
        return values.size();
    }

    double min() {
        return sorted()[0];
    }

    double max() {
        double[] s = sorted();
        return s[s.length - 1];
    }

    double median() {
        double[] s = sorted();
        int middle = s.length / 2;
        return s.length % 2 == 1 ? s[middle] : (s[middle - 1] + s[middle]) / 2;
    }

    List<Figure> baselines() {
        return baselines;
    }

    /** Median of this figure over the median of {@code baseline}; NaN if either was not measured. */
    double ratioTo(Figure baseline) {
        return measured() && baseline.measured() ? median() / baseline.median() : Double.NaN;
    }

    String target() {
        return target;
    }

    /** "meets", "MISSES", or "" when there is no target or no value. */
    String verdict() {
        if (meets == null || !measured()) {
            return "";
        }
        return meets.test(median()) ? "meets" : "MISSES";
    }

    private double[] sorted() {
        double[] s = values.stream().mapToDouble(Double::doubleValue).toArray();
        Arrays.sort(s);
        return s;
    }
}

package io.rund.resctrl;

import java.util.Collections;
import java.util.Map;
import java.util.Objects;
import java.util.OptionalLong;
import java.util.SortedMap;
import java.util.TreeMap;

/**
 * One Intel RDT setting of a job (an L3 cache bitmask, or a memory-bandwidth percentage), either one value for every
 * cache domain of the host or values for the domains named by id ({@code ID=VALUE[,ID=VALUE]}, as the kernel's
 * schemata lines are keyed), or both: the one value for every domain but those named. Domains no value covers keep
 * the group's default (the whole cache, 100%).
 */
public record DomainValues(OptionalLong everyDomain, SortedMap<Integer, Long> byDomain) {

    public DomainValues {
        Objects.requireNonNull(everyDomain, "everyDomain");
        byDomain = Collections.unmodifiableSortedMap(new TreeMap<>(byDomain));
        if (everyDomain.isEmpty() && byDomain.isEmpty()) {
            throw new IllegalArgumentException("no value: give one for every domain or values by domain id");
        }
    }

    /** The same value on every cache domain. */
    public static DomainValues everywhere(long value) {
        return new DomainValues(OptionalLong.of(value), new TreeMap<>());
    }

    /** Values for the cache domains named (id to value). */
    public static DomainValues perDomain(Map<Integer, Long> values) {
        return new DomainValues(OptionalLong.empty(), new TreeMap<>(values));
    }

    /**
     * Reads "VALUE", "ID=VALUE[,ID=VALUE]" or both ("ff0,1=f0": ff0 on every domain but 1), each VALUE in {@code radix} (16 for a cache mask, with or without
     * "0x"; 10 for a percentage).
     *
     * @throws IllegalArgumentException naming what is wrong (a domain id twice, a value that is no number)
     */
    public static DomainValues parse(String text, int radix) {
        String trimmed = text.strip();
        if (trimmed.isEmpty()) {
            throw new IllegalArgumentException("empty: give VALUE or ID=VALUE[,ID=VALUE]");
        }
        OptionalLong everyDomain = OptionalLong.empty();
        SortedMap<Integer, Long> values = new TreeMap<>();
        for (String part : trimmed.split(",", -1)) {
            int equals = part.indexOf('=');
            if (equals < 0) {
                if (everyDomain.isPresent()) {
                    throw new IllegalArgumentException("two values without a domain id (\"" + shortened(trimmed)
                            + "\"): give one VALUE for every domain, and ID=VALUE for the others");
                }
                everyDomain = OptionalLong.of(number(part.strip(), radix));
                continue;
            }
            int id;
            try {
                id = Integer.parseInt(part.substring(0, equals).strip());
            } catch (NumberFormatException e) {
                throw new IllegalArgumentException("\"" + shortened(part.substring(0, equals)) + "\" is not a cache domain id (a number)");
            }
            if (id < 0) {
                throw new IllegalArgumentException("cache domain id " + id + " is negative");
            }
            if (values.put(id, number(part.substring(equals + 1).strip(), radix)) != null) {
                throw new IllegalArgumentException("cache domain " + id + " is given twice");
            }
        }
        return new DomainValues(everyDomain, values);
    }

    /** The value for domain {@code id}: the one for every domain, or that domain's own if named. */
    public OptionalLong valueFor(int id) {
        Long value = byDomain.get(id);
        return value != null ? OptionalLong.of(value) : everyDomain;
    }

    /** Every value given: the one for all domains, or each named domain's. */
    public java.util.Collection<Long> values() {
        java.util.List<Long> values = new java.util.ArrayList<>(byDomain.values());
        everyDomain.ifPresent(values::add);
        return values;
    }

    /** As {@link #parse} reads it: "ffff", "0=ffff,1=f0" or "ffff,1=f0" in {@code radix}. */
    public String format(int radix) {
        StringBuilder text = new StringBuilder();
        everyDomain.ifPresent(value -> text.append(Long.toString(value, radix)));
        byDomain.forEach((id, value) -> text.append(text.isEmpty() ? "" : ",").append(id).append('=')
                .append(Long.toString(value, radix)));
        return text.toString();
    }

    private static long number(String text, int radix) {
        String digits = radix == 16 && (text.startsWith("0x") || text.startsWith("0X")) ? text.substring(2) : text;
        try {
            long value = Long.parseLong(digits, radix);
            if (value < 0 || digits.startsWith("+") || digits.startsWith("-")) {
                throw new NumberFormatException();
            }
            return value;
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("\"" + shortened(text) + "\" is not a " + (radix == 16
                    ? "hexadecimal bitmask" : "whole number"));
        }
    }

    private static String shortened(String text) {
        return text.length() <= 32 ? text : text.substring(0, 32) + "...";
    }
}

package io.rund.cli;

import java.math.BigDecimal;
import java.math.RoundingMode;
import java.util.Locale;

/**
 * Human-friendly numbers on the command line: byte sizes with binary suffixes (512M, 1.5G, 100KiB: K/M/G/T/P
 * are powers of 1024, as in cgroup files; an optional trailing "B" or "iB" is accepted), plain counts, and CPUs
 * as a fraction of one CPU per {@link #CPU_PERIOD_MICROS} period. Only the syntax is checked here: whether a
 * value is acceptable (positive, within the kernel's range) is the server's decision, so that every client
 * gets the same answer. Errors name the option.
 */
public final class Quantities {

    /** The cpu.max period the CLI always sends: the kernel's default, 100 ms. */
    public static final long CPU_PERIOD_MICROS = 100_000;
    private static final String SUFFIXES = "KMGTP";
    private static final BigDecimal KIBI = BigDecimal.valueOf(1024);
    /** More integer digits than any long has: refused before arithmetic on a number like 1e999999999. */
    private static final int MAX_INTEGER_DIGITS = 20;

    private Quantities() {}

    public static long bytes(String option, String text) throws CliException {
        String number = text.strip();
        String upper = number.toUpperCase(Locale.ROOT);
        if (upper.endsWith("IB")) {
            number = number.substring(0, number.length() - 2);
        } else if (upper.endsWith("B")) {
            number = number.substring(0, number.length() - 1);
        }
        BigDecimal multiplier = BigDecimal.ONE;
        if (!number.isEmpty()) {
            int power = SUFFIXES.indexOf(Character.toUpperCase(number.charAt(number.length() - 1)));
            if (power >= 0) {
                multiplier = KIBI.pow(power + 1);
                number = number.substring(0, number.length() - 1);
            }
        }
        BigDecimal value = decimal(option, text, number).multiply(multiplier);
        try {
            return value.setScale(0, RoundingMode.UNNECESSARY).longValueExact();
        } catch (ArithmeticException e) {
            throw new CliException(ExitCodes.USAGE, option + ": '" + text + "' is "
                    + (value.stripTrailingZeros().scale() > 0 ? "not a whole number of bytes" : "too large (at most " + Long.MAX_VALUE + " bytes)"));
        }
    }

    public static long count(String option, String text) throws CliException {
        try {
            return Long.parseLong(text.strip());
        } catch (NumberFormatException e) {
            throw new CliException(ExitCodes.USAGE, option + ": '" + text + "' is not a whole number (at most " + Long.MAX_VALUE + ")");
        }
    }

    /** CPUs as a cpu.max quota in microseconds per {@link #CPU_PERIOD_MICROS}: 0.5 → 50000, 2 → 200000. */
    public static long cpuQuota(String option, String text) throws CliException {
        BigDecimal quota = decimal(option, text, text.strip()).multiply(BigDecimal.valueOf(CPU_PERIOD_MICROS));
        try {
            return quota.setScale(0, RoundingMode.HALF_UP).longValueExact();
        } catch (ArithmeticException e) {
            throw new CliException(ExitCodes.USAGE, option + ": '" + text + "' CPUs is too large");
        }
    }

    private static BigDecimal decimal(String option, String text, String number) throws CliException {
        BigDecimal value;
        try {
            value = new BigDecimal(number);
        } catch (NumberFormatException e) {
            throw new CliException(ExitCodes.USAGE, option + ": '" + text + "' is not a number"
                    + (option.startsWith("--cpus") ? "" : " with an optional unit K, M, G, T or P"));
        }
        if (value.precision() - value.scale() > MAX_INTEGER_DIGITS) {
            throw new CliException(ExitCodes.USAGE, option + ": '" + text + "' is too large");
        }
        return value;
    }
}

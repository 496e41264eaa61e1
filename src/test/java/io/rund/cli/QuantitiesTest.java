package io.rund.cli;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class QuantitiesTest {

    @Test
    void bytesWithBinarySuffixes() throws CliException {
        assertEquals(512L << 20, Quantities.bytes("--memory-max", "512M"));
        assertEquals(1L << 30, Quantities.bytes("--memory-max", "1G"));
        assertEquals(1L << 30, Quantities.bytes("--memory-max", "1g"));
        assertEquals(1L << 30, Quantities.bytes("--memory-max", "1GiB"));
        assertEquals(1L << 30, Quantities.bytes("--memory-max", "1GB"));
        assertEquals(3L << 29, Quantities.bytes("--memory-max", "1.5G"));
        assertEquals(100, Quantities.bytes("--memory-max", "100"));
        assertEquals(2L << 40, Quantities.bytes("--memory-max", "2T"));
    }

    @Test
    void zeroAndNegativeBytesPassToTheServerWhichJudgesThem() throws CliException {
        assertEquals(0, Quantities.bytes("--memory-max", "0"));
        assertEquals(-1L << 20, Quantities.bytes("--memory-max", "-1M"));
    }

    @Test
    void bytesErrorsNameTheOption() {
        assertMessage("--memory-max: '12X' is not a number", () -> Quantities.bytes("--memory-max", "12X"));
        assertMessage("--memory-max: '0.3K' is not a whole number of bytes", () -> Quantities.bytes("--memory-max", "0.3K"));
        assertMessage("--memory-max: '99999999999G' is too large", () -> Quantities.bytes("--memory-max", "99999999999G"));
        assertMessage("--io-rbps: '1e999999999' is too large", () -> Quantities.bytes("--io-rbps", "1e999999999"));
    }

    @Test
    void cpusBecomeAQuotaOfTheDefaultPeriod() throws CliException {
        assertEquals(50_000, Quantities.cpuQuota("--cpus", "0.5"));
        assertEquals(200_000, Quantities.cpuQuota("--cpus", "2"));
        assertEquals(1, Quantities.cpuQuota("--cpus", "0.00001"));
        assertMessage("--cpus: 'half' is not a number", () -> Quantities.cpuQuota("--cpus", "half"));
    }

    @Test
    void countsAreWholeNumbers() throws CliException {
        assertEquals(64, Quantities.count("--pids-max", "64"));
        assertMessage("--pids-max: '1.5' is not a whole number", () -> Quantities.count("--pids-max", "1.5"));
        assertMessage("--pids-max: '9223372036854775808' is not a whole number", () -> Quantities.count("--pids-max", "9223372036854775808"));
    }

    private interface Parse {
        long run() throws CliException;
    }

    private static void assertMessage(String prefix, Parse parse) {
        CliException e = assertThrows(CliException.class, parse::run);
        assertTrue(e.getMessage().startsWith(prefix), e.getMessage());
        assertEquals(ExitCodes.USAGE, e.exitCode());
    }
}

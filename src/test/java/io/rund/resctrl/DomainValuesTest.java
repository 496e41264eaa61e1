package io.rund.resctrl;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Map;
import org.junit.jupiter.api.Test;

/** The CLI's "VALUE" and "ID=VALUE[,ID=VALUE]" forms of an RDT setting. */
class DomainValuesTest {

    @Test
    void oneValueOrValuesByDomainAreRead() {
        assertEquals(DomainValues.everywhere(0xffff), DomainValues.parse("ffff", 16));
        assertEquals(DomainValues.everywhere(0xffff), DomainValues.parse("0xFFFF", 16));
        assertEquals(DomainValues.perDomain(Map.of(0, 0xffffL, 1, 0xf0L)), DomainValues.parse("0=ffff,1=f0", 16));
        assertEquals(DomainValues.perDomain(Map.of(0, 20L, 1, 70L)), DomainValues.parse("0=20, 1=70", 10));
        assertEquals("0=ffff,1=f0", DomainValues.parse("0=ffff,1=f0", 16).format(16));
        DomainValues mixed = DomainValues.parse("ff0,1=f0", 16);
        assertEquals(0xff0, mixed.valueFor(0).getAsLong());
        assertEquals(0xf0, mixed.valueFor(1).getAsLong());
        assertEquals(mixed, DomainValues.parse(mixed.format(16), 16));
    }

    @Test
    void malformedTextIsRefusedSayingWhy() {
        assertMessage("is not a hexadecimal bitmask", "fffg", 16);
        assertMessage("is not a whole number", "50%", 10);
        assertMessage("cache domain 0 is given twice", "0=ff,0=f0", 16);
        assertMessage("two values without a domain id", "ff,f0", 16);
        assertMessage("is not a cache domain id", "x=ff", 16);
        assertMessage("empty", " ", 16);
        assertMessage("is not a hexadecimal bitmask", "-1", 16);
    }

    private static void assertMessage(String expected, String text, int radix) {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> DomainValues.parse(text, radix));
        assertTrue(e.getMessage().contains(expected), e.getMessage());
    }
}

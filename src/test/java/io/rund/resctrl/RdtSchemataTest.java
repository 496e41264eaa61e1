package io.rund.resctrl;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Validation and rendering of L3 masks and MB percentages against a resctrl tree laid out as the kernel does. */
class RdtSchemataTest {
    @TempDir
    Path dir;
    private RdtHost host;

    @BeforeEach
    void layOutTree() throws IOException {
        host = FakeResctrl.host(dir.resolve("resctrl"));
    }

    @Test
    void oneValueIsWrittenForEveryCacheDomain() throws RdtException {
        assertEquals(List.of("L3:0=ff0;1=ff0", "MB:0=50;1=50"), RdtSchemata.render(host,
                Optional.of(DomainValues.everywhere(0xff0)), Optional.of(DomainValues.everywhere(50))));
    }

    @Test
    void perDomainValuesNameOnlyTheirDomains() throws RdtException {
        assertEquals(List.of("L3:1=f0"), RdtSchemata.render(host,
                Optional.of(DomainValues.perDomain(Map.of(1, 0xf0L))), Optional.empty()));
        assertEquals(List.of("MB:0=20;1=70"), RdtSchemata.render(host, Optional.empty(),
                Optional.of(DomainValues.parse("0=20,1=70", 10))));
    }

    @Test
    void aPercentageIsRoundedUpToTheBandwidthGranularityAsTheKernelDoes() throws RdtException {
        assertEquals(List.of("MB:0=30;1=30"), RdtSchemata.render(host, Optional.empty(),
                Optional.of(DomainValues.everywhere(21))));
        assertEquals(List.of("MB:0=100;1=100"), RdtSchemata.render(host, Optional.empty(),
                Optional.of(DomainValues.everywhere(91))));
    }

    @Test
    void eachRefusalNamesItsReason() {
        assertRefused("l3-cache-mask", "non-consecutive", DomainValues.everywhere(0xf0f), null);
        assertRefused("l3-cache-mask", "outside this host's cbm_mask fffff", DomainValues.everywhere(0x1ff000), null);
        assertRefused("l3-cache-mask", "at least 2 (info/L3/min_cbm_bits)", DomainValues.everywhere(0x10), null);
        assertRefused("l3-cache-mask", "is empty", DomainValues.everywhere(0), null);
        assertRefused("l3-cache-mask", "cache domain 2 does not exist on this host (it has 0,1)",
                DomainValues.perDomain(Map.of(2, 0xffL)), null);
        assertRefused("memory-bandwidth", "outside this host's range 10-100%", null, DomainValues.everywhere(5));
        assertRefused("memory-bandwidth", "outside this host's range 10-100%", null, DomainValues.everywhere(101));
        assertRefused("memory-bandwidth", "cache domain 7 does not exist", null, DomainValues.perDomain(Map.of(7, 50L)));
    }

    @Test
    void aSparseMaskIsAcceptedWhereTheHostAllowsIt() throws RdtException {
        RdtHost sparse = new RdtHost(host.cpuFlags(), host.mount(), Optional.of(new RdtHost.Cache(0xfffff, 1, 16, true,
                host.l3().orElseThrow().domains())), host.mb(), false);
        assertEquals(List.of("L3:0=f0f;1=f0f"), RdtSchemata.render(sparse,
                Optional.of(DomainValues.everywhere(0xf0f)), Optional.empty()));
    }

    @Test
    void aHostWithoutResctrlRefusesSayingWhatIsMissing() {
        RdtHost none = new RdtHost(java.util.Set.of(), Optional.empty(), Optional.empty(), Optional.empty(), false);
        RdtException refused = assertThrows(RdtException.class, () -> RdtSchemata.render(none,
                Optional.of(DomainValues.everywhere(0xff)), Optional.empty()));
        assertEquals(RdtException.Kind.UNSUPPORTED, refused.kind());
        assertTrue(refused.getMessage().startsWith("this host has no resctrl: Intel RDT needs CPU flags cat_l3 (rdt_a)"
                + " and /sys/fs/resctrl mounted"), refused.getMessage());
        assertTrue(refused.getMessage().contains("lack rdt_a, cat_l3"), refused.getMessage());
        RdtHost noMba = new RdtHost(host.cpuFlags(), host.mount(), host.l3(), Optional.empty(), false);
        RdtException noMb = assertThrows(RdtException.class, () -> RdtSchemata.render(noMba, Optional.empty(),
                Optional.of(DomainValues.everywhere(50))));
        assertTrue(noMb.getMessage().contains("no memory-bandwidth allocation (no info/MB"), noMb.getMessage());
    }

    private void assertRefused(String field, String reason, DomainValues l3, DomainValues mb) {
        RdtException refused = assertThrows(RdtException.class, () -> RdtSchemata.render(host,
                Optional.ofNullable(l3), Optional.ofNullable(mb)));
        assertEquals(RdtException.Kind.INVALID, refused.kind());
        assertEquals(field, refused.field());
        assertTrue(refused.getMessage().contains(reason), refused.getMessage());
    }
}

package io.rund.resctrl;

import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.SortedSet;

/**
 * Checks a job's L3 cache mask and memory-bandwidth percentage against what the host's resctrl info/ allows, as the
 * kernel's own parser would (cbm_validate, bw_validate), and renders the schemata lines a group is given: "L3:0=ff0;1=ff0",
 * "MB:0=50;1=50". A percentage is rounded UP to the host's bandwidth_gran, as the kernel rounds it, so the line
 * rund writes is the value the kernel keeps.
 */
public final class RdtSchemata {
    public static final String L3_FIELD = "l3-cache-mask";
    public static final String MB_FIELD = "memory-bandwidth";
    /** The kernel's default_ctrl for Intel MBA: 100 percent. */
    public static final int MAX_PERCENT = 100;

    private RdtSchemata() {}

    /**
     * The schemata lines for {@code l3} and {@code mb} on {@code host}, one per resource asked for.
     *
     * @throws RdtException UNSUPPORTED where the host lacks what is asked; INVALID naming the field and the reason
     */
    public static List<String> render(RdtHost host, Optional<DomainValues> l3, Optional<DomainValues> mb)
            throws RdtException {
        Optional<RdtException> missing = host.missing(l3.isPresent(), mb.isPresent());
        if (missing.isPresent()) {
            throw missing.get();
        }
        List<String> lines = new ArrayList<>(2);
        if (l3.isPresent()) {
            lines.add(l3Line(host.l3().orElseThrow(), l3.get()));
        }
        if (mb.isPresent()) {
            lines.add(mbLine(host.mb().orElseThrow(), mb.get()));
        }
        return List.copyOf(lines);
    }

    static String l3Line(RdtHost.Cache cache, DomainValues masks) throws RdtException {
        StringBuilder line = new StringBuilder("L3:");
        for (int domain : domains(cache.domains(), masks, L3_FIELD)) {
            long mask = masks.valueFor(domain).orElseThrow();
            checkMask(cache, domain, mask);
            line.append(line.length() == 3 ? "" : ";").append(domain).append('=').append(Long.toHexString(mask));
        }
        return line.toString();
    }

    static String mbLine(RdtHost.Bandwidth bandwidth, DomainValues percents) throws RdtException {
        StringBuilder line = new StringBuilder("MB:");
        for (int domain : domains(bandwidth.domains(), percents, MB_FIELD)) {
            long percent = percents.valueFor(domain).orElseThrow();
            if (percent < bandwidth.minBandwidth() || percent > MAX_PERCENT) {
                throw invalid(MB_FIELD, percent + "% for cache domain " + domain + " is outside this host's range "
                        + bandwidth.minBandwidth() + "-" + MAX_PERCENT + "% (info/MB/min_bandwidth)");
            }
            long rounded = roundUp(percent, bandwidth.granularity());
            line.append(line.length() == 3 ? "" : ";").append(domain).append('=').append(rounded);
        }
        return line.toString();
    }

    /** As the kernel's bw_validate: roundup(bw, bw_gran). */
    static long roundUp(long percent, int granularity) {
        return granularity <= 1 ? percent : (percent + granularity - 1) / granularity * granularity;
    }

    private static void checkMask(RdtHost.Cache cache, int domain, long mask) throws RdtException {
        String where = " for cache domain " + domain;
        if (mask == 0) {
            throw invalid(L3_FIELD, "the mask" + where + " is empty: give at least " + Math.max(cache.minCbmBits(), 1) + " bits");
        }
        if ((mask & ~cache.cbmMask()) != 0) {
            throw invalid(L3_FIELD, "the mask " + Long.toHexString(mask) + where + " has bits outside this host's cbm_mask "
                    + Long.toHexString(cache.cbmMask()) + " (info/L3/cbm_mask)");
        }
        int first = Long.numberOfTrailingZeros(mask);
        long run = mask >>> first;
        int length = Long.numberOfTrailingZeros(~run);
        boolean contiguous = (run >>> length) == 0;
        if (!contiguous && !cache.sparseMasks()) {
            throw invalid(L3_FIELD, "the mask " + Long.toHexString(mask) + where + " has non-consecutive 1-bits;"
                    + " this host needs one contiguous run (info/L3/sparse_masks is not 1)");
        }
        int bits = contiguous ? length : Long.bitCount(mask);
        if (bits < cache.minCbmBits()) {
            throw invalid(L3_FIELD, "the mask " + Long.toHexString(mask) + where + " has " + bits
                    + " bits; this host needs at least " + cache.minCbmBits() + " (info/L3/min_cbm_bits)");
        }
    }

    /**
     * The domains a value is written for: every domain of the host where one value covers them all, else those named;
     * each named domain must exist.
     */
    private static SortedSet<Integer> domains(SortedSet<Integer> hostDomains, DomainValues values, String field)
            throws RdtException {
        for (int id : values.byDomain().keySet()) {
            if (!hostDomains.contains(id)) {
                throw invalid(field, "cache domain " + id + " does not exist on this host (it has "
                        + (hostDomains.isEmpty() ? "none" : hostDomains.toString().replaceAll("[\\[\\] ]", "")) + ")");
            }
        }
        if (values.everyDomain().isEmpty()) {
            return new java.util.TreeSet<>(values.byDomain().keySet());
        }
        if (hostDomains.isEmpty()) {
            throw new RdtException(RdtException.Kind.UNSUPPORTED, field, "this host's resctrl schemata lists no"
                    + " cache domain for " + (field.equals(L3_FIELD) ? "L3" : "MB"));
        }
        return hostDomains;
    }

    private static RdtException invalid(String field, String reason) {
        return new RdtException(RdtException.Kind.INVALID, field, reason);
    }
}

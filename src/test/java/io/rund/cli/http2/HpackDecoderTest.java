package io.rund.cli.http2;

import org.junit.jupiter.api.Test;

import java.util.HexFormat;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

/** The decoder against the examples of RFC 7541, Appendix C: plain and Huffman strings, the dynamic table, eviction. */
class HpackDecoderTest {

    @Test
    void requestsWithoutHuffmanCoding() throws Exception {
        HpackDecoder decoder = new HpackDecoder();
        assertEquals(List.of(h(":method", "GET"), h(":scheme", "http"), h(":path", "/"), h(":authority", "www.example.com")),
                decoder.decode(hex("828684410f7777772e6578616d706c652e636f6d")));
        assertEquals(List.of(h(":method", "GET"), h(":scheme", "http"), h(":path", "/"), h(":authority", "www.example.com"),
                        h("cache-control", "no-cache")),
                decoder.decode(hex("828684be58086e6f2d6361636865")));
        assertEquals(List.of(h(":method", "GET"), h(":scheme", "https"), h(":path", "/index.html"),
                        h(":authority", "www.example.com"), h("custom-key", "custom-value")),
                decoder.decode(hex("828785bf400a637573746f6d2d6b65790c637573746f6d2d76616c7565")));
    }

    @Test
    void requestsWithHuffmanCoding() throws Exception {
        HpackDecoder decoder = new HpackDecoder();
        assertEquals(List.of(h(":method", "GET"), h(":scheme", "http"), h(":path", "/"), h(":authority", "www.example.com")),
                decoder.decode(hex("828684418cf1e3c2e5f23a6ba0ab90f4ff")));
        assertEquals(List.of(h(":method", "GET"), h(":scheme", "http"), h(":path", "/"), h(":authority", "www.example.com"),
                        h("cache-control", "no-cache")),
                decoder.decode(hex("828684be5886a8eb10649cbf")));
        assertEquals(List.of(h(":method", "GET"), h(":scheme", "https"), h(":path", "/index.html"),
                        h(":authority", "www.example.com"), h("custom-key", "custom-value")),
                decoder.decode(hex("828785bf408825a849e95ba97d7f8925a849e95bb8e8b4bf")));
    }

    @Test
    void responsesWithHuffmanCodingAndEvictionFromA256ByteTable() throws Exception {
        HpackDecoder decoder = new HpackDecoder();
        String date1 = "Mon, 21 Oct 2013 20:13:21 GMT";
        // The RFC's encoder works with a 256-byte table: announce that size first (dynamic table size update).
        assertEquals(List.of(h(":status", "302"), h("cache-control", "private"), h("date", date1),
                        h("location", "https://www.example.com")),
                decoder.decode(hex("3fe101" + "488264025885aec3771a4b6196d07abe941054d444a8200595040b8166e082a62d1bff"
                        + "6e919d29ad171863c78f0b97c8e9ae82ae43d3")));
        assertEquals(List.of(h(":status", "307"), h("cache-control", "private"), h("date", date1),
                        h("location", "https://www.example.com")),
                decoder.decode(hex("4883640effc1c0bf")));
        assertEquals(List.of(h(":status", "200"), h("cache-control", "private"), h("date", "Mon, 21 Oct 2013 20:13:22 GMT"),
                        h("location", "https://www.example.com"), h("content-encoding", "gzip"),
                        h("set-cookie", "foo=ASDJKHQKBZXOQWEOPIUAXQWEOIU; max-age=3600; version=1")),
                decoder.decode(hex("88c16196d07abe941054d444a8200595040b8166e084a62d1bffc05a839bd9ab77ad94e7821dd7f2e6c7b335dfdfcd5b3960d5af27087f3672c1ab270fb5291f9587316065c003ed4ee5b1063d5007")));
    }

    @Test
    void refusesIndexesBeyondTheTablesAndBrokenHuffman() {
        HpackDecoder decoder = new HpackDecoder();
        assertThrows(Http2ProtocolException.class, () -> decoder.decode(hex("be")), "index 62 with an empty dynamic table");
        assertThrows(Http2ProtocolException.class, () -> decoder.decode(hex("80")), "index 0");
        assertThrows(Http2ProtocolException.class, () -> decoder.decode(hex("0081")), "a string running past the block");
        assertThrows(Http2ProtocolException.class, () -> decoder.decode(hex("3fe21f")), "a table larger than 4096");
        assertThrows(Http2ProtocolException.class, () -> decoder.decode(hex("008100")), "Huffman padding of zeros");
    }

    @Test
    void encodedHeadersDecodeToThemselves() throws Exception {
        List<Header> headers = List.of(h(":path", "/rund.v1.JobController/Status"), h("x-long", "v".repeat(300)));
        assertEquals(headers, new HpackDecoder().decode(HpackEncoder.encode(headers)));
    }

    @Test
    void grpcMessagesArePercentDecodedUtf8() {
        assertEquals("job 01ABC not found: ü 100%", GrpcChannel.percentDecode("job 01ABC not found: %C3%BC 100%25"));
        assertEquals("trailing %", GrpcChannel.percentDecode("trailing %"));
    }

    private static Header h(String name, String value) {
        return new Header(name, value);
    }

    private static byte[] hex(String text) {
        return HexFormat.of().parseHex(text);
    }
}

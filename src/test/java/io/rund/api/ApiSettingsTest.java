package io.rund.api;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import com.typesafe.config.ConfigValueFactory;
import org.junit.jupiter.api.Test;

import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** rund.api read once into {@link ApiSettings}: the address forms serve takes, and one line naming the key for the rest. */
class ApiSettingsTest {

    @Test
    void readsTheAddressFormsAndTheTlsFiles() {
        ApiSettings loopback = ApiSettings.fromConfig(api("127.0.0.1:8000"));
        assertEquals("127.0.0.1", loopback.host());
        assertEquals(8000, loopback.port());
        assertEquals(Path.of("tls/server.pem"), loopback.tls().cert());
        assertEquals(1, loopback.tls().alternates().size(), "the P-256 certificate is held too");

        ApiSettings everyInterface = ApiSettings.fromConfig(api(":8000"));
        assertEquals(ApiSettings.ANY_HOST, everyInterface.bindHost());
        assertEquals(":8000", everyInterface.address());

        ApiSettings v6 = ApiSettings.fromConfig(api("[::1]:9000"));
        assertEquals("::1", v6.host());
        assertEquals("[::1]:9000", v6.address());

        assertEquals(0, ApiSettings.fromConfig(api("127.0.0.1:0")).port(), "port 0: any free port");
    }

    @Test
    void aBadAddressIsOneLineNamingTheKeyWhereItCameFromAndWhy() {
        assertRefused("localhost", "is not [HOST]:PORT");
        assertRefused("::1:8000", "without brackets");
        assertRefused("localhost:http", "no port number");
        assertRefused("localhost:65536", "outside 0-65535");
    }

    private static void assertRefused(String address, String why) {
        IllegalArgumentException refused = assertThrows(IllegalArgumentException.class,
                () -> ApiSettings.fromConfig(api(address)));
        String message = refused.getMessage();
        assertTrue(message.startsWith("rund.api.address = '" + address + "' (--addr) "), message);
        assertTrue(message.contains(why), message);
        assertTrue(message.lines().count() == 1, message);
    }

    /** The default rund.api block with {@code address} given as the --addr flag gives it. */
    private static Config api(String address) {
        return ConfigFactory.load().getConfig("rund.api")
                .withValue("address", ConfigValueFactory.fromAnyRef(address, "--addr"));
    }
}

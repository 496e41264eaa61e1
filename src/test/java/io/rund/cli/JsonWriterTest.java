package io.rund.cli;

import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

class JsonWriterTest {

    @Test
    void writesValidJsonWhateverTheStrings() {
        String nasty = "quote\" backslash\\ newline\n tab\t nul\0 bell\u0007 line-sep\u2028 ünïcode ☃";
        String json = new JsonWriter().beginObject()
                .name("s").value(nasty)
                .name("n").value(42L)
                .name("none").nullValue()
                .name("yes").value(true)
                .name("list").strings(List.of("a", nasty))
                .name("inner").beginObject().name("x").value(1).endObject()
                .endObject().toString();

        JsonObject parsed = JsonParser.parseString(json).getAsJsonObject();
        assertEquals(nasty, parsed.get("s").getAsString());
        assertEquals(42, parsed.get("n").getAsLong());
        assertTrue(parsed.get("none").isJsonNull());
        assertTrue(parsed.get("yes").getAsBoolean());
        assertEquals(nasty, parsed.getAsJsonArray("list").get(1).getAsString());
        assertEquals(1, parsed.getAsJsonObject("inner").get("x").getAsInt());
        assertEquals(1, json.lines().count(), "one line");
    }
}

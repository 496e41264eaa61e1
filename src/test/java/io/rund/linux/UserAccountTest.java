package io.rund.linux;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.FileTime;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Account lookups in private passwd/group files: answers follow every change of the files, cached or not. */
class UserAccountTest {
    private static final String PASSWD = "root:x:0:0::/root:/bin/sh\nalice:x:1000:1000::/home/alice:/bin/sh\n";
    private static final String GROUP = "root:x:0:\nalice:x:1000:\nwheel:x:10:alice\nstaff:x:50:bob\n";

    @Test
    void findsByNameAndByUidWithSupplementaryGroups(@TempDir Path dir) throws Exception {
        AccountFiles accounts = new AccountFiles(dir);
        UserAccount alice = UserAccount.lookup("alice", accounts.passwd, accounts.group).orElseThrow();
        assertEquals(1000, alice.uid());
        assertEquals(1000, alice.gid());
        assertArrayEquals(new int[] {1000, 10}, alice.groups());
        assertEquals("alice", UserAccount.lookup("1000", accounts.passwd, accounts.group).orElseThrow().name());
        assertEquals(Optional.empty(), UserAccount.lookup("mallory", accounts.passwd, accounts.group));
    }

    @Test
    void sameSizeEditInPlaceWithTheOldModificationTimeIsNoticed(@TempDir Path dir) throws Exception {
        AccountFiles accounts = new AccountFiles(dir);
        assertEquals(1000, UserAccount.lookup("alice", accounts.passwd, accounts.group).orElseThrow().uid());
        accounts.rewriteInPlaceKeepingModificationTime("alice:x:1000:", "alice:x:1001:");
        assertEquals(1001, UserAccount.lookup("alice", accounts.passwd, accounts.group).orElseThrow().uid());
    }

    @Test
    void sameSizeEditOfFilesOlderThanTheRacyWindowIsNoticed(@TempDir Path dir) throws Exception {
        AccountFiles accounts = new AccountFiles(dir);
        Thread.sleep(UserAccount.RACY_WINDOW.toMillis() * 2); // the answer below is then kept in the cache
        assertEquals(1000, UserAccount.lookup("alice", accounts.passwd, accounts.group).orElseThrow().uid());
        accounts.rewriteInPlaceKeepingModificationTime("alice:x:1000:", "alice:x:1001:");
        assertEquals(1001, UserAccount.lookup("alice", accounts.passwd, accounts.group).orElseThrow().uid());
    }

    @Test
    void replacedGroupFileIsNoticed(@TempDir Path dir) throws Exception {
        AccountFiles accounts = new AccountFiles(dir);
        assertArrayEquals(new int[] {1000, 10}, UserAccount.lookup("alice", accounts.passwd, accounts.group).orElseThrow().groups());
        Path next = dir.resolve("group+");
        Files.writeString(next, GROUP.replace("staff:x:50:bob", "staff:x:50:alice"));
        Files.move(next, accounts.group, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        assertArrayEquals(new int[] {1000, 10, 50}, UserAccount.lookup("alice", accounts.passwd, accounts.group).orElseThrow().groups());
    }

    /** A passwd and a group file in a temporary directory. */
    private static final class AccountFiles {
        final Path passwd;
        final Path group;

        AccountFiles(Path dir) throws Exception {
            passwd = Files.writeString(dir.resolve("passwd"), PASSWD);
            group = Files.writeString(dir.resolve("group"), GROUP);
        }

        /** What a same-size edit within one tick of the kernel's file clock looks like in a stat. */
        void rewriteInPlaceKeepingModificationTime(String from, String to) throws Exception {
            FileTime modified = Files.getLastModifiedTime(passwd);
            Object inode = Files.getAttribute(passwd, "unix:ino");
            byte[] edited = Files.readString(passwd).replace(from, to).getBytes(StandardCharsets.UTF_8);
            try (FileChannel channel = FileChannel.open(passwd, StandardOpenOption.WRITE)) {
                channel.write(ByteBuffer.wrap(edited), 0);
            }
            Files.setLastModifiedTime(passwd, modified);
            assertEquals(inode, Files.getAttribute(passwd, "unix:ino"), "edited in place");
            assertEquals(edited.length, Files.size(passwd), "same size");
        }
    }
}

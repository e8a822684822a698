/*
 * files-escape64: tries to reach files it must not, and to break the
 * limits; prints each attempt with the error code quanta returned, then
 * "still alive". Run with -f DIR/shared.txt --file-max-size 100, and with
 * symlinks planted at DIR/evil.local1 and DIR/shared.txt.local1 (they must
 * not be followed). quanta logs one line per refusal on stderr.
 */
#include <quanta/files.h>

static char name300[301];
static char buf[128];

static void put_ret(int32_t ret)
{
    if (ret >= 0 || ret == -1) { /* -1: the byte protocol's only error */
        if (ret < 0) {
            q_putc('-');
            ret = 1;
        }
        q_put_u64((uint64_t)ret);
        return;
    }
    q_puts(q_file_strerror(ret));
}

static void show(const char *what, int32_t ret)
{
    q_puts(what);
    q_puts(": ");
    put_ret(ret);
    q_putc('\n');
}

static int32_t raw(uint32_t op, int32_t fd, uint32_t buffer, uint32_t length, uint32_t mode)
{
    struct quanta_file_request r;
    q_file_clear_(&r, op);
    r.fd = fd;
    r.buffer = buffer;
    r.length = length;
    r.mode = mode;
    return q_file_request(&r);
}

int main(void)
{
    /* ---- Names that are paths ---- */
    show("open ../shared.txt r", q_fopen("../shared.txt", "r"));
    show("open /etc/passwd r", q_fopen("/etc/passwd", "r"));
    show("open /tmp/x w", q_fopen("/tmp/x", "w"));
    show("open a/b w", q_fopen("a/b", "w"));
    show("open .. r", q_fopen("..", "r"));
    show("open \"\" r", q_fopen("", "r"));
    for (unsigned i = 0; i < 300; i++)
        name300[i] = 'n';
    show("open 300-byte name w", q_fopen(name300, "w"));

    /* ---- Files it cannot see ---- */
    show("open missing.txt r", q_fopen("missing.txt", "r"));
    show("open missing.txt r+", q_fopen("missing.txt", "r+"));
    show("open evil w (symlink planted)", q_fopen("evil", "w"));
    show("open shared.txt a (symlink planted at its copy)", q_fopen("shared.txt", "a"));

    /* ---- Bad requests ---- */
    show("open with mode 9", q_fopen_mode("shared.txt", 9));
    show("open with mode \"rw\"", q_fopen("shared.txt", "rw"));
    int32_t r = q_fopen("shared.txt", "r");
    show("open shared.txt r", r);
    show("read fd 99", q_fread(99, buf, sizeof buf));
    show("read fd -1", q_fread(-1, buf, sizeof buf));
    show("write on a read fd", q_fwrite(r, "x", 1));
    show("read into memory that is not there", raw(QUANTA_FILE_READ, r, 0xFFFFF000u, 16, 0));
    show("read of 65537 bytes", raw(QUANTA_FILE_READ, r, q_gpa(buf), QUANTA_FILE_MAX_IO + 1, 0));
    show("request op 77", raw(77, r, 0, 0, 0));
    show("seek whence 5", (int32_t)q_fseek(r, 0, 5));
    show("close shared.txt", q_fclose(r));

    /* ---- 17 open files ---- */
    int32_t fds[17];
    int ok = 0;
    for (int i = 0; i < 17; i++) {
        fds[i] = q_fopen("shared.txt", "r");
        ok += fds[i] >= 0;
    }
    q_puts("17 opens: ");
    q_put_u64((uint64_t)ok);
    q_puts(" ok, then ");
    put_ret(fds[16]);
    q_putc('\n');
    int closed = 0;
    for (int i = 0; i < 17; i++)
        closed += fds[i] >= 0 && q_fclose(fds[i]) == 0;
    q_puts("closed: ");
    q_put_u64((uint64_t)closed);
    q_putc('\n');

    /* ---- Growing past --file-max-size 100 ---- */
    for (unsigned i = 0; i < sizeof buf; i++)
        buf[i] = (char)('a' + i % 26);
    int32_t w = q_fopen("big", "w");
    show("open big w", w);
    show("write 100", q_fwrite(w, buf, 100));
    show("write 1 more", q_fwrite(w, buf, 1));
    show("read on a write-only fd", q_fread(w, buf, 1));
    show("close big", q_fclose(w));

    /* ---- The byte protocol refuses the same and stays in step ---- */
    show("byte open ../shared.txt", qb_fopen("../shared.txt", 0));
    show("byte open /etc/passwd", qb_fopen("/etc/passwd", 0));
    outb(QUANTA_PORT_FILE, 0x42); /* no such opcode */
    show("byte garbage then IN", inb(QUANTA_PORT_FILE));
    outb(QUANTA_PORT_FILE, QUANTA_FILE_BYTE_READ); /* abandoned mid-descriptor */
    outb(QUANTA_PORT_FILE, 0);
    show("byte IN mid-command", inb(QUANTA_PORT_FILE));
    int32_t b = qb_fopen("shared.txt", 0);
    show("byte open shared.txt", b);
    show("byte read", qb_fgetc(b));
    show("byte close", qb_fclose(b));
    show("byte close again", qb_fclose(b));

    q_puts("still alive\n");
    return 0;
}

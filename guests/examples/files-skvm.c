/*
 * files-skvm64: a guest written as Simplified-KVM's are (the mini_hypervisor
 * solution in the seeds): its own fopen/fclose/fread/fwrite wrappers, one
 * byte per OUT/IN on port 0x278, and the shared file opened by the exact
 * string given to -f, a path with a space:
 *
 *   quanta -g files-skvm64.elf -f "files/shared file.txt"
 *
 * Reads the shared file, writes it (its copy "files/shared file.txt.local1"
 * beside it), reads the copy back by both names, and tries two paths that
 * are not -f arguments (-1 each).
 */
#include <stdint.h>

#include "lineout.h"

#define FILE_PORT 0x0278
#define SHARED "files/shared file.txt"

/* outb/inb: the SDK's (quanta/guest.h), the same one-instruction helpers
 * the assignment's guest template has. */

static void send_fd(int fd)
{
    for (int shift = 24; shift >= 0; shift -= 8)
        outb(FILE_PORT, (uint8_t)((uint32_t)fd >> shift));
}

/* mode: 0 read, 1 write (as the assignment's wrappers take it) */
static int skvm_fopen(const char *name, int mode)
{
    outb(FILE_PORT, mode ? 2 : 1);
    for (const char *p = name; *p; ++p)
        outb(FILE_PORT, (uint8_t)*p);
    outb(FILE_PORT, 0);
    uint32_t fd = 0;
    for (int i = 0; i < 4; ++i)
        fd = fd << 8 | inb(FILE_PORT);
    return (int)fd;
}

static int skvm_fclose(int fd)
{
    outb(FILE_PORT, 3);
    send_fd(fd);
    return inb(FILE_PORT) == 0 ? 0 : -1;
}

static int skvm_fread(char *buffer, int size, int fd)
{
    int n = 0;
    while (n < size) {
        outb(FILE_PORT, 4);
        send_fd(fd);
        uint8_t c = inb(FILE_PORT);
        if (c == 0xff)
            break;
        buffer[n++] = (char)c;
    }
    return n;
}

static int skvm_fwrite(const char *buffer, int size, int fd)
{
    int n = 0;
    for (; n < size; ++n) {
        outb(FILE_PORT, 5);
        send_fd(fd);
        outb(FILE_PORT, (uint8_t)buffer[n]);
        if (inb(FILE_PORT) != (uint8_t)buffer[n])
            break;
    }
    return n;
}

static void show(const char *label, const char *name)
{
    char buffer[128];
    int fd = skvm_fopen(name, 0);
    lo_puts(label);
    lo_puts(" (fd ");
    lo_put_int(fd);
    lo_puts("): ");
    if (fd >= 0) {
        lo_write(buffer, (uint32_t)skvm_fread(buffer, sizeof buffer, fd));
        skvm_fclose(fd);
    } else {
        lo_putc('\n');
    }
}

int main(void)
{
    static const char text[] = "written by the guest\n";

    show("shared", SHARED);
    int w = skvm_fopen(SHARED, 1);
    lo_puts("write (fd ");
    lo_put_int(w);
    lo_puts("): ");
    lo_put_int(skvm_fwrite(text, sizeof text - 1, w));
    lo_puts(" bytes, close ");
    lo_put_int(skvm_fclose(w));
    lo_putc('\n');
    show("copy by path", SHARED);
    show("copy by name", "shared file.txt");
    show("other path", "files/other.txt");
    show("dotted path", "./" SHARED);
    return 0;
}

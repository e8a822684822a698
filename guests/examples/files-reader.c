/*
 * files-reader64 / files-reader32 / files-reader16: reads the shared file
 * "shared.txt" (-f DIR/shared.txt) with the block protocol (in real mode
 * too: q_gpa gives DS * 16 + offset), 8 bytes per request and a yield
 * after each, so that with several VMs the readers really have the file
 * open at once, each with its own descriptor and offset. Then it lets the
 * others run a while (100 yields), opens the file again and checks it
 * still reads the same:
 *
 *   open: fd 0
 *   read 34 bytes:
 *   <the file>
 *   reopen: fd 1, same contents
 *   close: 0 0
 *
 * A guest that wrote the file meanwhile has its own copy; this one keeps
 * reading the original. Lines go out whole (lineout.h), so the lines of
 * several VMs interleave but are never split.
 */
#include <quanta/files.h>

#include "lineout.h"

static char first[2048];
static char again[2048];

static void put_ret(int32_t ret)
{
    if (ret >= 0) {
        lo_put_u64((uint64_t)ret);
        return;
    }
    lo_puts(q_file_strerror(ret));
}

static int32_t read_all(int32_t fd, char *buf, uint32_t size)
{
    uint32_t total = 0;
    for (;;) {
        uint32_t chunk = size - total < 8 ? size - total : 8;
        int32_t n = q_fread(fd, buf + total, chunk);
        if (n < 0)
            return n;
        total += (uint32_t)n;
        quanta_yield();
        if (n == 0 || total == size)
            return (int32_t)total;
    }
}

int main(void)
{
    int32_t fd = q_fopen("shared.txt", "r");
    lo_puts("open: fd ");
    put_ret(fd);
    lo_putc('\n');
    if (fd < 0)
        return 0;
    int32_t n = read_all(fd, first, sizeof first);
    lo_puts("read ");
    put_ret(n);
    lo_puts(" bytes:\n");
    if (n < 0)
        return 0;
    lo_write(first, (unsigned long)n);

    for (int i = 0; i < 100; i++)
        quanta_yield();

    int32_t fd2 = q_fopen("shared.txt", "r");
    lo_puts("reopen: fd ");
    put_ret(fd2);
    int32_t m = fd2 >= 0 ? read_all(fd2, again, sizeof again) : fd2;
    int same = m == n;
    for (int32_t i = 0; same && i < n; i++)
        same = first[i] == again[i];
    lo_puts(same ? ", same contents\n" : ", DIFFERENT contents\n");

    lo_puts("close: ");
    put_ret(q_fclose(fd));
    lo_putc(' ');
    put_ret(q_fclose(fd2));
    lo_putc('\n');
    return 0;
}

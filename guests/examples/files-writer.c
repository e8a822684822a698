/*
 * files-writer64: copy-on-write of the shared file "shared.txt" with the
 * block protocol. It opens the file for reading, then for "a+": from then
 * on it has its own copy (DIR/shared.txt.local<ID>, starting with the
 * shared contents), and the descriptor it had for reading is invalid. It
 * yields 10 times before writing, so that other guests run under --policy
 * rr have the shared file open when it makes its copy.
 *
 *   open r: fd 0
 *   read 5: <first 5 bytes>
 *   open a+: fd 1
 *   write: 22
 *   seek: 0
 *   my copy:
 *   <the shared file>written by the writer
 *   old fd read: EBADF
 *   old fd close: EBADF
 *   reopen r: fd 0, sees the copy
 *   close: 0 0
 */
#include <quanta/files.h>

#include "lineout.h"

static char buf[2048];
static const char line[] = "written by the writer\n";

static void put_ret(int32_t ret)
{
    if (ret >= 0) {
        lo_put_u64((uint64_t)ret);
        return;
    }
    lo_puts(q_file_strerror(ret));
}

static void show(const char *what, int32_t ret)
{
    lo_puts(what);
    put_ret(ret);
    lo_putc('\n');
}

int main(void)
{
    int32_t r = q_fopen("shared.txt", "r");
    show("open r: fd ", r);
    int32_t n = q_fread(r, buf, 5);
    lo_puts("read 5: ");
    if (n > 0)
        lo_write(buf, (unsigned long)n);
    lo_putc('\n');

    /* With other VMs (--policy rr), let them open the file first. */
    for (int i = 0; i < 10; i++)
        quanta_yield();

    int32_t w = q_fopen("shared.txt", "a+");
    show("open a+: fd ", w);
    show("write: ", q_fwrite(w, line, sizeof line - 1));
    show("seek: ", (int32_t)q_fseek(w, 0, QUANTA_SEEK_SET));
    n = q_fread(w, buf, sizeof buf);
    lo_puts("my copy:\n");
    if (n > 0)
        lo_write(buf, (unsigned long)n);

    show("old fd read: ", q_fread(r, buf, 5));
    show("old fd close: ", q_fclose(r));

    int32_t again = q_fopen("shared.txt", "r");
    int32_t m = q_fread(again, buf, sizeof buf);
    lo_puts("reopen r: fd ");
    put_ret(again);
    lo_puts(m == n ? ", sees the copy\n" : ", does NOT see the copy\n");

    lo_puts("close: ");
    put_ret(q_fclose(w));
    lo_putc(' ');
    put_ret(q_fclose(again));
    lo_putc('\n');
    return 0;
}

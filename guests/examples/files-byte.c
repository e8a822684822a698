/*
 * files-byte16 / files-byte64: the mini_hypervisor byte protocol alone, as
 * the assignment's guests use it (1-byte OUT/IN on port 0x278), from real
 * mode and from long mode. Prints the shared file "shared.txt", writes a
 * local file "notes.txt" and reads it back:
 *
 *   shared.txt (fd 0):
 *   <the file>
 *   notes.txt (fd 0): wrote 20
 *   read back: hello, byte protocol
 *   missing.txt: -1
 */
#include <quanta/files.h>

#include "lineout.h"

static const char note[] = "hello, byte protocol";

int main(void)
{
    int32_t fd = qb_fopen("shared.txt", 0);
    lo_puts("shared.txt (fd ");
    lo_put_int(fd);
    lo_puts("):\n");
    for (int c = qb_fgetc(fd); c >= 0; c = qb_fgetc(fd))
        lo_putc((char)c);
    qb_fclose(fd);

    int32_t w = qb_fopen("notes.txt", 1);
    lo_puts("notes.txt (fd ");
    lo_put_int(w);
    lo_puts("): wrote ");
    lo_put_int((int32_t)qb_fwrite(w, note, sizeof note - 1));
    lo_putc('\n');
    qb_fclose(w);

    char back[64];
    int32_t r = qb_fopen("notes.txt", 0);
    uint32_t n = qb_fread(r, back, sizeof back);
    qb_fclose(r);
    lo_puts("read back: ");
    lo_write(back, n);
    lo_putc('\n');

    lo_puts("missing.txt: ");
    lo_put_int(qb_fopen("missing.txt", 0));
    lo_putc('\n');
    return 0;
}

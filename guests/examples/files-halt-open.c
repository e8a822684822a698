/*
 * files-halt-open64: nothing a guest wrote is lost, however it stops.
 * Writes three files and keeps them open:
 *
 *   out.txt     local file, block protocol (two requests)
 *   bytes.txt   local file, byte protocol
 *   shared.txt  the shared file, appended to: a copy-on-write copy
 *
 * prints "written", then stops the way standard input says: "halt" (the
 * default, also at end of input) HLTs with the files open, "fault" triple
 * faults (ud2, there is no IDT), "spin" loops until quanta is stopped by a
 * signal, "close" closes everything and halts.
 */
#include <quanta/files.h>

static const char block1[] = "block protocol, request 1\n";
static const char block2[] = "block protocol, request 2\n";
static const char bytes[] = "byte protocol, one byte per exit\n";
static const char tail[] = "appended before stopping\n";

int main(void)
{
    int32_t out = q_fopen("out.txt", "w");
    q_fwrite(out, block1, sizeof block1 - 1);
    q_fwrite(out, block2, sizeof block2 - 1);
    int32_t b = qb_fopen("bytes.txt", 1);
    qb_fwrite(b, bytes, sizeof bytes - 1);
    int32_t s = q_fopen("shared.txt", "a");
    q_fwrite(s, tail, sizeof tail - 1);
    q_puts(out >= 0 && b >= 0 && s >= 0 ? "written\n" : "open FAILED\n");

    char how[8];
    unsigned n = 0;
    for (int c = q_getc(); c >= 'a' && c <= 'z' && n < sizeof how - 1; c = q_getc())
        how[n++] = (char)c;
    how[n] = 0;

    if (how[0] == 'f') {
        q_puts("faulting\n");
        __asm__ volatile("ud2");
    } else if (how[0] == 's') {
        q_puts("spinning\n");
        for (;;)
            __asm__ volatile("pause");
    } else if (how[0] == 'c') {
        q_fclose(out);
        qb_fclose(b);
        q_fclose(s);
        q_puts("closed\n");
    } else {
        q_puts("halting\n");
    }
    return 0;
}

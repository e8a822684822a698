/*
 * echo64 / echo16: one source built for long mode (-m64) and real mode
 * (gcc -m16), to show IN from port 0xE9 and the SDK work in both. Reads one
 * line (up to '\n' or end of input) and writes it back exactly, including
 * the '\n' when there was one. The buffer is flushed when full, so long
 * lines come back whole too.
 */
#include <quanta/guest.h>

int main(void)
{
    char buf[128];
    unsigned n = 0;

    for (;;) {
        int c = q_getc();
        if (c < 0)
            break;
        buf[n++] = (char)c;
        if (c == '\n')
            break;
        if (n == sizeof buf) {
            q_write(buf, n);
            n = 0;
        }
    }
    q_write(buf, n);
    return 0;
}

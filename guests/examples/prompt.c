/*
 * prompt64: asks for a name with a prompt that has no newline, reads one
 * line of input and greets it. quanta must show the prompt before the
 * guest waits for input, even though the line is not complete.
 */
#include <quanta/guest.h>

int main(void)
{
    char name[64];
    unsigned n = 0;
    q_puts("name? ");
    for (;;) {
        int c = q_getc();
        if (c < 0 || c == '\n')
            break;
        if (n < sizeof name)
            name[n++] = (char)c;
    }
    q_puts("hello, ");
    q_write(name, n);
    q_putc('\n');
    return 0;
}

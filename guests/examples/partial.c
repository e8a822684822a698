/*
 * partial64: prints "working" with no newline and then computes forever
 * without another exit. quanta must still show the partial line (after at
 * most about 250 ms), even for a lone VM whose slice never ends.
 */
#include <quanta/guest.h>

int main(void)
{
    q_puts("working");
    for (;;)
        __asm__ volatile("jmp ."); /* no exits from here on */
}

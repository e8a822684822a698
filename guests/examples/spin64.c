/*
 * spin64: long-mode guest that never exits after one line (for scheduler
 * and timeout tests): the VM must be stopped from outside.
 */
#include <quanta/guest.h>

int main(void)
{
    q_puts("spinning\n");
    for (;;)
        __asm__ volatile("jmp ."); /* no exits from here on */
}

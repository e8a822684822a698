/*
 * bad-triple: ud2 raises #UD; with no IDT that escalates to a triple fault,
 * which KVM reports as KVM_EXIT_SHUTDOWN. quanta must diagnose it and fail.
 */
#include <quanta/guest.h>

int main(void)
{
    q_puts("before\n");
    __asm__ volatile("ud2");
    q_puts("after\n"); /* not reached */
    return 0;
}

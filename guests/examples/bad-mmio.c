/*
 * bad-mmio: ELF32 in protected mode (paging off), writes to physical
 * 0x40000000, far beyond guest memory (at most 8 MiB). KVM has no memory
 * slot there and exits with KVM_EXIT_MMIO; quanta must report an MMIO access
 * outside memory and fail.
 */
#include <quanta/guest.h>

#define OUTSIDE_MEMORY 0x40000000u

int main(void)
{
    q_puts("before\n");
    *(volatile uint32_t *)(uintptr_t)OUTSIDE_MEMORY = 0x12345678u;
    q_puts("after\n"); /* not reached */
    return 0;
}

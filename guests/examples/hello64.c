/*
 * hello64: long-mode guest, built both as ELF64 (linked at 0x1000) and as a
 * flat binary (linked at 0). Reports the page size quanta used, found by
 * walking CR3 -> PML4 -> PDPT -> PD for address 0x1000 (memory is identity
 * mapped, so table addresses are usable pointers), and the initial rsp
 * (memory size - 64 KiB, which proves the -m size).
 */
#include <quanta/guest.h>

#define PTE_P 0x1ull
#define PTE_PS 0x80ull
#define ADDR_MASK 0x000FFFFFFFFFF000ull

static uint64_t read_cr3(void)
{
    uint64_t v;
    __asm__ volatile("mov %%cr3, %0" : "=r"(v));
    return v;
}

/* Entry `idx` of the table whose physical address is in `e` (or CR3). */
static uint64_t next(uint64_t e, unsigned idx)
{
    return ((const volatile uint64_t *)(uintptr_t)(e & ADDR_MASK))[idx];
}

static void report_paging(void)
{
    const uint64_t va = 0x1000;
    const char *kind;
    uint64_t pa;
    uint64_t pml4e = next(read_cr3(), (va >> 39) & 511);
    uint64_t pdpte = (pml4e & PTE_P) ? next(pml4e, (va >> 30) & 511) : 0;

    if (!(pdpte & PTE_P)) {
        q_puts("paging: 0x1000 not mapped\n");
        return;
    }
    if (pdpte & PTE_PS) {
        kind = "1G";
        pa = (pdpte & ADDR_MASK & ~0x3FFFFFFFull) | (va & 0x3FFFFFFFull);
    } else {
        uint64_t pde = next(pdpte, (va >> 21) & 511);
        if (!(pde & PTE_P)) {
            q_puts("paging: 0x1000 not mapped\n");
            return;
        }
        if (pde & PTE_PS) {
            kind = "2M";
            pa = (pde & ADDR_MASK & ~0x1FFFFFull) | (va & 0x1FFFFFull);
        } else {
            kind = "4K";
            pa = (next(pde, (va >> 12) & 511) & ADDR_MASK) | (va & 0xFFFull);
        }
    }
    q_puts("paging: ");
    q_puts(kind);
    if (pa != va) {
        q_puts(", not identity: 0x1000 -> ");
        q_put_hex(pa);
    }
    q_putc('\n');
}

int main(void)
{
    q_puts("Hello from long mode\n");
    report_paging();
    q_puts("rsp=");
    q_put_hex(q_initial_sp);
    q_putc('\n');
    return 0;
}

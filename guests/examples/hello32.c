/*
 * hello32: ELF32 guest for --mode protected and --mode paged. Reports what
 * quanta set up: paging on/off (CR0.PG), which paging kind (CR4.PAE and the
 * PS bit of the directory entry mapping 0x1000, found by walking from CR3;
 * memory is identity mapped so table addresses are usable pointers), and
 * the initial esp (memory size - 64 KiB, which proves the -m size).
 */
#include <quanta/guest.h>

#define CR0_PG (1ul << 31)
#define CR4_PSE (1ul << 4)
#define CR4_PAE (1ul << 5)
#define PTE_P 0x1ull
#define PTE_PS 0x80ull

static unsigned long read_cr0(void)
{
    unsigned long v;
    __asm__ volatile("mov %%cr0, %0" : "=r"(v));
    return v;
}

static unsigned long read_cr3(void)
{
    unsigned long v;
    __asm__ volatile("mov %%cr3, %0" : "=r"(v));
    return v;
}

static unsigned long read_cr4(void)
{
    unsigned long v;
    __asm__ volatile("mov %%cr4, %0" : "=r"(v));
    return v;
}

/* Entry of a page table at physical address `table` (identity mapped). */
static uint64_t entry32(uint32_t table, unsigned idx)
{
    return ((const volatile uint32_t *)(uintptr_t)table)[idx];
}

static uint64_t entry64(uint32_t table, unsigned idx)
{
    return ((const volatile uint64_t *)(uintptr_t)table)[idx];
}

/* Prints the paging kind; the walk also checks 0x1000 maps to itself. */
static void report_paging(void)
{
    const uint32_t va = 0x1000;
    uint32_t cr3 = (uint32_t)read_cr3();
    const char *kind;
    uint64_t pa;

    if (read_cr4() & CR4_PAE) {
        /* PAE: CR3 -> 4-entry PDPT -> PD (2 MiB if PS) -> PT. */
        uint64_t pdpte = entry64(cr3 & ~0x1Fu, va >> 30);
        uint64_t pde = entry64((uint32_t)pdpte & ~0xFFFu, (va >> 21) & 511);
        if (!(pdpte & PTE_P) || !(pde & PTE_P)) {
            q_puts("paging: PAE, 0x1000 not mapped\n");
            return;
        }
        if (pde & PTE_PS) {
            kind = "PAE 2M";
            pa = (pde & 0xFFE00000u) | (va & 0x1FFFFFu);
        } else {
            uint64_t pte = entry64((uint32_t)pde & ~0xFFFu, (va >> 12) & 511);
            kind = "PAE 4K";
            pa = (pte & 0xFFFFF000u) | (va & 0xFFFu);
        }
    } else {
        /* Classic: CR3 -> PD (4 MiB if PS and CR4.PSE) -> PT. */
        uint64_t pde = entry32(cr3 & ~0xFFFu, va >> 22);
        if (!(pde & PTE_P)) {
            q_puts("paging: 32-bit, 0x1000 not mapped\n");
            return;
        }
        if ((pde & PTE_PS) && (read_cr4() & CR4_PSE)) {
            kind = "32-bit 4M";
            pa = (pde & 0xFFC00000u) | (va & 0x3FFFFFu);
        } else {
            uint64_t pte = entry32((uint32_t)pde & ~0xFFFu, (va >> 12) & 1023);
            kind = "32-bit 4K";
            pa = (pte & 0xFFFFF000u) | (va & 0xFFFu);
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
    if (read_cr0() & CR0_PG) {
        q_puts("Hello from protected mode, paging on\n");
        report_paging();
    } else {
        q_puts("Hello from protected mode, paging off\n");
    }
    q_puts("esp=");
    q_put_hex(q_initial_sp);
    q_putc('\n');
    return 0;
}

/*
 * badptr64 / badptr32: bad pointers and lengths handed to every call that
 * takes one. quanta must refuse each (a warning on its stderr, 0 or an
 * error code for the guest) and go on; the guest prints what it got and
 * finally "still alive", then exits with status 0. The unknown call is
 * the last native port (QUANTA_HC_COUNT - 1 = 15).
 *
 * badptr64 also switches to page tables of its own (built in .bss) that map
 *   0x40000000 -> a page of 'A's (a non-identity 4 KiB mapping)
 *   0x40001000 -> guest-physical M + 0x1000 (present, but past memory)
 *   0x40200000 -> a page table at 0x80000000 (outside memory)
 * and keeps quanta's identity map of the low 1 GiB (its PDPT entry 0 is
 * copied), so HC_printStr can meet a string that runs off the end of
 * guest memory and HC_gvaToHva a table outside it.
 */
#include <quanta/hypercall.h>

/* Memory size: quanta starts the stack at M - QUANTA_RESERVED_SIZE. */
static uint32_t mem_size(void)
{
    return (uint32_t)q_initial_sp + QUANTA_RESERVED_SIZE;
}

static void put_i32(int32_t v)
{
    if (v < 0) {
        q_putc('-');
        q_put_u64((uint64_t)-(int64_t)v);
    } else {
        q_put_u64((uint64_t)v);
    }
}

static void put_result(int32_t ret)
{
    put_i32(ret);
    q_puts(" (");
    q_puts(quanta_strerror(ret));
    q_puts(")\n");
}

static void print_str_at(uint32_t gva)
{
    q_puts("printStr(");
    q_put_hex(gva);
    q_puts("): [");
    HC_printStr((const char *)(unsigned long)gva);
    q_puts("]\n");
}

static uint32_t gva_to_hva(uint32_t gva)
{
    uint32_t hva = HC_gvaToHva(gva);
    q_puts("gvaToHva(");
    q_put_hex(gva);
    q_puts(") = ");
    q_puts(hva ? "nonzero\n" : "0\n");
    return hva;
}

/* 5000 non-NUL bytes and then a NUL: HC_printStr stops at 4096. */
static char long_string[5001];

#ifdef __x86_64__
#define PAGE_RW 0x3ull /* present, writable */

static uint64_t pml4[512] __attribute__((aligned(4096)));
static uint64_t pdpt[512] __attribute__((aligned(4096)));
static uint64_t pd[512] __attribute__((aligned(4096)));
static uint64_t pt[512] __attribute__((aligned(4096)));
static char page_a[4096] __attribute__((aligned(4096)));

static unsigned long read_cr3(void)
{
    unsigned long v;
    __asm__ volatile("mov %%cr3, %0" : "=r"(v));
    return v;
}

static void write_cr3(unsigned long v)
{
    __asm__ volatile("mov %0, %%cr3" : : "r"(v) : "memory");
}

static void own_page_tables(void)
{
    const uint64_t mask = 0x000ffffffffff000ull;
    unsigned long quanta_cr3 = read_cr3();
    /* quanta's tables are identity mapped: their addresses are pointers. */
    const volatile uint64_t *their_pml4 = (const volatile uint64_t *)(quanta_cr3 & mask);
    const volatile uint64_t *their_pdpt = (const volatile uint64_t *)(unsigned long)(their_pml4[0] & mask);

    for (int i = 0; i < 4096; i++)
        page_a[i] = 'A';
    pml4[0] = (uint64_t)(unsigned long)pdpt | PAGE_RW;
    pdpt[0] = their_pdpt[0];                     /* 0 .. 1 GiB: quanta's identity map */
    pdpt[1] = (uint64_t)(unsigned long)pd | PAGE_RW; /* 1 GiB .. 2 GiB: ours */
    pd[0] = (uint64_t)(unsigned long)pt | PAGE_RW;
    pd[1] = 0x80000000ull | PAGE_RW;             /* a page table outside memory */
    pt[0] = (uint64_t)(unsigned long)page_a | PAGE_RW;
    pt[1] = ((uint64_t)mem_size() + 0x1000) | PAGE_RW; /* past the end of memory */

    write_cr3((unsigned long)pml4);
    q_puts("own page tables: on\n");

    uint32_t a = gva_to_hva(0x40000000u);
    uint32_t b = HC_gvaToHva((uint32_t)(unsigned long)page_a);
    q_puts(a == b && a ? "0x40000000 and page_a share an HVA: yes\n"
                       : "0x40000000 and page_a share an HVA: NO\n");
    /* 10 'A's, then the next page maps past the end of memory. */
    print_str_at(0x40000ff6u);
    gva_to_hva(0x40001000u);
    gva_to_hva(0x40200000u);

    write_cr3(quanta_cr3);
    q_puts("own page tables: off\n");
}
#endif

int main(void)
{
    uint32_t mem = mem_size();

    /* ---- Assignment calls ---- */
#ifdef __x86_64__
    print_str_at(0x40000000u); /* beyond quanta's identity map */
#else
    print_str_at(0xf0000000u); /* unmapped (paged) or past memory (protected) */
#endif
    gva_to_hva(0x40000000u);
    gva_to_hva(mem);            /* first byte past the end of memory */
    gva_to_hva(mem - 1);        /* last byte (reserved area): translatable */

    for (int i = 0; i < 5000; i++)
        long_string[i] = 'B';
    q_puts("printStr(5000 bytes): [");
    HC_printStr(long_string);
    q_puts("]\n");

#ifdef __x86_64__
    own_page_tables();
#endif

    /* ---- Native calls ---- */
    static const char text[] = "never printed";
    q_puts("write(len 0xffffffff): ");
    put_result(quanta_write(text, 0xffffffffu));
    q_puts("write(len 4097): ");
    put_result(quanta_write(text, QUANTA_MAX_STRING + 1));
    q_puts("write(M - 8, len 16): ");
    put_result(quanta_write_gpa(mem - 8, 16));
    q_puts("write(0xfffffff0, len 32): ");
    put_result(quanta_write_gpa(0xfffffff0u, 32));
    q_puts("version(block 0x7ffffff0): ");
    put_result(quanta_hypercall(QUANTA_HC_VERSION, 0x7ffffff0u));
    q_puts("version(block M - 4): ");
    put_result(quanta_hypercall(QUANTA_HC_VERSION, mem - 4));

    /* The last port of the range has no call: ENOSYS (read back with an
     * IN), and quanta leaves the block alone. */
    volatile struct quanta_hc_version block = { 0x12345678u, 77 };
    q_puts("call 15: ");
    put_result(quanta_hypercall(QUANTA_HC_COUNT - 1, q_gpa(&block)));
    q_puts(block.version == 0x12345678u && block.ret == 77 ? "call 15 left its block alone: yes\n"
                                                           : "call 15 left its block alone: NO\n");
    uint32_t version = 0;
    q_puts("version after all that: ");
    put_i32(quanta_version(&version));
    q_puts(", version ");
    q_put_u64(version);
    q_puts(", last result ");
    put_i32(quanta_last_result());
    q_putc('\n');

    q_puts("still alive\n");
    quanta_exit(0);
}

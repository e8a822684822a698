/*
 * hostile64: a guest that attacks quanta, one attack per run, chosen by the
 * first line of its input (tests/vm/hostile-cases.toml runs each one beside
 * a good VM, which must finish):
 *
 *   ports       1000 random port accesses of random sizes (1, 2, 4 bytes)
 *   hypercalls  wild pointers (0, odd, last byte, past memory, 4 GiB - 1)
 *               against every native and assignment hypercall port
 *   pagetables  zeroes its PML4 and flushes the TLB (a triple fault)
 *   gdt         loads an empty GDT and reloads DS (a triple fault)
 *   mmio        writes past the end of guest memory
 *   fds         20000 opens, closes, reads and writes on random descriptors
 *               and names, the 16-descriptor limit hit again and again
 *   bytes       200000 random bytes and INs on the file byte protocol
 *   forge       opens files named to forge quanta's lines and clear the
 *               terminal ("...\nquanta: good: stopped: FORGED\x1b[2J")
 *   chan        zero-length, huge and wild channel sends and receives
 *   fill        writes fill.txt in 10000-byte blocks of a known pattern until
 *               the disk is full, prints each result, then reads the file
 *               back and checks every byte (for a full-disk test)
 *
 * Prints "attack NAME" first and "survived NAME" if it is still running at
 * the end (then halts).
 */
#include <quanta/files.h>
#include <quanta/guest.h>
#include <quanta/hypercall.h>

static uint64_t state = 0x9e3779b97f4a7c15ull;

static uint64_t next(void)
{
    state ^= state << 13;
    state ^= state >> 7;
    state ^= state << 17;
    return state;
}

static int same(const char *a, const char *b)
{
    while (*a && *a == *b)
        ++a, ++b;
    return *a == *b;
}

static void ports(void)
{
    for (int i = 0; i < 1000; ++i) {
        uint16_t port = (uint16_t)next();
        if (port == QUANTA_PORT_SERIAL || (port >= QUANTA_PORT_HC_BASE && port < QUANTA_PORT_HC_BASE + 16))
            continue; /* those have their own attacks */
        switch (next() % 6) {
        case 0: outb(port, (uint8_t)next()); break;
        case 1: outw(port, (uint16_t)next()); break;
        case 2: outl(port, (uint32_t)next()); break;
        case 3: (void)inb(port); break;
        case 4: (void)inw(port); break;
        default: (void)inl(port); break;
        }
    }
}

static void hypercalls(void)
{
    /* A block across a page boundary lives in this buffer: at 0xfff it would
     * straddle into _start at 0x1000, and the results the host writes there
     * would wreck the guest's own code, not test the host. */
    static uint8_t straddle[2 * 4096] __attribute__((aligned(4096)));
    uint32_t wild[] = { 0, 1, (uint32_t)(uintptr_t)straddle + 4095, 0x1ffffc, 0x1fffff, 0x200000, 0x7fffffff, 0xfffffff0u, 0xffffffffu };
    for (unsigned w = 0; w < sizeof wild / sizeof wild[0]; ++w) {
        for (unsigned call = 0; call < QUANTA_HC_COUNT; ++call) {
            if (call == QUANTA_HC_EXIT)
                continue; /* a wild exit block would end the attack early */
            (void)quanta_hypercall(call, wild[w]);
        }
        outl(QUANTA_PORT_HC_PRINT_STR, wild[w]);
        outl(QUANTA_PORT_HC_GVA, wild[w]);
        (void)inl(QUANTA_PORT_HC_HVA);
        (void)inl(QUANTA_PORT_HC_EXITS_BY_TYPE);
        outl(QUANTA_PORT_FILE, wild[w]);
    }
}

static void pagetables(void)
{
    uint64_t cr3;
    __asm__ volatile("mov %%cr3, %0" : "=r"(cr3));
    volatile uint64_t *pml4 = (volatile uint64_t *)(uintptr_t)(cr3 & ~0xfffull);
    for (int i = 0; i < 512; ++i)
        pml4[i] = 0;
    __asm__ volatile("mov %0, %%cr3" : : "r"(cr3) : "memory");
}

static void gdt(void)
{
    struct __attribute__((packed)) {
        uint16_t limit;
        uint64_t base;
    } empty = { 0, 0 };
    __asm__ volatile("lgdt %0\n\tmov $0x10, %%ax\n\tmov %%ax, %%ds" : : "m"(empty) : "rax", "memory");
}

static void mmio(void)
{
    *(volatile uint32_t *)(uintptr_t)0x7ff00000u = 0x12345678u;
}

static void fds(void)
{
    static const char *names[] = { "a", "b", "shared.txt", "../x", "c", "/etc/passwd", "" };
    char buffer[64];
    for (int i = 0; i < 20000; ++i) {
        int32_t fd = (int32_t)(next() % 20) - 2;
        switch (next() % 4) {
        case 0: (void)q_fopen_mode(names[next() % 7], (uint32_t)(next() % 7)); break;
        case 1: (void)q_fclose(fd); break;
        case 2: (void)q_fread(fd, buffer, (uint32_t)(next() % sizeof buffer)); break;
        default: (void)q_fwrite(fd, buffer, (uint32_t)(next() % sizeof buffer)); break;
        }
    }
}

static void bytes(void)
{
    for (int i = 0; i < 200000; ++i) {
        if (next() % 4 == 0)
            (void)inb(QUANTA_PORT_FILE);
        else
            outb(QUANTA_PORT_FILE, (uint8_t)next());
    }
}

static void forge(void)
{
    (void)q_fopen_mode("x\nquanta: good: stopped: FORGED\x1b[2J", QUANTA_FILE_MODE_R);
    (void)q_fopen_mode("\x1b[31mred\x1b[0m/../x", QUANTA_FILE_MODE_W);
    (void)q_fopen_mode("nope\r\nquanta: good: stopped: FORGED", QUANTA_FILE_MODE_R);
    (void)qb_fopen("\nquanta: good: stopped: FORGED/", 0);
}

static void chan(void)
{
    static uint8_t message[16];
    static const uint32_t wild[] = { 0, 0x1fffff, 0xffffffffu };
    for (unsigned w = 0; w < 3; ++w) {
        for (uint32_t length = 0; length < 3; ++length) {
            static struct quanta_hc_chan b;
            b.channel = (uint32_t)(next() % 3);
            b.flags = QUANTA_CHAN_NONBLOCK;
            b.buffer = length == 1 ? q_gpa(message) : wild[w];
            b.length = length == 2 ? 0xffffffffu : length * 4;
            (void)quanta_hypercall(QUANTA_HC_CHAN_SEND, q_gpa(&b));
            (void)quanta_hypercall(QUANTA_HC_CHAN_RECV, q_gpa(&b));
        }
    }
}

static char pattern(uint32_t i)
{
    return (char)('a' + i % 23);
}

static void fill(void)
{
    static char block[10000];
    uint32_t total = 0;
    int32_t fd = q_fopen("fill.txt", "w+");
    for (int round = 0; round < 100; ++round) {
        for (uint32_t i = 0; i < sizeof block; ++i)
            block[i] = pattern(total + i);
        int32_t n = q_fwrite(fd, block, sizeof block);
        q_puts("write: ");
        if (n < 0) {
            q_puts(q_file_strerror(n));
            q_putc('\n');
            break;
        }
        q_put_u64((uint64_t)n);
        q_putc('\n');
        total += (uint32_t)n;
        if (n == 0)
            break;
    }
    q_fseek(fd, 0, QUANTA_SEEK_SET);
    uint32_t checked = 0;
    for (;;) {
        int32_t n = q_fread(fd, block, sizeof block);
        if (n <= 0)
            break;
        for (int32_t i = 0; i < n; ++i)
            if (block[i] != pattern(checked + (uint32_t)i)) {
                q_puts("wrong byte at ");
                q_put_u64(checked + (uint64_t)i);
                q_putc('\n');
                return;
            }
        checked += (uint32_t)n;
    }
    q_puts("read back ");
    q_put_u64(checked);
    q_puts(" of ");
    q_put_u64(total);
    q_puts(" bytes, all as written\n");
    q_fclose(fd);
}

int main(void)
{
    char name[16];
    unsigned n = 0;
    for (int c = q_getc(); c >= 0 && c != '\n' && n < sizeof name - 1; c = q_getc())
        name[n++] = (char)c;
    name[n] = 0;
    q_puts("attack ");
    q_puts(name);
    q_putc('\n');
    if (same(name, "ports"))
        ports();
    else if (same(name, "hypercalls"))
        hypercalls();
    else if (same(name, "pagetables"))
        pagetables();
    else if (same(name, "gdt"))
        gdt();
    else if (same(name, "mmio"))
        mmio();
    else if (same(name, "fds"))
        fds();
    else if (same(name, "bytes"))
        bytes();
    else if (same(name, "forge"))
        forge();
    else if (same(name, "chan"))
        chan();
    else if (same(name, "fill"))
        fill();
    else
        q_puts("no such attack\n");
    q_puts("survived ");
    q_puts(name);
    q_putc('\n');
    return 0;
}

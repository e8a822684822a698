/*
 * hcextra64 / hcextra32: the assignment calls beyond the assignment's own
 * test program (hc695.c):
 *
 *   - HC_numExits counts exactly one exit per call, and the exits between
 *   - HC_numExitsByType: the first slot is at the reserved base + 0x1000 (the
 *     scratch area), each call takes the next 64-byte slot of a ring of
 *     QUANTA_EXITS_TEXT_SLOTS, the first result stays intact until the ring
 *     comes round, and the call after that reuses the first slot
 *   - HC_gvaToHva: consecutive guest pages are consecutive host memory
 *   - HC_printStr: an empty string, and a string crossing a page boundary
 *   - HC_print32bit(0)
 *
 * Every value printed is deterministic; the HVA lines quanta prints are not.
 */
#include <quanta/hypercall.h>

static int same(const char *a, const char *b)
{
    while (*a && *a == *b) {
        a++;
        b++;
    }
    return *a == *b;
}

static void yes_no(const char *what, int ok)
{
    q_puts(what);
    q_puts(ok ? ": yes\n" : ": NO\n");
}

static char copy[QUANTA_EXITS_TEXT_SIZE];
static char two_pages[8192] __attribute__((aligned(4096)));

int main(void)
{
    uint32_t reserved = (uint32_t)q_initial_sp; /* M - QUANTA_RESERVED_SIZE */

    /* ---- HC_numExits ---- */
    uint32_t a = HC_numExits();
    uint32_t b = HC_numExits();
    q_putc('.');
    q_putc('\n');
    uint32_t c = HC_numExits();
    HC_print32bit(a);            /* the 1st exit of the run */
    yes_no("numExits: one exit per call", b == a + 1);
    yes_no("numExits: two OUTs in between", c == b + 3);

    /* ---- HC_numExitsByType ---- */
    char *first = HC_numExitsByType();
    q_puts("first slot: reserved + ");
    q_put_hex((uint32_t)(unsigned long)first - reserved);
    q_putc('\n');
    int i;
    for (i = 0; first[i]; i++)
        copy[i] = first[i];
    copy[i] = 0;
    q_puts(first);              /* the text, read by the guest itself */

    int consecutive = 1;
    char *prev = first, *p = first;
    for (unsigned n = 1; n < QUANTA_EXITS_TEXT_SLOTS; n++) {
        p = HC_numExitsByType();
        if (p != prev + QUANTA_EXITS_TEXT_SIZE)
            consecutive = 0;
        prev = p;
    }
    yes_no("127 more calls take consecutive slots", consecutive);
    yes_no("the first text is intact", same(first, copy));
    q_puts("last text: ");
    HC_printStr(p);
    p = HC_numExitsByType();
    yes_no("call 129 reuses the first slot", p == first);
    yes_no("and rewrites it", !same(first, copy));

    /* ---- HC_gvaToHva ---- */
    uint32_t h1 = HC_gvaToHva((uint32_t)(unsigned long)two_pages);
    uint32_t h2 = HC_gvaToHva((uint32_t)(unsigned long)two_pages + 4096);
    yes_no("gvaToHva: next page is 4096 bytes further", h1 && h2 == h1 + 4096);
    h2 = HC_gvaToHva((uint32_t)(unsigned long)two_pages + 4095);
    yes_no("gvaToHva: byte offsets carry over", h2 == h1 + 4095);

    /* ---- HC_printStr ---- */
    q_puts("empty: [");
    HC_printStr("");
    q_puts("]\n");
    static const char msg[] = "across a page boundary\n";
    char *s = two_pages + 4096 - 6;
    for (i = 0; msg[i]; i++)
        s[i] = msg[i];
    s[i] = 0;
    HC_printStr(s);

    HC_print32bit(0);
    q_puts("done\n");
    return 0;
}

/*
 * slowline64: prints 12 lines of 64 letters byte by byte, one exit per
 * byte and at least 50 us of wall time between bytes, so that at a 1 ms
 * quantum every line spans many time slices. Two of them side by side
 * test that quanta writes each VM's lines whole (issue 11, part 1).
 */
#include <quanta/guest.h>
#include <quanta/hypercall.h>

#define LINES 12
#define LETTERS 64
#define GAP_NS 50000u

static void wait_ns(uint64_t gap)
{
    uint64_t start = 0, now = 0;
    quanta_clock_ns(&start);
    do
        quanta_clock_ns(&now);
    while (now - start < gap);
}

int main(void)
{
    for (uint32_t line = 1; line <= LINES; line++) {
        q_puts("line ");
        q_put_u64(line);
        q_puts(": ");
        for (int i = 0; i < LETTERS; i++) {
            q_putc((char)('a' + i % 26));
            wait_ns(GAP_NS);
        }
        q_putc('\n');
    }
    return 0;
}

/*
 * native64 / native32 / native16: every native hypercall once, printing
 * what came back, then quanta_exit with the status read from standard
 * input (decimal digits; none means 0), so one image tests both a clean
 * exit and a failing one:
 *
 *   version: ret 0, version 1
 *   clock: ret 0, ret 0, monotonic yes
 *   yield: ret 0
 *   work: ret 0
 *   random: ret 0, seed <decimal: fixed by --seed, else random>
 *   hello from quanta_write
 *   write: ret 24
 *   exit: <status>
 *
 * Argument blocks live on the stack; the wrappers pass their
 * guest-physical address (in real mode DS * 16 + offset, so native16 also
 * works loaded above 0, e.g. --load 0x10000).
 */
#include <quanta/hypercall.h>

static void put_ret(const char *what, int32_t ret)
{
    q_puts(what);
    q_puts(": ret ");
    if (ret < 0) {
        q_putc('-');
        q_put_u64((uint64_t)-(int64_t)ret);
    } else {
        q_put_u64((uint64_t)ret);
    }
}

int main(void)
{
    uint32_t version = 0;
    put_ret("version", quanta_version(&version));
    q_puts(", version ");
    q_put_u64(version);
    q_putc('\n');

    uint64_t t1 = 0, t2 = 0;
    int32_t r1 = quanta_clock_ns(&t1);
    int32_t r2 = quanta_clock_ns(&t2);
    put_ret("clock", r1);
    q_puts(", ret ");
    q_put_u64((uint64_t)(uint32_t)r2);
    q_puts(t1 > 0 && t2 >= t1 ? ", monotonic yes\n" : ", monotonic NO\n");

    put_ret("yield", quanta_yield());
    q_putc('\n');

    put_ret("work", quanta_report_work(1000));
    q_putc('\n');

    uint64_t seed = 0;
    put_ret("random", quanta_random_seed(&seed));
    q_puts(", seed ");
    q_put_u64(seed);
    q_putc('\n');

    static const char text[] = "hello from quanta_write\n";
    put_ret("write", quanta_write(text, sizeof text - 1));
    q_putc('\n');

    uint32_t status = 0;
    for (int c = q_getc(); c >= '0' && c <= '9'; c = q_getc())
        status = status * 10 + (uint32_t)(c - '0');
    q_puts("exit: ");
    q_put_u64(status);
    q_putc('\n');
    quanta_exit(status);
}

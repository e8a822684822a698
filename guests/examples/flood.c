/*
 * flood64: prints lines forever, 4 KiB per exit (one write hypercall per
 * buffer of lines), so stdout fills fast: "flood line 1" to "flood line
 * 240", over and over. For a stdout that is closed early (`| head -n1`) or
 * never read: quanta must end cleanly or park the VM, never die of SIGPIPE
 * or block in write(2).
 */
#include <quanta/guest.h>
#include <quanta/hypercall.h>

static char buf[4096];

int main(void)
{
    static const char text[] = "flood line ";
    unsigned n = 0;
    /* Formatted once: the guest's time goes into printing. */
    for (uint64_t line = 1; n + 40 < sizeof buf; line++) {
        for (unsigned i = 0; i < sizeof text - 1; i++)
            buf[n++] = text[i];
        n += q_format_u64(buf + n, line);
        buf[n++] = '\n';
    }
    for (;;)
        quanta_write(buf, n);
}

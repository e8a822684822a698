/*
 * bad-port: touches port 0x80, which quanta does not emulate. By default
 * quanta stops at the IN and exits 1; with --unknown-ports ignore the IN
 * reads all ones (0xff), the OUT is dropped and the guest finishes.
 */
#include <quanta/guest.h>

#define UNKNOWN_PORT 0x80

int main(void)
{
    q_puts("before\n");
    uint8_t v = inb(UNKNOWN_PORT);
    q_puts("in=");
    q_put_hex(v);
    q_putc('\n');
    outb(UNKNOWN_PORT, 0x42);
    q_puts("after\n");
    return 0;
}

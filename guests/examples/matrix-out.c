/*
 * matrix-out: writes 1 to 5 to Neo's counter port (0x10) with outb, then
 * 70000 to Morpheus's (0x11) with outl, and halts: what --echo-ports shows
 * in the Matrix assignment's form ("out port: 16, data: 1").
 */
#include <quanta/guest.h>

int main(void)
{
    for (uint8_t i = 1; i <= 5; ++i)
        outb(QUANTA_PORT_COUNTER_NEO, i);
    outl(QUANTA_PORT_COUNTER_MORPHEUS, 70000);
    q_puts("done\n");
    return 0;
}

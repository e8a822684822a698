/*
 * repin64: reads exactly 8 bytes of input with a single `rep insb` and
 * writes them back with a single `rep outsb` (string I/O in both
 * directions). Bytes past the end of input read as 0xFF.
 */
#include <quanta/guest.h>

int main(void)
{
    static char buf[8];
    q_rep_insb(QUANTA_PORT_SERIAL, buf, sizeof buf);
    q_rep_outsb(QUANTA_PORT_SERIAL, buf, sizeof buf);
    return 0;
}

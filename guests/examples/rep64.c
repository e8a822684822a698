/*
 * rep64: the whole message goes out with a single `rep outsb` (one exit
 * carrying a count of 7), which quanta's port bus must split into bytes.
 */
#include <quanta/guest.h>

int main(void)
{
    static const char msg[] = "rep ok\n";
    q_rep_outsb(QUANTA_PORT_SERIAL, msg, sizeof msg - 1);
    return 0;
}

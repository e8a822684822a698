/*
 * exitcode: main's return value is the VM's exit status (the SDK's start
 * code passes a non-zero one to the native exit call; 0 halts). Reads a
 * decimal number from standard input, prints it and returns it.
 */
#include <quanta/guest.h>

int main(void)
{
    uint32_t status = 0;
    for (int c = q_getc(); c >= '0' && c <= '9'; c = q_getc())
        status = status * 10 + (uint32_t)(c - '0');
    q_puts("returning ");
    q_put_u64(status);
    q_putc('\n');
    return (int)status;
}

/*
 * hcbadsize64: an assignment hypercall port used with the wrong size or
 * direction stops the VM (quanta says which port, size and direction).
 * The first byte of standard input picks the access:
 *
 *   b  outb to 0xEB (HC_print32bit takes outl)
 *   w  outw to 0xEA
 *   i  inl from 0xEA (an OUT-only port)
 *   o  outl to 0xEC (an IN-only port)
 *   l  inb from 0xEF
 *
 * It prints "before" first and "after" if the access returned (it must not).
 */
#include <quanta/hypercall.h>

int main(void)
{
    int c = q_getc();
    q_puts("before\n");
    switch (c) {
    case 'b':
        outb(QUANTA_PORT_HC_PRINT32, 42);
        break;
    case 'w':
        outw(QUANTA_PORT_HC_PRINT_STR, 0x1000);
        break;
    case 'i':
        (void)inl(QUANTA_PORT_HC_PRINT_STR);
        break;
    case 'o':
        outl(QUANTA_PORT_HC_NUM_EXITS, 1);
        break;
    case 'l':
        (void)inb(QUANTA_PORT_HC_HVA);
        break;
    default:
        q_puts("no access chosen\n");
        break;
    }
    q_puts("after\n");
    return 0;
}

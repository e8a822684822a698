/*
 * hc695-64 / hc695-32 / hc695-16: the CS695 assignment's hypercall test
 * program (part 1b), built unchanged for long, protected/paged and real
 * mode. The middle section is the one the assignment's grading script
 * checks; with quanta it must print, in every mode:
 *
 *   Hello 695!              11 x HC_print8bit      11 OUT exits
 *   2048                    HC_print32bit          12
 *   4294967295              HC_print32bit          13
 *   CS695 Assignment 2      (num_exits_a = 14: the IN carrying it counts)
 *   14                      num_exits_b = 16 (HC_printStr was 15)
 *   16
 *   HC_gvaToHva: GVA 0x400 -> GPA 0x400 -> HVA 0x...   (printed by quanta)
 *   <low 32 bits of that HVA, in decimal>
 *   HC_gvaToHva: 0xffffffff: <why it is not translatable>
 *   0
 *   IO in: 3                firststr: taken right after printing 14 and 16
 *   IO out: 16
 *   IO in: 6                secondstr: a second slot, firststr intact
 *   IO out: 20
 *
 * then HLT (quanta: "halted after 29 exits").
 */
#include <quanta/hypercall.h>

int main(void)
{
    const char *p;

    for (p = "Hello 695!\n"; *p; ++p)
        HC_print8bit(*p);

    /*----------Don't modify this section. We will use grading script---------*/
    HC_print32bit(2048);
    HC_print32bit(4294967295);

    uint32_t num_exits_a, num_exits_b;
    num_exits_a = HC_numExits();

    char *str = "CS695 Assignment 2\n";
    HC_printStr(str);

    num_exits_b = HC_numExits();

    HC_print32bit(num_exits_a);
    HC_print32bit(num_exits_b);

    char *firststr = HC_numExitsByType();
    uint32_t hva;
    hva = HC_gvaToHva(1024);
    HC_print32bit(hva);
    hva = HC_gvaToHva(4294967295);
    HC_print32bit(hva);
    char *secondstr = HC_numExitsByType();

    HC_printStr(firststr);
    HC_printStr(secondstr);
    /*------------------------------------------------------------------------*/

    /* The assignment's guest also stores 42 at 0x400 for its hypervisor to
     * check; quanta does not look, and in real mode 0x400 may be our code. */
    q_halt();
}

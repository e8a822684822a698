/*
 * hcspin64: host preemption is not an exit the guest caused. HC_numExits,
 * then a busy loop long enough to be preempted many times when run with
 * other VMs and a short --quantum, then HC_numExits and HC_numExitsByType
 * again. Whatever the scheduling prints:
 *
 *   1
 *   2
 *   IO in: 3
 *   IO out: 0
 *
 * (the text is taken before the two values are printed) and halts after
 * 7 exits; the report's exits.intr shows the kicks the loop took.
 */
#include <quanta/hypercall.h>

int main(void)
{
    uint32_t before = HC_numExits();
    for (volatile uint32_t i = 0; i < 10000000u; i = i + 1)
        ;
    uint32_t after = HC_numExits();
    char *text = HC_numExitsByType();
    HC_print32bit(before);
    HC_print32bit(after);
    HC_printStr(text);
    return 0;
}

/*
 * ioloop64: exactly N port writes then HLT, for measuring the cost of one
 * I/O exit (the benchmark runs it under quanta and under a minimal KVM_RUN
 * loop with the same image).
 */
#include <quanta/guest.h>

int main(void)
{
	uint32_t n = 20000;
	for (uint32_t i = 0; i < n; ++i)
		outl(QUANTA_PORT_COUNTER_NEO, i);
	return 0;
}

/*
 * count64: a CPU-bound long-mode counter that reports its work. It does
 * fixed blocks of arithmetic and writes the number of blocks done to port
 * 0x10 after each, so the report's work column counts blocks: under a fair
 * scheduler work per CPU second is the same for every VM, whatever its
 * share. Never halts: stop it with --duration or a signal.
 */
#include <quanta/guest.h>

#define BLOCK_ITERATIONS 200000u

int main(void)
{
	uint32_t blocks = 0;
	volatile uint32_t sink = 0;
	for (;;) {
		uint32_t x = blocks;
		for (uint32_t i = 0; i < BLOCK_ITERATIONS; ++i)
			x = x * 1664525u + 1013904223u;
		sink = x;
		outl(QUANTA_PORT_COUNTER_NEO, ++blocks);
	}
	return (int)sink;
}

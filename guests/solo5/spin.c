// A CPU-bound Solo5 unikernel for quanta's share experiments: it counts
// loop iterations forever (quanta's --duration ends the run) and, when a
// limit in millions is given on the command line, stops there and prints
// its count. It makes no hypercall while it spins, so the only thing that
// takes the CPU away from it is the host's slice timer.
#include "solo5.h"

static unsigned long long parse(const char *s)
{
	unsigned long long v = 0;
	while (*s >= '0' && *s <= '9')
		v = v * 10 + (unsigned long long)(*s++ - '0');
	return v;
}

static void put(const char *s)
{
	size_t n = 0;
	while (s[n])
		n++;
	solo5_console_write(s, n);
}

static void putNumber(unsigned long long v)
{
	char buf[24];
	int i = sizeof(buf);
	buf[--i] = 0;
	do {
		buf[--i] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	put(&buf[i]);
}

int solo5_app_main(const struct solo5_start_info *si)
{
	unsigned long long limit = parse(si->cmdline) * 1000000ull;
	volatile unsigned long long count = 0;
	put("spin: started\n");
	while (limit == 0 || count < limit)
		count = count + 1;
	put("spin: ");
	putNumber(count);
	put(" iterations\nSUCCESS\n");
	return SOLO5_EXIT_SUCCESS;
}

// A Solo5 unikernel that sleeps: ROUNDS times it waits in solo5_yield for
// PERIOD milliseconds (command line "ROUNDS PERIOD", default "10 100") and
// then prints how late it woke, at most and on average, measured on its own
// monotonic (TSC-based) clock. Parked in poll, it should use no CPU at all.
#include "solo5.h"

static const char *parse(const char *s, unsigned long long *v)
{
	*v = 0;
	while (*s == ' ')
		s++;
	while (*s >= '0' && *s <= '9')
		*v = *v * 10 + (unsigned long long)(*s++ - '0');
	return s;
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
	unsigned long long rounds, periodMs;
	parse(parse(si->cmdline, &rounds), &periodMs);
	if (rounds == 0)
		rounds = 10;
	if (periodMs == 0)
		periodMs = 100;
	unsigned long long worstLateUs = 0, totalLateUs = 0;
	for (unsigned long long i = 0; i < rounds; i++) {
		solo5_time_t deadline = solo5_clock_monotonic() + periodMs * 1000000ull;
		solo5_time_t now;
		do {
			solo5_yield(deadline, NULL);
			now = solo5_clock_monotonic();
		} while (now < deadline);
		unsigned long long lateUs = (now - deadline) / 1000;
		totalLateUs += lateUs;
		if (lateUs > worstLateUs)
			worstLateUs = lateUs;
	}
	put("sleep: ");
	putNumber(rounds);
	put(" rounds of ");
	putNumber(periodMs);
	put(" ms, woke at most ");
	putNumber(worstLateUs);
	put(" us late, ");
	putNumber(totalLateUs / rounds);
	put(" us on average\nSUCCESS\n");
	return SOLO5_EXIT_SUCCESS;
}

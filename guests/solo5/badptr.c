// A misbehaving Solo5 unikernel: after a first line it hands the console a
// pointer far outside its memory. The host must stop this VM alone, with
// one line, and never read out of bounds.
#include "solo5.h"

int solo5_app_main(const struct solo5_start_info *si __attribute__((unused)))
{
	solo5_console_write("badptr: about to pass a bad pointer\n", 36);
	solo5_console_write((const char *)0x7ff00000ul, 64);
	solo5_console_write("badptr: still running (wrong)\n", 30);
	return SOLO5_EXIT_SUCCESS;
}

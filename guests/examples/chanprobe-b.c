/* chanprobe-b: the b side of chanprobe.c. */
#define PROBE_B 1
#include "chanprobe.c"

/* producer-3k: the producer of the producer-consumer demo with 3000 items,
 * for the invariant tests and the benchmark (see producer.c). */
#define PC_ITEMS 3000u
#include "producer.c"

// --realtime: quanta's thread under SCHED_FIFO, so ordinary (CFS) tasks on
// its CPU no longer take it off in the middle of a slice (host steal).
#pragma once

#include <string>

namespace quanta {

struct RealtimeOutcome {
	bool granted = false;
	int priority = 0;    // the SCHED_FIFO priority, when granted
	std::string refusal; // why not, when refused: one phrase
};

// Puts the calling thread under SCHED_FIFO at the lowest real-time
// priority (above every normal task, below the kernel's own RT threads;
// the kernel's RT throttling still leaves others 5% of the CPU).
RealtimeOutcome enterRealtime();

} // namespace quanta

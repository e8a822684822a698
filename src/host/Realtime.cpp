#include "host/Realtime.h"

#include <cerrno>
#include <cstring>
#include <fmt/format.h>
#include <pthread.h>
#include <sched.h>

namespace quanta {

RealtimeOutcome enterRealtime()
{
	RealtimeOutcome outcome;
	sched_param param{};
	param.sched_priority = ::sched_get_priority_min(SCHED_FIFO);
	if (int err = ::pthread_setschedparam(::pthread_self(), SCHED_FIFO, &param)) {
		outcome.refusal = err == EPERM ? fmt::format("SCHED_FIFO refused: {} (needs root, CAP_SYS_NICE or an "
							     "RLIMIT_RTPRIO of at least {})",
							     std::strerror(err), param.sched_priority)
					       : fmt::format("SCHED_FIFO refused: {}", std::strerror(err));
		return outcome;
	}
	outcome.granted = true;
	outcome.priority = param.sched_priority;
	return outcome;
}

} // namespace quanta

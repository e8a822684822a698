// The one clock quanta measures with: CLOCK_MONOTONIC in nanoseconds.
#pragma once

#include <ctime>

#include "base/Nanos.h"

namespace quanta {

inline Nanos monotonicNow()
{
	timespec ts;
	::clock_gettime(CLOCK_MONOTONIC, &ts);
	return Nanos{ ts.tv_sec } * 1'000'000'000 + ts.tv_nsec;
}

} // namespace quanta

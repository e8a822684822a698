// Monotonic time and durations, always in nanoseconds: the one definition
// every layer shares (the pure scheduler included, which never reads a clock).
#pragma once

#include <cstdint>

namespace quanta {

using Nanos = std::int64_t;

} // namespace quanta

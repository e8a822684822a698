// SPDX-License-Identifier: MIT
// Scheduling policies and the reasons a vCPU slice can end.
//
// Pure definitions: nothing here touches KVM or a clock.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>

#include "base/Nanos.h"

namespace quanta::sched {

enum class Policy {
	Io,         // run until the next I/O exit, then the next VM; no timer
	RoundRobin, // one quantum each in turn; I/O exits are handled inline
	Fractional, // weight_i consecutive quanta each, in turn
	Stride,     // proportional share of measured CPU time (default)
};

inline constexpr Policy kDefaultPolicy = Policy::Stride;

// Accepts the CLI names "io", "rr", "frac" and "stride".
std::optional<Policy> parsePolicy(std::string_view name);
std::string_view policyName(Policy policy);

enum class SliceEnd {
	Timer,  // the slice's budget ran out (timer signal kicked KVM_RUN)
	IoExit, // port/MMIO exit; ends the slice only under Policy::Io
	Yield,  // the guest gave up the rest of its slice
	Park,   // the guest waits for input or a peer: not runnable
	Halt,   // the guest halted: removed for good
	Fault,  // the guest faulted: removed for good
	Stop,   // the host cut the slice short (e.g. shutdown); still runnable
};

inline constexpr std::size_t kSliceEndCount = 7;

std::string_view sliceEndName(SliceEnd why);

// Whether an exit of kind \a why ends the current slice under \a policy.
// Only IoExit depends on the policy: the other policies service the exit
// inline and re-enter KVM_RUN while the slice's timer keeps running.
bool endsSlice(Policy policy, SliceEnd why);

// Whether slices under \a policy have a timer budget (all but Io).
bool hasBudget(Policy policy);

} // namespace quanta::sched

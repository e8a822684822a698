// SPDX-License-Identifier: MIT
#include "sched/Policy.h"

namespace quanta::sched {

std::optional<Policy> parsePolicy(std::string_view name)
{
	if (name == "io")
		return Policy::Io;
	if (name == "rr")
		return Policy::RoundRobin;
	if (name == "frac")
		return Policy::Fractional;
	if (name == "stride")
		return Policy::Stride;
	return std::nullopt;
}

std::string_view policyName(Policy policy)
{
	switch (policy) {
	case Policy::Io:
		return "io";
	case Policy::RoundRobin:
		return "rr";
	case Policy::Fractional:
		return "frac";
	case Policy::Stride:
		return "stride";
	}
	return "?";
}

std::string_view sliceEndName(SliceEnd why)
{
	switch (why) {
	case SliceEnd::Timer:
		return "timer";
	case SliceEnd::IoExit:
		return "io-exit";
	case SliceEnd::Yield:
		return "yield";
	case SliceEnd::Park:
		return "park";
	case SliceEnd::Halt:
		return "halt";
	case SliceEnd::Fault:
		return "fault";
	case SliceEnd::Stop:
		return "stop";
	}
	return "?";
}

bool endsSlice(Policy policy, SliceEnd why)
{
	if (why == SliceEnd::IoExit)
		return policy == Policy::Io;
	return true;
}

bool hasBudget(Policy policy)
{
	return policy != Policy::Io;
}

} // namespace quanta::sched

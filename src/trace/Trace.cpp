#include "trace/Trace.h"

#include <algorithm>
#include <fmt/format.h>
#include <linux/kvm.h>

namespace quanta::trace {

// What the loop appends per slice and per KVM_RUN (the README quotes these).
static_assert(sizeof(SliceEvent) == 40);
static_assert(sizeof(ExitEvent) == 32);

std::optional<Level> parseLevel(std::string_view name)
{
	if (name == "slices")
		return Level::Slices;
	if (name == "exits")
		return Level::Exits;
	return std::nullopt;
}

std::string_view levelName(Level level)
{
	return level == Level::Exits ? "exits" : "slices";
}

std::string exitReasonName(std::uint32_t reason)
{
	switch (reason) {
	case KVM_EXIT_IO:
		return "io";
	case KVM_EXIT_HLT:
		return "hlt";
	case KVM_EXIT_MMIO:
		return "mmio";
	case KVM_EXIT_SHUTDOWN:
		return "shutdown";
	case KVM_EXIT_FAIL_ENTRY:
		return "fail-entry";
	case KVM_EXIT_INTERNAL_ERROR:
		return "internal-error";
	case KVM_EXIT_INTR:
		return "intr";
	}
	return fmt::format("exit {}", reason);
}

std::string exitName(const ExitEvent &event)
{
	if (event.reason == KVM_EXIT_IO)
		return fmt::format("io {} {:#x}", event.out ? "out" : "in", event.port);
	return exitReasonName(event.reason);
}

std::vector<VmTotals> totalsByVm(const TraceData &data)
{
	std::vector<VmTotals> totals(data.vms.size());
	for (const SliceEvent &slice : data.slices) {
		if (slice.vm >= totals.size())
			totals.resize(slice.vm + 1);
		++totals[slice.vm].slices;
		// Saturating: a trace read from a file may hold any values.
		Nanos &ran = totals[slice.vm].ran;
		if (__builtin_add_overflow(ran, slice.ran, &ran))
			ran = slice.ran < 0 ? INT64_MIN : INT64_MAX;
	}
	return totals;
}

Tracer::Tracer(Level level, std::size_t expectedSlices)
{
	data_.level = level;
	data_.slices.reserve(expectedSlices);
	// All of it, up front and touched: the loop then never copies a large
	// vector mid-slice nor takes a page fault per 128 events (measured:
	// in the KVM sandbox those faults tripled the cost of exit tracing).
	// 32 MB of memory, only at --trace-level exits.
	if (level == Level::Exits) {
		data_.exits.resize(kMaxExitEvents);
		data_.exits.clear();
	}
}

std::size_t expectedSlices(std::optional<Nanos> duration, Nanos quantum, std::size_t vms)
{
	constexpr std::size_t kUnknown = 1 << 16;
	constexpr std::size_t kMost = 1 << 22;
	if (!duration || quantum <= 0)
		return kUnknown;
	// Slices end early on I/O (policy io), parking and yields; a quarter
	// more than the timer alone would give covers the common runs, and the
	// vector still grows if a run needs more.
	auto timerSlices = static_cast<std::size_t>(*duration / quantum);
	return std::min(kMost, timerSlices + timerSlices / 4 + 64 + vms);
}

} // namespace quanta::trace

#include "loop/Slice.h"

#include <algorithm>
#include <fmt/format.h>

namespace quanta {

const char *vmStatusName(VmStatus status)
{
	switch (status) {
	case VmStatus::Running:
		return "running";
	case VmStatus::Halted:
		return "halted";
	case VmStatus::Faulted:
		return "faulted";
	case VmStatus::Failed:
		return "failed";
	case VmStatus::Stopped:
		return "stopped";
	}
	return "?";
}

std::optional<Nanos> sliceDeadline(Nanos start, std::optional<Nanos> budget, std::size_t liveVms,
				   std::optional<Nanos> loneSliceLimit, std::optional<Nanos> runDeadline,
				   std::optional<Nanos> wakeDeadline)
{
	std::optional<Nanos> deadline;
	if (budget && liveVms > 1)
		deadline = start + *budget;
	else if (budget && loneSliceLimit)
		deadline = start + *loneSliceLimit;
	if (runDeadline)
		deadline = deadline ? std::min(*deadline, *runDeadline) : *runDeadline;
	if (wakeDeadline) {
		Nanos wake = std::max(*wakeDeadline, start);
		deadline = deadline ? std::min(*deadline, wake) : wake;
	}
	return deadline;
}

bool continueBatch(Nanos batchStart, Nanos now, Nanos batchLimit, sched::SliceEnd lastEnd,
		   std::optional<Nanos> wakeDeadline)
{
	if (lastEnd == sched::SliceEnd::Stop)
		return false;
	if (wakeDeadline && *wakeDeadline <= now)
		return false;
	return now - batchStart < batchLimit;
}

SliceVerdict classifyExit(const ExitOutcome &outcome, sched::Policy policy, bool kicked, std::uint64_t guestExits)
{
	using sched::SliceEnd;
	switch (outcome.action) {
	case ExitAction::Continue:
		if (outcome.ioExit && sched::endsSlice(policy, SliceEnd::IoExit))
			return { SliceEnd::IoExit };
		return {};
	case ExitAction::Interrupted:
		return { kicked ? SliceEnd::Timer : SliceEnd::Stop };
	case ExitAction::Park:
		return { SliceEnd::Park };
	case ExitAction::Yield:
		return { SliceEnd::Yield };
	case ExitAction::Halt:
		return { SliceEnd::Halt, VmStatus::Halted, {}, fmt::format("halted after {} exits", guestExits) };
	case ExitAction::Exit:
		return { SliceEnd::Halt, outcome.exitStatus == 0 ? VmStatus::Halted : VmStatus::Failed,
			 fmt::format("exit status {}", outcome.exitStatus),
			 fmt::format("exited with status {} after {} exits", outcome.exitStatus, guestExits) };
	case ExitAction::Fault: {
		SliceVerdict verdict{ SliceEnd::Fault, VmStatus::Faulted, outcome.diagnosis, "stopped: " + outcome.diagnosis };
		verdict.hostCannotRun = outcome.hostCannotRun;
		return verdict;
	}
	}
	return { SliceEnd::Stop };
}

} // namespace quanta

// The pure parts of a slice (see RunLoop::runSlice and the protocol in
// sched/Scheduler.h): when it must end, and what an exit outcome means for
// it. No clock, no KVM: unit-tested in tests/unit/test_slice.cpp.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <utility>

#include "base/Nanos.h"
#include "kvm/ExitOutcome.h"
#include "sched/Policy.h"

namespace quanta {

// How a VM's run went. While the run lasts the scheduler owns whether a VM
// is ready, running or parked (sched::VmState); this says how it ended.
enum class VmStatus {
	Running, // not ended (yet)
	Halted,  // HLT, or the exit hypercall with status 0
	Failed,  // the exit hypercall with a non-zero status
	Faulted, // stopped by quanta with a diagnosis
	Stopped, // still running when the run ended
};

const char *vmStatusName(VmStatus status);

// The absolute time the slice timer must fire, or nullopt for no timer.
// budget: the scheduler's (nullopt under io); a lone VM has nobody to yield
// to and gets no timer, unless loneSliceLimit asks for one (the status line
// is redrawn between slices); the run's own end (--duration) cuts any slice.
// wakeDeadline: the earliest time a parked VM must wake (an hvt poll
// deadline); it cuts any slice too, so a sleeper beside a spinner wakes on
// time however long the spinner's slice (or lack of one) would be. A wake
// time already passed ends the slice at once.
std::optional<Nanos> sliceDeadline(Nanos start, std::optional<Nanos> budget, std::size_t liveVms,
				   std::optional<Nanos> loneSliceLimit, std::optional<Nanos> runDeadline,
				   std::optional<Nanos> wakeDeadline = std::nullopt);

// Several slices per libev iteration: after a slice the loop goes back to
// libev (one epoll_wait for input, signals, timers and writable pipes) only
// when it must. The next slice runs at once unless the batch begun at
// batchStart has lasted batchLimit (so input and timers wait at most that
// long), the slice ended for a signal (Stop), or a parked VM's wake-up time
// (an hvt poll deadline, whose libev timer wakes it) has come.
bool continueBatch(Nanos batchStart, Nanos now, Nanos batchLimit, sched::SliceEnd lastEnd,
		   std::optional<Nanos> wakeDeadline);

// What one exit outcome means for the slice.
struct SliceVerdict {
	SliceVerdict(std::optional<sched::SliceEnd> end = std::nullopt, VmStatus status = VmStatus::Running,
		     std::string diagnosis = {}, std::string message = {})
		: end(end), status(status), diagnosis(std::move(diagnosis)), message(std::move(message))
	{
	}

	std::optional<sched::SliceEnd> end;  // nullopt: re-enter the guest
	VmStatus status = VmStatus::Running; // not Running: the VM has ended
	std::string diagnosis;               // for the report, with an ended status
	std::string message;                 // one line for stderr ("halted after 9 exits"), or empty
	bool hostCannotRun = false;          // a fault: this host's KVM cannot run the guest's mode
};

// kicked: the slice timer's signal ended KVM_RUN (for Interrupted; any
// other signal ends the slice as Stop so the loop sees it). guestExits: the
// VM's exit count so far, for the message.
SliceVerdict classifyExit(const ExitOutcome &outcome, sched::Policy policy, bool kicked, std::uint64_t guestExits);

} // namespace quanta

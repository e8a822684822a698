// What handling one KVM exit came to: a closed set of actions for the run
// loop, with everything it needs to act on them (the guest's exit status,
// why a parked vCPU waits, a fault's one-line diagnosis). Plain values: the
// devices, the exit handler, the loop and the observers all speak it.
#pragma once

#include <cstdint>
#include <string>
#include <utility>

namespace quanta {

enum class ExitAction {
	Continue,    // handled; re-enter the guest
	Interrupted, // a host signal ended KVM_RUN (slice timer, SIGINT)
	Park,        // waits for something (parkReason); retry the exit when woken
	Halt,        // the guest finished (HLT)
	Exit,        // the guest called the exit hypercall (status in exitStatus)
	Yield,       // the guest gave up the rest of its slice
	Fault,       // the guest did something fatal; diagnosis says what
};

// What a parked vCPU waits for; each reason has its own wake-up path in the
// run loop. A new kind of wait adds a reason here and a wake-up there.
enum class ParkReason {
	Input,   // standard input (serial IN with nothing typed yet)
	Channel, // a peer VM on a channel (send to a full, receive from an empty one)
	Output,  // stdout: the console's queue is full (a slow reader) or closed
	Poll,    // a Solo5 hvt guest in poll: its deadline, or a frame for its net devices
};

struct ExitOutcome {
	ExitOutcome(ExitAction action = ExitAction::Continue, std::string diagnosis = {})
		: action(action), diagnosis(std::move(diagnosis))
	{
	}

	ExitAction action;
	std::string diagnosis;        // Fault only: one line
	bool ioExit = false;          // the exit was port I/O (ends the slice under `io`)
	ParkReason parkReason{};      // Park only
	std::uint32_t exitStatus = 0; // Exit only: what the guest passed
	bool hostCannotRun = false;   // Fault only: this host's KVM cannot run the guest's mode (exit 3)

	static ExitOutcome fault(std::string diagnosis) { return { ExitAction::Fault, std::move(diagnosis) }; }
	static ExitOutcome park(ParkReason reason)
	{
		ExitOutcome outcome(ExitAction::Park);
		outcome.parkReason = reason;
		return outcome;
	}
	static ExitOutcome exit(std::uint32_t status)
	{
		ExitOutcome outcome(ExitAction::Exit);
		outcome.exitStatus = status;
		return outcome;
	}
};

inline const char *parkReasonName(ParkReason reason)
{
	switch (reason) {
	case ParkReason::Input:
		return "input";
	case ParkReason::Channel:
		return "channel";
	case ParkReason::Output:
		return "stdout";
	case ParkReason::Poll:
		return "poll";
	}
	return "?";
}

} // namespace quanta

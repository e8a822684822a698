// --explain: quanta narrates, in order, every KVM call it makes to set up
// each VM and the first slices of the run loop, one line each with the
// reason. It is the flowchart of a KVM hypervisor (CS695 assignment 1, part
// 1a) as a live trace; docs/architecture.md draws the same flow.
//
// The setup ioctls are reported by kvmIoctl itself through the IoctlObserver
// this class provides, so the list cannot drift from what quanta really
// does; the run loop calls the slice/exit hooks, which stop printing (and
// cost one branch) after the first slices.
#pragma once

#include <cstdint>
#include <cstdio>
#include <optional>
#include <string>
#include <string_view>

#include "kvm/Ioctl.h"
#include "sched/Policy.h"

namespace quanta {
class Machine;
struct ExitOutcome;
struct PreparedGuest;
} // namespace quanta

namespace quanta::trace {

class Explain {
public:
	static constexpr std::size_t kDefaultSlices = 8;
	// Exits told per slice; the rest are counted in the slice's last line.
	static constexpr std::uint32_t kExitsPerSlice = 3;

	explicit Explain(std::FILE *out, std::size_t slices = kDefaultSlices);

	// The reason for a setup call, by the name kvmIoctl gives it.
	static std::string_view reason(std::string_view call);

	// For the Kvm constructor: prints every setup call as it returns.
	IoctlObserver observer();

	// Narration between the calls (from Run.cpp, in program order).
	void begin();
	void vmSetup(std::size_t index, const PreparedGuest &guest, std::string_view imagePath);
	void loopSetup(std::string_view policy, Nanos quantum, std::optional<Nanos> duration, std::size_t vms);
	void runStarting();

	// From the run loop.
	bool active() const { return slicesLeft_ > 0; }
	void sliceStarted(const Machine &machine, sched::Policy policy, std::optional<Nanos> timer);
	void exitHandled(Machine &machine, const ExitOutcome &outcome, Nanos ran, bool retried);
	void sliceEnded(const Machine &machine, sched::SliceEnd why, Nanos length, Nanos ran,
			std::uint32_t runs);
	void idle();

private:
	void step(std::string_view text);
	void note(std::string_view text);

	std::FILE *out_;
	std::size_t slicesLeft_;
	std::size_t slicesTold_ = 0;
	unsigned steps_ = 0;
	std::uint32_t exitsTold_ = 0;   // in the current slice
	std::uint32_t exitsHidden_ = 0; // not told yet: summed up in one line
};

} // namespace quanta::trace

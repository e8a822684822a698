// --explain: quanta narrates, in order, every KVM call it makes to set up
// each VM and the first slices of the run loop, one line each with the
// reason. It is the flowchart of a KVM hypervisor (CS695 assignment 1, part
// 1a) as a live trace; docs/architecture.md draws the same flow.
//
// The setup ioctls are reported by kvmIoctl itself through the IoctlObserver
// this class provides, so the list cannot drift from what quanta really
// does; the run loop tells it slices and exits as a LoopObserver, and it
// stops printing (costing one branch) after the first slices.
#pragma once

#include <cstdint>
#include <cstdio>
#include <optional>
#include <string>
#include <string_view>

#include "boot/Boot.h"
#include "boot/Image.h"
#include "kvm/Ioctl.h"
#include "sched/Policy.h"
#include "trace/Trace.h"

namespace quanta::trace {

class Explain final : public LoopObserver {
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
	// Before the KVM_CREATE_VM of every guest, made ahead of their vCPUs.
	void vmsCreated(std::size_t vms);
	void vmSetup(std::size_t index, std::string_view name, std::string_view imagePath, ImageFormat format,
		     CpuMode mode, std::uint64_t memoryBytes);
	void loopSetup(std::string_view policy, Nanos quantum, std::optional<Nanos> duration, std::size_t vms);
	// batchLimit: how long the loop runs slices back to back (LoopConfig).
	void runStarting(Nanos batchLimit);

	// From the run loop.
	bool active() const { return slicesLeft_ > 0; }
	void sliceStarted(const SliceStart &slice) override;
	void exitHandled(const ExitSeen &exit) override;
	void sliceEnded(const SliceEvent &slice, std::string_view vmName) override;
	void idle() override;

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

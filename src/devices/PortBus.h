// The port-I/O bus: devices register a port range and see only
// (offset, data). Overlapping ranges are rejected at registration; `rep
// ins/outs` element counts are handled here, so devices never see them.
#pragma once

#include <cstdint>
#include <linux/kvm.h>
#include <map>
#include <span>
#include <string>

#include "kvm/ExitOutcome.h"

namespace quanta {

// The io member of kvm_run (a port access: direction, size, port, count).
using KvmIoExit = decltype(kvm_run::io);

enum class IoStatus {
	Done,    // access complete
	Blocked, // would block (no input yet): park the vCPU and retry later
	Error,   // the guest misused the device: stop this VM
	Yield,   // done; the guest gives up the rest of its slice
	Stop,    // done; the guest asked to stop (exit hypercall)
};

class PortDevice {
public:
	virtual ~PortDevice() = default;
	// `data` has the access size (1, 2 or 4 bytes); IN fills it.
	virtual IoStatus portIn(std::uint16_t offset, std::span<std::uint8_t> data) = 0;
	virtual IoStatus portOut(std::uint16_t offset, std::span<const std::uint8_t> data) = 0;
	// Why the last access returned Error (one line).
	virtual std::string lastError() const { return "device error"; }
	// What the last access that returned Blocked waits for.
	virtual ParkReason blockedOn() const { return ParkReason::Input; }
	// The status the guest asked to stop with, after Stop.
	virtual std::uint32_t stopStatus() const { return 0; }
};

enum class UnknownPortPolicy {
	Fault,  // stop the VM with a diagnosis
	Ignore, // count it; IN reads all ones
};

class PortBus {
public:
	struct Result {
		IoStatus status;
		bool unknownPort = false;
		std::string error;          // set when status is Error
		ParkReason parkReason{};    // set when status is Blocked
		std::uint32_t stopStatus{}; // set when status is Stop
	};

	// Throws std::invalid_argument if [base, base + count) overlaps a range
	// already registered or wraps past port 0xffff.
	void attach(std::uint16_t base, std::uint16_t count, PortDevice &device, std::string name);

	void setUnknownPortPolicy(UnknownPortPolicy policy) { unknownPolicy_ = policy; }
	std::uint64_t unknownPortCount() const { return unknownCount_; }

	// Dispatches the KVM_EXIT_IO described by io; data is its data area
	// (io.count elements of io.size bytes; IN fills it). After Blocked the
	// same exit may be handed in again: it resumes at the element that
	// blocked.
	Result dispatch(const KvmIoExit &io, std::span<std::uint8_t> data);

	// Single access, for tests and for devices that forward.
	Result access(std::uint16_t port, bool isOut, std::span<std::uint8_t> data);

	const std::string *deviceName(std::uint16_t port) const;

private:
	struct Range {
		std::uint16_t count;
		PortDevice *device;
		std::string name;
	};

	const std::pair<const std::uint16_t, Range> *find(std::uint16_t port) const;

	std::map<std::uint16_t, Range> ranges_; // keyed by base port
	UnknownPortPolicy unknownPolicy_ = UnknownPortPolicy::Fault;
	std::uint64_t unknownCount_ = 0;
	std::uint32_t resumeIndex_ = 0; // next rep element after a Blocked
};

} // namespace quanta

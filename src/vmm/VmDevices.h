// Everything an exit is handled with, apart from KVM: the port bus, the
// devices on it and the exit counters of one VM. Built on a GuestContext
// (memory, pointer translation, console), so tests make one without
// /dev/kvm and feed it synthetic exits (see Exit.h).
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include "base/VmId.h"
#include "devices/AssignmentHypercalls.h"
#include "devices/ExitStats.h"
#include "devices/GuestContext.h"
#include "devices/NativeHypercalls.h"
#include "devices/PortBus.h"
#include "devices/Serial.h"
#include "devices/WorkCounter.h"
#include "files/FileDevice.h"
#include "host/Console.h"
#include "host/Input.h"
#include "hvt/HvtDevices.h"

namespace quanta {

struct DeviceOptions {
	UnknownPortPolicy unknownPorts = UnknownPortPolicy::Fault;
	std::uint64_t seed = 0;               // what the random hypercall returns
	const FileStore *files = nullptr;     // shared and local files (port 0x278)
	VmIndex vm{ 0 };                      // position in the run; .local<guest ID> files
	ChannelHub *channels = nullptr;       // channels between VMs (--channel)
	AssignmentPorts hypercallPorts;       // --hypercall-ports
	std::vector<std::uint16_t> echoPorts; // --echo-ports: OUTs printed "out port: P, data: V"
};

class VmDevices {
public:
	// scratch: the reserved area the assignment hypercalls write results to.
	VmDevices(GuestContext &guest, Console &console, std::size_t consoleId, InputSource &input,
		  GuestPhysAddr scratch, const DeviceOptions &options);
	VmDevices(const VmDevices &) = delete;
	VmDevices &operator=(const VmDevices &) = delete;

	PortBus &bus() { return bus_; }
	const PortBus &bus() const { return bus_; }
	ExitStats &stats() { return stats_; }
	const ExitStats &stats() const { return stats_; }
	const WorkCounter &work() const { return work_; }
	std::uint64_t memoryBytes() const { return guest_.memory().size(); }

	// --echo-ports: prints an OUT to an echoed port (every element of a
	// string OUT) before it is handled.
	void echoOut(const KvmIoExit &io, std::span<const std::uint8_t> data);

	// The guest stopped for good: its files are synced and closed (and
	// held-back warnings counted).
	void release();

	// A Solo5 hvt guest: its device set replaces the native one on the bus
	// (its hypercall ports are where quanta's native ones are).
	void useHvt(std::unique_ptr<hvt::HvtHypercalls> hvt);
	hvt::HvtHypercalls *hvt() { return hvt_.get(); }
	const hvt::HvtHypercalls *hvt() const { return hvt_.get(); }

private:
	GuestContext &guest_;
	ExitStats stats_;
	Serial serial_;
	WorkCounter work_;
	AssignmentHypercalls assignment_;
	NativeHypercalls native_;
	std::unique_ptr<FileDevice> files_;
	std::unique_ptr<hvt::HvtHypercalls> hvt_;
	std::vector<std::uint16_t> echoPorts_;
	PortBus bus_;
};

} // namespace quanta

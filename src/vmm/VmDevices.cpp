#include "vmm/VmDevices.h"

#include <quanta/abi.h>

namespace quanta {

VmDevices::VmDevices(GuestContext &guest, Console &console, std::size_t consoleId, InputSource &input,
		     GuestPhysAddr scratch, const DeviceOptions &options)
	: guest_(guest), serial_(console, consoleId, input), assignment_(guest, stats_, scratch),
	  native_(guest, work_, options.seed, options.channels, options.vm)
{
	bus_.setUnknownPortPolicy(options.unknownPorts);
	bus_.attach(QUANTA_PORT_SERIAL, 1, serial_, "serial");
	bus_.attach(QUANTA_PORT_COUNTER_NEO, 2, work_, "work counter");
	bus_.attach(AssignmentHypercalls::kBase, AssignmentHypercalls::kCount, assignment_,
		    "assignment hypercalls");
	bus_.attach(QUANTA_PORT_HC_BASE, QUANTA_HC_COUNT, native_, "native hypercalls");
	if (options.files) {
		files_ = std::make_unique<FileDevice>(guest, *options.files, options.vm.guestId().value);
		bus_.attach(QUANTA_PORT_FILE, 1, *files_, "files");
	}
}

void VmDevices::useHvt(std::unique_ptr<hvt::HvtHypercalls> hvt)
{
	bus_ = PortBus{};
	bus_.setUnknownPortPolicy(UnknownPortPolicy::Fault);
	files_.reset();
	hvt_ = std::move(hvt);
	bus_.attach(hvt::kPortBase, hvt::kPortCount, *hvt_, "hvt hypercalls");
}

void VmDevices::release()
{
	if (hvt_)
		hvt_->release();
	if (files_)
		files_->stopped();
}

} // namespace quanta

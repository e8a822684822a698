#include "vmm/VmDevices.h"

#include <algorithm>
#include <cstring>
#include <fmt/format.h>

#include <quanta/abi.h>

namespace quanta {

VmDevices::VmDevices(GuestContext &guest, Console &console, std::size_t consoleId, InputSource &input,
		     GuestPhysAddr scratch, const DeviceOptions &options)
	: guest_(guest), serial_(console, consoleId, input), assignment_(guest, stats_, scratch, options.hypercallPorts),
	  native_(guest, work_, options.seed, options.channels, options.vm),
	  echoPorts_(options.echoPorts)
{
	bus_.setUnknownPortPolicy(options.unknownPorts);
	bus_.attach(QUANTA_PORT_SERIAL, 1, serial_, "serial");
	bus_.attach(QUANTA_PORT_COUNTER_NEO, 2, work_, "work counter");
	assignment_.attachTo(bus_);
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

// The Matrix assignment's hypervisors print every OUT like this; echoing
// it lets a class compare a run with theirs line by line.
void VmDevices::echoOut(const KvmIoExit &io, std::span<const std::uint8_t> data)
{
	if (io.direction != KVM_EXIT_IO_OUT || std::find(echoPorts_.begin(), echoPorts_.end(), io.port) == echoPorts_.end())
		return;
	for (std::uint32_t i = 0; i < io.count && (std::size_t{ i } + 1) * io.size <= data.size(); ++i) {
		std::uint32_t value = 0;
		std::memcpy(&value, data.data() + std::size_t{ i } * io.size, std::min<std::size_t>(io.size, 4));
		guest_.print(fmt::format("out port: {}, data: {}\n", io.port, value));
	}
}

void VmDevices::release()
{
	if (hvt_)
		hvt_->release();
	if (files_)
		files_->stopped();
}

} // namespace quanta

#include "vmm/Guest.h"

#include <fmt/format.h>

#include "base/Error.h"
#include "hvt/HvtBoot.h"
#include "hvt/HvtTap.h"

namespace quanta {

PreparedGuest prepareGuest(const GuestConfig &config, hvt::SwitchHub *switches)
{
	return prepareGuest(config, ImageFile::read(config.imagePath), switches);
}

PreparedGuest prepareGuest(const GuestConfig &config, const ImageFile &image, hvt::SwitchHub *switches)
{
	PreparedGuest guest;
	guest.name = config.name;
	guest.format = image.format;
	if (hvt::isSolo5Image(image)) {
		// The hvt boot profile: its own layout, registers and devices.
		std::uint64_t bytes = hvt::guestMemorySize(config.memoryBytes);
		guest.layout = MemoryLayout{ bytes };
		guest.memory = std::make_unique<GuestMemory>(bytes);
		guest.hvt = hvt::prepareHvt(image, *guest.memory, config.hvt, hvt::netOpener(switches));
		guest.image = { guest.hvt->loaded.entry, hvt::kGuestMinBase, guest.hvt->loaded.kernelEnd };
		guest.boot.mode = CpuMode::Long;
		guest.boot.entry = guest.hvt->loaded.entry;
		return guest;
	}
	if (!config.hvt.devices.blockPaths.empty() || !config.hvt.devices.netTargets.empty() || !config.hvt.args.empty())
		throw UsageError(fmt::format("{}: devices and a command line are for Solo5 hvt unikernels; this is not one",
					     image.path));
	guest.layout = MemoryLayout{ config.memoryBytes };
	guest.memory = std::make_unique<GuestMemory>(config.memoryBytes);

	BootParams &boot = guest.boot;
	boot.mode = config.mode.value_or(defaultCpuMode(image.format));
	guest.modeGiven = config.mode.has_value();
	boot.pageSize = config.pageSize;
	checkMemorySize(config.memoryBytes, boot.mode, boot.pageSize, "--memory");
	if (boot.mode == CpuMode::Long && image.format == ImageFormat::Elf32)
		throw UsageError(fmt::format("{}: ELF32 image cannot start in long mode (use --mode protected or paged)",
					     image.path));
	if (boot.mode != CpuMode::Long && image.format == ImageFormat::Elf64)
		throw UsageError(fmt::format("{}: ELF64 image needs --mode long", image.path));

	LoadRequest request;
	request.flatLoad = config.flatLoad;
	request.flatEntry = config.flatEntry;
	boot.csBase = config.csBase.value_or(image.format == ImageFormat::Flat ? config.flatLoad : 0);
	if (boot.mode == CpuMode::Real)
		checkRealModeEntry(boot.csBase, boot.csBase);
	request.limit = imageLimitFor(boot.mode, boot.csBase, guest.layout);

	guest.image = loadImage(image, *guest.memory, request);
	boot.entry = guest.image.entry;
	if (boot.mode == CpuMode::Real) {
		checkRealModeEntry(boot.csBase, boot.entry);
		if (guest.image.start < boot.csBase)
			throw UsageError(fmt::format("{}: loads at {:#x}, below its code segment base {:#x}",
						     image.path, guest.image.start, boot.csBase));
	}
	return guest;
}

} // namespace quanta

// A guest ready to boot: its memory with the image loaded and the boot
// parameters resolved from the command line. Built without KVM so every
// user mistake is found before any VM starts.
#pragma once

#include <memory>
#include <optional>
#include <string>

#include "boot/Boot.h"
#include "boot/Image.h"
#include "hvt/HvtGuest.h"
#include "hvt/HvtSwitch.h"
#include "memory/GuestMemory.h"
#include "memory/Layout.h"

namespace quanta {

struct GuestConfig {
	std::string name;
	std::string imagePath;
	std::uint64_t memoryBytes = 2 << 20;
	PageSize pageSize = PageSize::Size4K;
	std::optional<CpuMode> mode; // default: from the image format
	std::uint64_t flatLoad = 0;
	std::optional<std::uint64_t> flatEntry;
	std::optional<std::uint64_t> csBase; // real mode; default: load address
	// For a Solo5 hvt unikernel (recognised by its ELF notes): its devices
	// and command line.
	hvt::GuestArgs hvt;
};

struct PreparedGuest {
	std::string name;
	std::unique_ptr<GuestMemory> memory;
	MemoryLayout layout;
	BootParams boot;
	ImageFormat format;
	bool modeGiven = false; // the mode was chosen, not the image format's default
	LoadedImage image;
	std::optional<hvt::PreparedHvt> hvt; // set for a Solo5 hvt unikernel
};

// Reads and loads the image; throws UsageError with one clear line.
// switches: where --net ...=switch:NAME ports come from (nullptr: none).
PreparedGuest prepareGuest(const GuestConfig &config, hvt::SwitchHub *switches = nullptr);
PreparedGuest prepareGuest(const GuestConfig &config, const ImageFile &image, hvt::SwitchHub *switches = nullptr);

} // namespace quanta

// An hvt guest ready to boot: the image checked and loaded, its devices
// opened and its command line joined, all before any VM exists so every
// user mistake is a usage error.
#pragma once

#include <string>
#include <vector>

#include "boot/Image.h"
#include "hvt/HvtDevices.h"
#include "hvt/HvtImage.h"
#include "memory/GuestMemory.h"

namespace quanta::hvt {

// What the command line gave one hvt guest.
struct GuestArgs {
	DeviceArgs devices;
	std::vector<std::string> args; // its command line, joined with spaces
	std::string dumpcoreDir;       // quanta hvt --dumpcore=DIR: a core file on abort
};

struct PreparedHvt {
	HvtLoaded loaded;
	std::vector<std::uint8_t> manifest; // as the guest sees it
	std::string cmdline;
	Attachments attachments;
	std::string dumpcoreDir;
};

// Throws UsageError with one line.
PreparedHvt prepareHvt(const ImageFile &image, GuestMemory &memory, const GuestArgs &args,
		       const NetOpener &openNet);

// Makes the kernel's read-only segments read-only in the host mapping too,
// as solo5-hvt does: a guest write to its own text then fails in KVM_RUN
// (EFAULT, "host/guest translation fault") instead of succeeding.
void protectSegments(GuestMemory &memory, const std::vector<Segment> &segments);

} // namespace quanta::hvt

#include "hvt/HvtGuest.h"

#include <cerrno>
#include <fmt/format.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/Error.h"
#include "hvt/HvtBoot.h"

namespace quanta::hvt {

PreparedHvt prepareHvt(const ImageFile &image, GuestMemory &memory, const GuestArgs &args, const NetOpener &openNet)
{
	HvtImage hvt = readHvtImage(image);
	PreparedHvt prepared;
	prepared.cmdline = joinCommandLine(args.args);
	prepared.loaded = loadHvtImage(image, memory);
	prepared.attachments = attachDevices(hvt, args.devices, openNet);
	prepared.manifest = guestManifest(hvt, prepared.attachments);
	if (!args.dumpcoreDir.empty()) {
		struct stat st;
		if (::stat(args.dumpcoreDir.c_str(), &st) != 0 || !S_ISDIR(st.st_mode))
			throw UsageError(fmt::format("dumpcore: cannot open dir {}", args.dumpcoreDir));
		if (::access(args.dumpcoreDir.c_str(), W_OK) != 0)
			throw UsageError(fmt::format("dumpcore: dir not writable: {}", args.dumpcoreDir));
		prepared.dumpcoreDir = args.dumpcoreDir;
	}
	return prepared;
}

void protectSegments(GuestMemory &memory, const std::vector<Segment> &segments)
{
	auto *base = static_cast<std::uint8_t *>(memory.hostBase());
	for (const Segment &segment : segments) {
		if (segment.writable)
			continue;
		if (::mprotect(base + segment.start, segment.end - segment.start, PROT_READ) != 0)
			throw HostError("mprotect of the guest's read-only segments", errno);
	}
}

} // namespace quanta::hvt

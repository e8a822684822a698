#include "kvm/RunPageArena.h"

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <sys/mman.h>

#include "base/Error.h"

namespace quanta {

RunPageArena::~RunPageArena()
{
	for (const Range &range : ranges())
		::munmap(range.start, range.bytes);
}

void *RunPageArena::map(int vcpuFd, std::size_t bytes)
{
	// A hint, not MAP_FIXED: replacing a reservation would be a munmap
	// too. The kernel takes the hint when that space is free.
	void *hint = nullptr;
	if (!areas_.empty() && reinterpret_cast<std::uintptr_t>(areas_.back().start) > bytes)
		hint = areas_.back().start - bytes;
	void *area = ::mmap(hint, bytes, PROT_READ | PROT_WRITE, MAP_SHARED, vcpuFd, 0);
	if (area == MAP_FAILED)
		throw HostError("mmap of kvm_run", errno);
	areas_.push_back({ static_cast<std::byte *>(area), bytes });
	return area;
}

std::vector<RunPageArena::Range> RunPageArena::ranges() const
{
	std::vector<Range> sorted = areas_;
	std::sort(sorted.begin(), sorted.end(), [](const Range &a, const Range &b) { return a.start < b.start; });
	std::vector<Range> merged;
	for (const Range &area : sorted) {
		if (!merged.empty() && merged.back().start + merged.back().bytes == area.start)
			merged.back().bytes += area.bytes;
		else
			merged.push_back(area);
	}
	return merged;
}

} // namespace quanta

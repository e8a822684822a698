#include "host/FileLimit.h"

#include <filesystem>
#include <fmt/format.h>
#include <sys/resource.h>
#include <system_error>

namespace quanta {

FileLimit raiseFileLimit()
{
	rlimit limit{};
	if (::getrlimit(RLIMIT_NOFILE, &limit) != 0)
		return {};
	if (limit.rlim_cur < limit.rlim_max) {
		rlimit raised{ limit.rlim_max, limit.rlim_max };
		if (::setrlimit(RLIMIT_NOFILE, &raised) == 0)
			limit = raised;
	}
	return { limit.rlim_cur, limit.rlim_max };
}

std::size_t openDescriptors()
{
	std::error_code error;
	std::size_t count = 0;
	for (std::filesystem::directory_iterator it("/proc/self/fd", error), end; !error && it != end;
	     it.increment(error))
		++count;
	// The iterator's own descriptor was counted too.
	return error || count == 0 ? 0 : count - 1;
}

std::optional<std::string> fileLimitShortfall(std::size_t vms, std::size_t inUse, const FileLimit &limit)
{
	const std::uint64_t needed = static_cast<std::uint64_t>(vms) * kDescriptorsPerVm;
	if (inUse + needed + kDescriptorsSpare <= limit.soft)
		return std::nullopt;
	const std::uint64_t fit = limit.soft > inUse + kDescriptorsSpare
					  ? (limit.soft - inUse - kDescriptorsSpare) / kDescriptorsPerVm
					  : 0;
	return fmt::format("{} VMs need about {} open files ({} each) and {} are open already; the limit is {} "
			   "(hard limit {}), enough for about {} VMs: raise the hard limit (ulimit -Hn, "
			   "limits.conf) or run fewer VMs",
			   vms, needed, kDescriptorsPerVm, inUse, limit.soft, limit.hard, fit);
}

} // namespace quanta

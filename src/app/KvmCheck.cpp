#include "app/KvmCheck.h"

#include <fmt/format.h>

#include "base/Error.h"
#include "kvm/Kvm.h"
#include "vmm/FaultHint.h"
#include "vmm/ModeProbe.h"

namespace quanta {

namespace {

struct ProbeCase {
	CpuMode mode;
	PageSize pageSize;
};

} // namespace

int checkKvm()
{
	const ProbeCase cases[] = {
		{ CpuMode::Real, PageSize::Size4K },
		{ CpuMode::Protected, PageSize::Size4K },
		{ CpuMode::Paged, PageSize::Size4K },
		{ CpuMode::Paged, PageSize::Size2M },
		{ CpuMode::Long, PageSize::Size4K },
		{ CpuMode::Long, PageSize::Size2M },
	};
	Kvm kvm;
	int failed = 0;
	for (const ProbeCase &c : cases) {
		std::string error = probeMode(kvm, c.mode, c.pageSize);
		fmt::print("{:<26} {}\n", modeLabel(c.mode, c.pageSize), error.empty() ? "ok" : "FAILED: " + error);
		failed += !error.empty();
	}
	return failed ? kExitHost : kExitOk;
}

} // namespace quanta

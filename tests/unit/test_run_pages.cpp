// kvm/RunPageArena: vCPU kvm_run areas mapped side by side and unmapped as
// few contiguous ranges. /dev/zero stands in for a vCPU fd (a shared
// mapping of any size), so no /dev/kvm is needed.
#include <cstring>
#include <doctest/doctest.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "base/UniqueFd.h"
#include "kvm/RunPageArena.h"

namespace quanta {

namespace {

constexpr std::size_t kArea = 3 * 4096;

bool mapped(const void *addr)
{
	unsigned char resident;
	return ::mincore(const_cast<void *>(addr), 4096, &resident) == 0;
}

} // namespace

TEST_CASE("RunPageArena: areas are usable, their ranges cover them exactly, and go with the arena")
{
	UniqueFd zero(::open("/dev/zero", O_RDWR | O_CLOEXEC));
	REQUIRE(zero.valid());
	std::vector<std::byte *> areas;
	{
		RunPageArena arena;
		for (int i = 0; i < 64; ++i) {
			auto *area = static_cast<std::byte *>(arena.map(zero.get(), kArea));
			std::memset(area, i, kArea);
			areas.push_back(area);
		}
		for (std::size_t i = 0; i < areas.size(); ++i)
			CHECK(areas[i][kArea - 1] == static_cast<std::byte>(i));

		const auto ranges = arena.ranges();
		std::size_t total = 0;
		for (std::size_t i = 0; i < ranges.size(); ++i) {
			total += ranges[i].bytes;
			// Sorted, and neither overlapping nor touching (touching ones merge).
			if (i > 0)
				CHECK(ranges[i - 1].start + ranges[i - 1].bytes < ranges[i].start);
		}
		CHECK(total == areas.size() * kArea);
		for (std::byte *area : areas) {
			int inside = 0;
			for (const auto &range : ranges)
				inside += area >= range.start && area + kArea <= range.start + range.bytes;
			CHECK(inside == 1);
		}
		// Each area asked for just below the last: far fewer ranges than areas.
		CHECK(ranges.size() < areas.size() / 4);
		CHECK(mapped(areas.front()));
	}
	for (std::byte *area : areas)
		CHECK_FALSE(mapped(area));
}

} // namespace quanta

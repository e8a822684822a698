#include "devices/NativeHypercalls.h"

#include <cstring>
#include <fmt/format.h>

#include <quanta/abi.h>

namespace quanta {

std::uint64_t deriveSeed(std::uint64_t runSeed, std::size_t vm)
{
	std::uint64_t z = runSeed + (vm + 1) * 0x9e3779b97f4a7c15ull;
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

NativeHypercalls::NativeHypercalls(GuestContext &guest, WorkCounter &work, std::uint64_t seed)
	: guest_(guest), work_(work), seed_(seed)
{
}

IoStatus NativeHypercalls::portIn(std::uint16_t, std::span<std::uint8_t> data)
{
	std::int32_t result = lastResult_;
	std::memset(data.data(), 0, data.size());
	std::memcpy(data.data(), &result, std::min(data.size(), sizeof(result)));
	return IoStatus::Done;
}

// Loads the block, runs the handler on it, stores it back with `ret` set.
// A block outside memory cannot carry a result: the call fails with
// EFAULT, readable with an inl, and the VM goes on.
template<typename Block, typename Handler>
IoStatus NativeHypercalls::call(GuestPhysAddr at, Handler handler)
{
	auto block = guest_.memory().load<Block>(at);
	if (!block) {
		guest_.warn(fmt::format("hypercall block at guest-physical {:#x} lies outside memory", raw(at)));
		lastResult_ = QUANTA_EFAULT;
		return IoStatus::Done;
	}
	IoStatus status = handler(*block);
	lastResult_ = block->ret;
	guest_.memory().store(at, *block);
	return status;
}

IoStatus NativeHypercalls::portOut(std::uint16_t offset, std::span<const std::uint8_t> data)
{
	if (data.size() != 4) {
		error_ = "native hypercalls take a 4-byte OUT of a block address";
		return IoStatus::Error;
	}
	std::uint32_t raw32;
	std::memcpy(&raw32, data.data(), 4);
	GuestPhysAddr at = gpa(raw32);

	switch (offset) {
	case QUANTA_HC_VERSION:
		return call<quanta_hc_version>(at, [](quanta_hc_version &b) {
			b.version = QUANTA_ABI_VERSION;
			b.ret = QUANTA_OK;
			return IoStatus::Done;
		});
	case QUANTA_HC_EXIT:
		return call<quanta_hc_exit>(at, [this](quanta_hc_exit &b) {
			exitStatus_ = b.status;
			b.ret = QUANTA_OK;
			return IoStatus::Stop;
		});
	case QUANTA_HC_YIELD:
		return call<quanta_hc_yield>(at, [](quanta_hc_yield &b) {
			b.ret = QUANTA_OK;
			return IoStatus::Yield;
		});
	case QUANTA_HC_CLOCK:
		return call<quanta_hc_clock>(at, [this](quanta_hc_clock &b) {
			b.ns = static_cast<std::uint64_t>(guest_.uptimeNs());
			b.ret = QUANTA_OK;
			return IoStatus::Done;
		});
	case QUANTA_HC_WORK:
		return call<quanta_hc_work>(at, [this](quanta_hc_work &b) {
			work_.add(b.units);
			b.ret = QUANTA_OK;
			return IoStatus::Done;
		});
	case QUANTA_HC_RANDOM:
		return call<quanta_hc_random>(at, [this](quanta_hc_random &b) {
			b.seed = seed_;
			b.ret = QUANTA_OK;
			return IoStatus::Done;
		});
	case QUANTA_HC_WRITE:
		return call<quanta_hc_write>(at, [this](quanta_hc_write &b) {
			if (b.length > QUANTA_MAX_STRING) {
				b.ret = QUANTA_E2BIG;
				return IoStatus::Done;
			}
			auto bytes = guest_.memory().view(gpa(b.buffer), b.length);
			if (!bytes) {
				b.ret = QUANTA_EFAULT;
				return IoStatus::Done;
			}
			guest_.print({ reinterpret_cast<const char *>(bytes->data()), bytes->size() });
			b.ret = static_cast<std::int32_t>(b.length);
			return IoStatus::Done;
		});
	default:
		lastResult_ = QUANTA_ENOSYS;
		return IoStatus::Done;
	}
}

} // namespace quanta

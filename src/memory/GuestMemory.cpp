#include "memory/GuestMemory.h"

#include <cerrno>
#include <sys/mman.h>

#include "base/Error.h"

namespace quanta {

GuestMemory::GuestMemory(std::size_t bytes)
{
	// MAP_NORESERVE: untouched guest pages cost nothing on the host.
	void *addr = ::mmap(nullptr, bytes, PROT_READ | PROT_WRITE,
			    MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (addr == MAP_FAILED)
		throw HostError("mmap of guest memory", errno);
	mapping_ = Mapping(addr, bytes);
}

std::optional<std::span<std::uint8_t>> GuestMemory::view(GuestPhysAddr addr, std::uint64_t length)
{
	if (!contains(addr, length))
		return std::nullopt;
	return std::span<std::uint8_t>(base() + raw(addr), length);
}

std::optional<std::span<const std::uint8_t>> GuestMemory::view(GuestPhysAddr addr,
							       std::uint64_t length) const
{
	if (!contains(addr, length))
		return std::nullopt;
	return std::span<const std::uint8_t>(base() + raw(addr), length);
}

bool GuestMemory::read(GuestPhysAddr addr, std::span<std::uint8_t> out) const
{
	auto src = view(addr, out.size());
	if (!src)
		return false;
	std::memcpy(out.data(), src->data(), out.size());
	return true;
}

bool GuestMemory::write(GuestPhysAddr addr, std::span<const std::uint8_t> in)
{
	auto dst = view(addr, in.size());
	if (!dst)
		return false;
	std::memcpy(dst->data(), in.data(), in.size());
	return true;
}

bool GuestMemory::fill(GuestPhysAddr addr, std::uint64_t length, std::uint8_t value)
{
	auto dst = view(addr, length);
	if (!dst)
		return false;
	std::memset(dst->data(), value, length);
	return true;
}

std::optional<std::uint64_t> GuestMemory::hostAddress(GuestPhysAddr addr) const
{
	if (raw(addr) >= size())
		return std::nullopt;
	return reinterpret_cast<std::uint64_t>(base()) + raw(addr);
}

} // namespace quanta

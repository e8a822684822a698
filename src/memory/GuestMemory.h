// Guest-physical memory: one anonymous mapping registered with KVM as slot 0.
// Guest addresses are a distinct type and every access is bounds- and
// overflow-checked, so nothing a guest passes us is dereferenced raw.
#pragma once

#include <cstdint>
#include <cstring>
#include <optional>
#include <span>
#include <type_traits>

#include "base/Mapping.h"

namespace quanta {

// A guest-physical address. Explicit conversions only.
enum class GuestPhysAddr : std::uint64_t {
};

constexpr GuestPhysAddr gpa(std::uint64_t value)
{
	return GuestPhysAddr{ value };
}
constexpr std::uint64_t raw(GuestPhysAddr addr)
{
	return static_cast<std::uint64_t>(addr);
}

class GuestMemory {
public:
	// Allocates zeroed memory; throws HostError if mmap fails.
	explicit GuestMemory(std::size_t bytes);

	std::size_t size() const { return mapping_.size(); }

	// True when [addr, addr + length) lies inside guest memory.
	bool contains(GuestPhysAddr addr, std::uint64_t length) const
	{
		return raw(addr) <= size() && length <= size() - raw(addr);
	}

	// A checked view of guest memory; empty optional if out of range.
	std::optional<std::span<std::uint8_t>> view(GuestPhysAddr addr, std::uint64_t length);
	std::optional<std::span<const std::uint8_t>> view(GuestPhysAddr addr,
							  std::uint64_t length) const;

	bool read(GuestPhysAddr addr, std::span<std::uint8_t> out) const;
	bool write(GuestPhysAddr addr, std::span<const std::uint8_t> in);
	bool fill(GuestPhysAddr addr, std::uint64_t length, std::uint8_t value);

	template <typename T>
	std::optional<T> load(GuestPhysAddr addr) const
	{
		static_assert(std::is_trivially_copyable_v<T>);
		T value;
		if (!read(addr, { reinterpret_cast<std::uint8_t *>(&value), sizeof(T) }))
			return std::nullopt;
		return value;
	}

	template <typename T>
	bool store(GuestPhysAddr addr, const T &value)
	{
		static_assert(std::is_trivially_copyable_v<T>);
		return write(addr, { reinterpret_cast<const std::uint8_t *>(&value), sizeof(T) });
	}

	// Host virtual address backing addr (for KVM registration and for the
	// gvaToHva hypercall's report); nullopt if outside memory.
	std::optional<std::uint64_t> hostAddress(GuestPhysAddr addr) const;
	void *hostBase() const { return mapping_.get(); }

private:
	std::uint8_t *base() const { return static_cast<std::uint8_t *>(mapping_.get()); }

	Mapping mapping_;
};

} // namespace quanta

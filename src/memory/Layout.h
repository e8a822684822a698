// Where things live in guest-physical memory (see the README's memory map).
#pragma once

#include <cstdint>

#include <quanta/abi.h>

#include "memory/GuestMemory.h"

namespace quanta {

enum class PageSize {
	Size4K,
	Size2M
};

struct MemoryLayout {
	std::uint64_t memoryBytes;

	// The hypervisor-owned area at the top of memory.
	GuestPhysAddr reservedBase() const { return gpa(memoryBytes - QUANTA_RESERVED_SIZE); }
	GuestPhysAddr gdt() const { return gpa(raw(reservedBase()) + QUANTA_RESERVED_GDT); }
	GuestPhysAddr scratch() const { return gpa(raw(reservedBase()) + QUANTA_RESERVED_SCRATCH); }
	GuestPhysAddr pagingBase() const { return gpa(raw(reservedBase()) + QUANTA_RESERVED_PAGING); }

	// Initial stack pointer: the top of guest-usable memory.
	std::uint64_t stackTop() const { return raw(reservedBase()); }
	// An image must end at or below this, leaving room for the stack.
	std::uint64_t imageLimit() const { return stackTop() - QUANTA_MIN_STACK; }
};

static_assert(QUANTA_RESERVED_PAGING + QUANTA_RESERVED_PAGING_SIZE <= QUANTA_RESERVED_SIZE);
static_assert(QUANTA_RESERVED_SCRATCH + QUANTA_RESERVED_SCRATCH_SIZE <= QUANTA_RESERVED_PAGING);

} // namespace quanta

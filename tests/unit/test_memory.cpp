#include <array>
#include <cstdint>
#include <doctest/doctest.h>

#include "memory/GuestMemory.h"

using namespace quanta;

TEST_CASE("guest memory accesses are bounds checked")
{
	GuestMemory memory(2 << 20);
	const std::uint64_t size = memory.size();

	CHECK(memory.contains(gpa(0), size));
	CHECK(memory.contains(gpa(size), 0));
	CHECK_FALSE(memory.contains(gpa(size), 1));
	CHECK_FALSE(memory.contains(gpa(size - 1), 2));

	CHECK(memory.store<std::uint32_t>(gpa(size - 4), 0xdeadbeef));
	CHECK(memory.load<std::uint32_t>(gpa(size - 4)) == 0xdeadbeefu);
	CHECK_FALSE(memory.store<std::uint32_t>(gpa(size - 3), 1));
	CHECK_FALSE(memory.load<std::uint32_t>(gpa(size - 3)));
}

TEST_CASE("address + length overflow is rejected, not wrapped")
{
	GuestMemory memory(2 << 20);
	CHECK_FALSE(memory.contains(gpa(UINT64_MAX), 2));
	CHECK_FALSE(memory.contains(gpa(16), UINT64_MAX));
	CHECK_FALSE(memory.view(gpa(UINT64_MAX - 1), 4));
	std::array<std::uint8_t, 8> buffer{};
	CHECK_FALSE(memory.read(gpa(UINT64_MAX - 3), buffer));
	CHECK_FALSE(memory.write(gpa(UINT64_MAX - 3), buffer));
	CHECK_FALSE(memory.fill(gpa(1), UINT64_MAX, 0));
}

TEST_CASE("host address of a guest address")
{
	GuestMemory memory(2 << 20);
	auto base = reinterpret_cast<std::uint64_t>(memory.hostBase());
	CHECK(memory.hostAddress(gpa(0)) == base);
	CHECK(memory.hostAddress(gpa(0x1234)) == base + 0x1234);
	CHECK_FALSE(memory.hostAddress(gpa(memory.size())));
}

TEST_CASE("memory starts zeroed and is writable everywhere")
{
	GuestMemory memory(4 << 20);
	CHECK(memory.load<std::uint64_t>(gpa(0x3ffff8)) == 0u);
	CHECK(memory.fill(gpa(0), memory.size(), 0xab));
	CHECK(memory.load<std::uint8_t>(gpa(memory.size() - 1)) == 0xabu);
}

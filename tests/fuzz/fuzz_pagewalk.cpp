// The page walker on guest-written page tables: the input is the first
// part of guest memory (the tables) and the walk's mode, CR3 and address.
#include <cstddef>
#include <cstdint>
#include <cstring>

#include "memory/GuestMemory.h"
#include "memory/PageWalk.h"

using namespace quanta;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t *data, std::size_t size)
{
	if (size < 17)
		return 0;
	GuestMemory memory(1 << 18); // fresh and zeroed: mapped lazily, cheap
	memory.write(gpa(0), { data + 17, std::min<std::size_t>(size - 17, memory.size()) });
	PagingState paging;
	paging.kind = static_cast<PagingState::Kind>(data[0] % 4);
	paging.pse = data[0] & 4;
	std::uint64_t cr3;
	std::uint64_t linear;
	std::memcpy(&cr3, data + 1, 8);
	std::memcpy(&linear, data + 9, 8);
	// Mostly CR3 inside memory, sometimes anything.
	if (data[0] & 8)
		cr3 %= memory.size();
	Translation t = translate(memory, paging, linear);
	if (t.address && raw(*t.address) >= memory.size())
		__builtin_trap(); // translate promises an address inside memory
	if (!t.address && t.error.empty())
		__builtin_trap();
	return 0;
}

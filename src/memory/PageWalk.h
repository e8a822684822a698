// Translates guest-virtual (linear) addresses through the guest's own page
// tables, as the CPU would: no paging, 2-level 32-bit paging (4 KiB and
// 4 MiB pages), PAE (4 KiB and 2 MiB) and 4-level long mode (4 KiB, 2 MiB,
// 1 GiB). Every table read goes through GuestMemory, so tables a guest
// points outside its memory are reported, never followed.
#pragma once

#include <cstdint>
#include <linux/kvm.h>
#include <optional>
#include <string>

#include "memory/GuestMemory.h"

namespace quanta {

struct PagingState {
	enum class Kind {
		None,
		Legacy32,
		Pae,
		Long
	} kind = Kind::None;
	std::uint64_t cr3 = 0;
	bool pse = false; // CR4.PSE: 4 MiB pages in 32-bit paging

	static PagingState fromSregs(const kvm_sregs &sregs);
};

struct Translation {
	std::optional<GuestPhysAddr> address; // set on success
	std::string error;                    // why not, on failure
};

// Translates `linear`; the result is also checked to lie inside memory.
Translation translate(const GuestMemory &memory, const PagingState &paging, std::uint64_t linear);

} // namespace quanta

#include "devices/AssignmentHypercalls.h"

#include <cstring>
#include <fmt/format.h>

#include <quanta/abi.h>

namespace quanta {

namespace {

enum Port : std::uint16_t {
	kPrintStr = QUANTA_PORT_HC_PRINT_STR - AssignmentHypercalls::kBase,
	kPrint32 = QUANTA_PORT_HC_PRINT32 - AssignmentHypercalls::kBase,
	kNumExits = QUANTA_PORT_HC_NUM_EXITS - AssignmentHypercalls::kBase,
	kExitsByType = QUANTA_PORT_HC_EXITS_BY_TYPE - AssignmentHypercalls::kBase,
	kGva = QUANTA_PORT_HC_GVA - AssignmentHypercalls::kBase,
	kHva = QUANTA_PORT_HC_HVA - AssignmentHypercalls::kBase,
};

std::uint32_t toU32(std::span<const std::uint8_t> data)
{
	std::uint32_t value;
	std::memcpy(&value, data.data(), sizeof(value));
	return value;
}

void fromU32(std::span<std::uint8_t> data, std::uint32_t value)
{
	std::memcpy(data.data(), &value, sizeof(value));
}

constexpr std::uint64_t kPage = 0x1000;

} // namespace

AssignmentHypercalls::AssignmentHypercalls(GuestContext &guest, const ExitStats &stats, GuestPhysAddr scratch)
	: guest_(guest), stats_(stats), scratch_(scratch)
{
}

IoStatus AssignmentHypercalls::portOut(std::uint16_t offset, std::span<const std::uint8_t> data)
{
	if (data.size() != 4 || (offset != kPrintStr && offset != kPrint32 && offset != kGva)) {
		error_ = fmt::format("hypercall port takes {} (outl only to 0xEA, 0xEB, 0xEE)",
				     data.size() == 4 ? "no OUT here" : "4-byte OUT");
		return IoStatus::Error;
	}
	std::uint32_t value = toU32(data);
	if (offset != kGva && !guest_.canPrint())
		return IoStatus::Blocked; // retried once stdout drains
	switch (offset) {
	case kPrintStr:
		guest_.print(readString(value));
		break;
	case kPrint32:
		guest_.print(fmt::format("{}\n", value));
		break;
	case kGva:
		pendingGva_ = value;
		break;
	}
	return IoStatus::Done;
}

IoStatus AssignmentHypercalls::portIn(std::uint16_t offset, std::span<std::uint8_t> data)
{
	if (data.size() != 4 || (offset != kNumExits && offset != kExitsByType && offset != kHva)) {
		error_ = fmt::format("hypercall port takes {} (inl only from 0xEC, 0xED, 0xEF)",
				     data.size() == 4 ? "no IN here" : "4-byte IN");
		return IoStatus::Error;
	}
	switch (offset) {
	case kNumExits:
		// The exit carrying this call is already counted, as the ABI wants.
		fromU32(data, static_cast<std::uint32_t>(stats_.guestExits));
		break;
	case kExitsByType:
		fromU32(data, exitsByType());
		break;
	case kHva:
		fromU32(data, gvaToHva());
		break;
	}
	return IoStatus::Done;
}

std::string AssignmentHypercalls::readString(std::uint64_t pointer)
{
	std::string text;
	std::uint64_t at = pointer;
	while (text.size() < QUANTA_MAX_STRING) {
		Translation t = guest_.translatePointer(at);
		if (!t.address) {
			guest_.warn(fmt::format("HC_printStr: string at {:#x} cut after {} bytes: {}", pointer,
						text.size(), t.error));
			return text;
		}
		// Up to the end of this page (the next may map elsewhere) and of memory.
		std::uint64_t chunk = std::min<std::uint64_t>(kPage - (at % kPage),
							      QUANTA_MAX_STRING - text.size());
		chunk = std::min<std::uint64_t>(chunk, guest_.memory().size() - raw(*t.address));
		auto bytes = guest_.memory().view(*t.address, chunk);
		const auto *begin = reinterpret_cast<const char *>(bytes->data());
		const void *nul = std::memchr(begin, 0, chunk);
		if (nul) {
			text.append(begin, static_cast<const char *>(nul));
			return text;
		}
		text.append(begin, chunk);
		at += chunk;
	}
	// Exactly at the limit, a terminating NUL right after means nothing was cut.
	Translation next = guest_.translatePointer(at);
	if (next.address && guest_.memory().load<std::uint8_t>(*next.address) == 0)
		return text;
	guest_.warn(fmt::format("HC_printStr: string at {:#x} cut at the {}-byte limit", pointer,
				QUANTA_MAX_STRING));
	return text;
}

std::uint32_t AssignmentHypercalls::exitsByType()
{
	std::string text = fmt::format("IO in: {}\nIO out: {}\n", stats_.ioIn, stats_.ioOut);
	text.resize(std::min<std::size_t>(text.size(), QUANTA_EXITS_TEXT_SIZE - 1));
	text.push_back('\0');
	// A ring of slots: the last results stay valid, guest memory is untouched.
	GuestPhysAddr slot = gpa(raw(scratch_) + std::uint64_t{ nextSlot_ } * QUANTA_EXITS_TEXT_SIZE);
	nextSlot_ = (nextSlot_ + 1) % QUANTA_EXITS_TEXT_SLOTS;
	guest_.memory().write(slot, { reinterpret_cast<const std::uint8_t *>(text.data()), text.size() });
	// The guest gets a pointer it can hand back to HC_printStr: relative to
	// DS outside long mode (real mode has DS = CS base), through its page
	// tables, which quanta built to map the reserved area 1:1.
	std::uint64_t base = guest_.pointerBase();
	if (raw(slot) < base || raw(slot) - base > UINT32_MAX) {
		guest_.warn(fmt::format("HC_numExitsByType: result at guest-physical {:#x} is outside the data segment",
					raw(slot)));
		return 0;
	}
	std::uint64_t pointer = raw(slot) - base;
	Translation back = guest_.translatePointer(pointer);
	if (!back.address || *back.address != slot)
		guest_.warn(fmt::format("HC_numExitsByType: result at guest-physical {:#x} is not mapped 1:1",
					raw(slot)));
	return static_cast<std::uint32_t>(pointer);
}

std::uint32_t AssignmentHypercalls::gvaToHva()
{
	Translation t = guest_.translatePointer(pendingGva_);
	if (!t.address) {
		guest_.print(fmt::format("HC_gvaToHva: {:#x}: {}\n", pendingGva_, t.error));
		return 0;
	}
	std::uint64_t hva = *guest_.memory().hostAddress(*t.address);
	guest_.print(fmt::format("HC_gvaToHva: GVA {:#x} -> GPA {:#x} -> HVA {:#x}\n", pendingGva_,
				 raw(*t.address), hva));
	return static_cast<std::uint32_t>(hva);
}

} // namespace quanta

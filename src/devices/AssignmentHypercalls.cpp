#include "devices/AssignmentHypercalls.h"

#include <cstring>
#include <fmt/format.h>
#include <map>

#include <quanta/abi.h>

namespace quanta {

namespace {

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

constexpr std::array<std::string_view, kAssignmentCallCount> kCallNames = {
	"printStr",
	"print32bit",
	"numExits",
	"numExitsByType",
	"gvaToHva",
	"gvaToHva.in",
};

// The ports of other devices, which a hypercall may not take.
struct FixedPorts {
	std::uint16_t first;
	std::uint16_t last;
	const char *what;
};
constexpr FixedPorts kFixed[] = {
	{ QUANTA_PORT_SERIAL, QUANTA_PORT_SERIAL, "the serial console's" },
	{ QUANTA_PORT_COUNTER_NEO, QUANTA_PORT_COUNTER_MORPHEUS, "the work counter's" },
	{ QUANTA_PORT_FILE, QUANTA_PORT_FILE, "the file device's" },
	{ QUANTA_PORT_HC_BASE, QUANTA_PORT_HC_BASE + QUANTA_HC_COUNT - 1, "a native hypercall's" },
};

// "0xEA, 0xEB, 0xEE": the ports of the OUT (or IN) calls, for messages.
std::string portList(const AssignmentPorts &ports, bool out)
{
	std::string list;
	for (std::size_t i = 0; i < kAssignmentCallCount; ++i) {
		auto call = static_cast<AssignmentCall>(i);
		if (isOutCall(call) == out)
			list += fmt::format("{}{:#X}", list.empty() ? "" : ", ", ports.of(call));
	}
	// fmt's {:#X} writes 0XEA; the ABI document writes 0xEA.
	for (std::size_t at = list.find("0X"); at != std::string::npos; at = list.find("0X", at + 1))
		list[at + 1] = 'x';
	return list;
}

} // namespace

std::string_view assignmentCallName(AssignmentCall call)
{
	return kCallNames[static_cast<std::size_t>(call)];
}

std::optional<AssignmentCall> parseAssignmentCall(std::string_view name)
{
	for (std::size_t i = 0; i < kCallNames.size(); ++i)
		if (kCallNames[i] == name)
			return static_cast<AssignmentCall>(i);
	return std::nullopt;
}

bool isOutCall(AssignmentCall call)
{
	return call == AssignmentCall::PrintStr || call == AssignmentCall::Print32 || call == AssignmentCall::Gva;
}

std::string checkAssignmentPorts(const AssignmentPorts &ports)
{
	for (std::size_t i = 0; i < kAssignmentCallCount; ++i) {
		auto call = static_cast<AssignmentCall>(i);
		std::uint16_t port = ports.of(call);
		for (const FixedPorts &fixed : kFixed)
			if (port >= fixed.first && port <= fixed.last)
				return fmt::format("{}={:#x}: port {:#x} is {}", assignmentCallName(call), port, port,
						   fixed.what);
		for (std::size_t j = 0; j < i; ++j) {
			auto other = static_cast<AssignmentCall>(j);
			if (ports.of(other) == port && isOutCall(other) == isOutCall(call))
				return fmt::format("{} and {} are both {} calls on port {:#x}", assignmentCallName(other),
						   assignmentCallName(call), isOutCall(call) ? "OUT" : "IN", port);
		}
	}
	return "";
}

// One port: at most one OUT call and one IN call (e.g. HC_gvaToHva's two
// halves on one port), each 4 bytes wide.
class AssignmentHypercalls::Port : public PortDevice {
public:
	Port(AssignmentHypercalls &calls, std::uint16_t port)
		: calls_(calls), port_(port) {}

	void add(AssignmentCall call) { (isOutCall(call) ? out_ : in_) = call; }

	IoStatus portIn(std::uint16_t, std::span<std::uint8_t> data) override
	{
		if (data.size() != 4 || !in_)
			return refuse(data.size() == 4 ? "no IN here" : "4-byte IN", false);
		fromU32(data, calls_.call(*in_, 0));
		return IoStatus::Done;
	}

	IoStatus portOut(std::uint16_t, std::span<const std::uint8_t> data) override
	{
		if (data.size() != 4 || !out_)
			return refuse(data.size() == 4 ? "no OUT here" : "4-byte OUT", true);
		if (*out_ != AssignmentCall::Gva && !calls_.guest_.canPrint())
			return IoStatus::Blocked; // retried once stdout drains
		calls_.call(*out_, toU32(data));
		return IoStatus::Done;
	}

	std::string lastError() const override { return error_; }
	// Only printing blocks, while stdout is full.
	ParkReason blockedOn() const override { return ParkReason::Output; }

private:
	IoStatus refuse(const char *what, bool out)
	{
		error_ = fmt::format("hypercall port takes {} ({} only {} {})", what, out ? "outl" : "inl",
				     out ? "to" : "from", portList(calls_.ports_, out));
		return IoStatus::Error;
	}

	AssignmentHypercalls &calls_;
	std::uint16_t port_;
	std::optional<AssignmentCall> out_;
	std::optional<AssignmentCall> in_;
	std::string error_;
};

AssignmentHypercalls::AssignmentHypercalls(GuestContext &guest, const ExitStats &stats, GuestPhysAddr scratch,
					   const AssignmentPorts &ports)
	: guest_(guest), stats_(stats), scratch_(scratch), ports_(ports)
{
}

AssignmentHypercalls::~AssignmentHypercalls() = default;

void AssignmentHypercalls::attachTo(PortBus &bus)
{
	std::map<std::uint16_t, Port *> byPort;
	for (std::size_t i = 0; i < kAssignmentCallCount; ++i) {
		auto call = static_cast<AssignmentCall>(i);
		std::uint16_t port = ports_.of(call);
		Port *&device = byPort[port];
		if (!device) {
			devices_.push_back(std::make_unique<Port>(*this, port));
			device = devices_.back().get();
			bus.attach(port, 1, *device, "assignment hypercalls");
		}
		device->add(call);
	}
}

std::uint32_t AssignmentHypercalls::call(AssignmentCall call, std::uint32_t value)
{
	switch (call) {
	case AssignmentCall::PrintStr:
		guest_.print(readString(value));
		return 0;
	case AssignmentCall::Print32:
		guest_.print(fmt::format("{}\n", value));
		return 0;
	case AssignmentCall::Gva:
		pendingGva_ = value;
		return 0;
	case AssignmentCall::NumExits:
		// The exit carrying this call is already counted, as the ABI wants.
		return static_cast<std::uint32_t>(stats_.guestExits);
	case AssignmentCall::ExitsByType:
		return exitsByType();
	case AssignmentCall::Hva:
		return gvaToHva();
	}
	return 0;
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

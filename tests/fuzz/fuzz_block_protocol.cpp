// quanta's block protocol (4-byte OUT of a request address) through the
// real FileDevice on a small guest memory: the input is both the memory
// (requests, names, buffers) and the list of port accesses.
#include <cstddef>
#include <cstdint>
#include <cstring>

#include "FuzzFiles.h"
#include "devices/GuestContext.h"
#include "files/FileDevice.h"

using namespace quanta;

namespace {

class FuzzGuest : public GuestContext {
public:
	FuzzGuest()
		: memory_(kMemory) {}
	GuestMemory &memory() override { return memory_; }
	Translation translatePointer(std::uint64_t) override { return {}; }
	std::uint64_t pointerBase() override { return 0; }
	void print(std::string_view) override {}
	void warn(std::string_view text) override
	{
		for (char c : text)
			if (c < 0x20 || c == 0x7f)
				__builtin_trap(); // a diagnostic a guest could forge lines with
		now_ += 1000;
	}
	std::int64_t uptimeNs() const override { return now_; }

	static constexpr std::size_t kMemory = 1 << 16;

private:
	GuestMemory memory_;
	std::int64_t now_ = 0;
};

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t *data, std::size_t size)
{
	const fuzz::Scratch &s = fuzz::scratch();
	{
		FileStore store = s.store();
		FuzzGuest guest;
		guest.memory().write(gpa(0), { data, std::min(size, FuzzGuest::kMemory) });
		FileDevice device(guest, store, 1);
		// Accesses: 5 bytes each from the start of the input (which is also
		// memory): kind, then a 32-bit value.
		for (std::size_t i = 0; i + 5 <= size && i < 5 * 512; i += 5) {
			std::uint32_t value;
			std::memcpy(&value, data + i + 1, 4);
			std::uint8_t byte = static_cast<std::uint8_t>(value);
			switch (data[i] % 5) {
			case 0:
			case 1: {
				// Mostly inside memory, sometimes anywhere.
				std::uint32_t at = data[i] % 5 == 0 ? value % FuzzGuest::kMemory : value;
				std::uint8_t bytes[4];
				std::memcpy(bytes, &at, 4);
				device.portOut(0, { bytes, 4 });
				break;
			}
			case 2:
				device.portOut(0, { &byte, 1 });
				break;
			case 3:
				device.portIn(0, { &byte, 1 });
				break;
			default: {
				std::uint8_t wide[4] = {};
				device.portOut(0, { wide, 2 });
				device.portIn(0, { wide, 4 });
				break;
			}
			}
		}
		device.stopped();
	}
	s.checkAndReset();
	return 0;
}

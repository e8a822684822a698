// The mini_hypervisor byte protocol, fed whatever a guest may send: each
// input byte pair is an OUT of a byte or an IN. Must never crash, never
// escape the scratch directory, never change a shared file.
#include <cstddef>
#include <cstdint>

#include "FuzzFiles.h"
#include "base/Text.h"
#include "files/FileDevice.h"

using namespace quanta;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t *data, std::size_t size)
{
	const fuzz::Scratch &s = fuzz::scratch();
	{
		FileStore store = s.store();
		GuestFiles files(store, 1);
		ByteProtocol proto(files);
		for (std::size_t i = 0; i + 1 < size; i += 2) {
			// Mostly OUTs (a name needs many), an IN when the low bits say so.
			if ((data[i] & 7) == 0)
				proto.in();
			else
				proto.out(data[i + 1]);
			std::string error = proto.takeError();
			if (!error.empty() && escapeForLog(error, 4096).size() < error.size())
				__builtin_trap();
		}
		files.closeAll();
	}
	s.checkAndReset();
	return 0;
}

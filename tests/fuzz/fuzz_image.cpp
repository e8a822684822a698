// The image loader: any bytes as an ELF or flat image, loaded into a small
// guest memory. A bad image is a UsageError, nothing else.
#include <cstddef>
#include <cstdint>
#include <vector>

#include "base/Error.h"
#include "boot/Image.h"

using namespace quanta;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t *data, std::size_t size)
{
	try {
		ImageFile image = ImageFile::fromBytes("fuzz.img", std::vector<std::uint8_t>(data, data + size));
		GuestMemory memory(2 << 20);
		LoadRequest request;
		request.limit = memory.size() - (64 << 10);
		if (size > 0 && image.format == ImageFormat::Flat) {
			request.flatLoad = data[0] * 0x1000u;
			request.flatEntry = request.flatLoad + data[size - 1];
		}
		LoadedImage loaded = loadImage(image, memory, request);
		if (loaded.end > request.limit || loaded.start > loaded.end)
			__builtin_trap();
	} catch (const UsageError &) {
	}
	return 0;
}

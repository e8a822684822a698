// Guest images: ELF32/ELF64 loaded by program headers, or flat binaries
// loaded at an address given on the command line. All checks happen here,
// before any VM exists, so a bad image is a usage error (exit 2).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "memory/GuestMemory.h"

namespace quanta {

enum class ImageFormat {
	Flat,
	Elf32,
	Elf64
};

const char *imageFormatName(ImageFormat format);

// Images are regular files of at most this size (no guest memory could
// hold more; and /dev/zero must not be read until memory runs out).
inline constexpr std::uint64_t kMaxImageBytes = 1ull << 30;

struct ImageFile {
	std::string path;
	std::vector<std::uint8_t> bytes;
	ImageFormat format;

	// Reads the whole file; throws UsageError if it cannot be read, is not a
	// regular file, is larger than kMaxImageBytes or is empty.
	static ImageFile read(const std::string &path);
	static ImageFile fromBytes(std::string name, std::vector<std::uint8_t> bytes);
};

struct LoadRequest {
	std::uint64_t flatLoad = 0;             // where a flat image goes
	std::optional<std::uint64_t> flatEntry; // defaults to flatLoad
	std::uint64_t limit = 0;                // image must end at or below this
};

struct LoadedImage {
	std::uint64_t entry;
	std::uint64_t start; // lowest guest-physical byte written
	std::uint64_t end;   // one past the highest
};

// Copies the image into guest memory; throws UsageError naming the image
// and the reason when it is malformed or does not fit below limit.
LoadedImage loadImage(const ImageFile &image, GuestMemory &memory, const LoadRequest &request);

} // namespace quanta

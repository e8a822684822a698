#include "boot/Image.h"

#include <cerrno>
#include <cstring>
#include <elf.h>
#include <fcntl.h>
#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/Error.h"
#include "base/UniqueFd.h"

namespace quanta {

namespace {

bool isElf(const std::vector<std::uint8_t> &bytes)
{
	return bytes.size() >= EI_NIDENT && std::memcmp(bytes.data(), ELFMAG, SELFMAG) == 0;
}

template <typename T>
T readStruct(const ImageFile &image, std::uint64_t offset, const char *what)
{
	if (offset > image.bytes.size() || sizeof(T) > image.bytes.size() - offset)
		throw UsageError(fmt::format("{}: truncated ELF ({} past end of file)", image.path, what));
	T value;
	std::memcpy(&value, image.bytes.data() + offset, sizeof(T));
	return value;
}

void placeSegment(const ImageFile &image, GuestMemory &memory, std::uint64_t paddr,
		  std::uint64_t fileOffset, std::uint64_t fileSize, std::uint64_t memSize,
		  std::uint64_t limit)
{
	if (fileSize > memSize)
		throw UsageError(fmt::format("{}: ELF segment file size exceeds memory size", image.path));
	if (fileOffset > image.bytes.size() || fileSize > image.bytes.size() - fileOffset)
		throw UsageError(fmt::format("{}: ELF segment lies past end of file", image.path));
	if (paddr > limit || memSize > limit - paddr) {
		// 0x400000 is where ld puts a Linux program (gcc -static): more
		// memory would not help, the SDK's linker script would.
		constexpr std::uint64_t kLinuxLinkBase = 0x400000;
		std::string hint = paddr >= kLinuxLinkBase
					   ? fmt::format("linked at {:#x} like a Linux program: link guests with the SDK's "
							 "linker script (quanta-guest-cc, or pkg-config quanta-guest)",
							 paddr)
					   : "memory minus stack and reserved area; try a larger -m";
		throw UsageError(fmt::format("{}: does not fit: segment [{:#x}, {:#x}) goes past {:#x} ({})", image.path,
					     paddr, paddr + memSize, limit, hint));
	}
	memory.write(gpa(paddr), { image.bytes.data() + fileOffset, fileSize });
	memory.fill(gpa(paddr + fileSize), memSize - fileSize, 0);
}

template <typename Ehdr, typename Phdr>
LoadedImage loadElf(const ImageFile &image, GuestMemory &memory, std::uint64_t limit,
		    unsigned expectedMachine)
{
	auto ehdr = readStruct<Ehdr>(image, 0, "header");
	if (ehdr.e_ident[EI_DATA] != ELFDATA2LSB)
		throw UsageError(fmt::format("{}: not a little-endian ELF", image.path));
	if (ehdr.e_machine != expectedMachine)
		throw UsageError(fmt::format("{}: ELF machine {} is not x86", image.path, ehdr.e_machine));
	if (ehdr.e_phentsize != sizeof(Phdr))
		throw UsageError(fmt::format("{}: unexpected program header size {}", image.path,
					     ehdr.e_phentsize));

	LoadedImage loaded{ ehdr.e_entry, UINT64_MAX, 0 };
	for (unsigned i = 0; i < ehdr.e_phnum; ++i) {
		auto phdr = readStruct<Phdr>(image, ehdr.e_phoff + std::uint64_t{ i } * sizeof(Phdr),
					     "program header");
		if (phdr.p_type != PT_LOAD || phdr.p_memsz == 0)
			continue;
		placeSegment(image, memory, phdr.p_paddr, phdr.p_offset, phdr.p_filesz, phdr.p_memsz, limit);
		loaded.start = std::min<std::uint64_t>(loaded.start, phdr.p_paddr);
		loaded.end = std::max<std::uint64_t>(loaded.end, phdr.p_paddr + phdr.p_memsz);
	}
	if (loaded.end == 0)
		throw UsageError(fmt::format("{}: ELF has no loadable segment", image.path));
	if (loaded.entry < loaded.start || loaded.entry >= loaded.end)
		throw UsageError(fmt::format("{}: ELF entry {:#x} is outside its segments", image.path,
					     loaded.entry));
	return loaded;
}

} // namespace

const char *imageFormatName(ImageFormat format)
{
	switch (format) {
	case ImageFormat::Flat:
		return "flat binary";
	case ImageFormat::Elf32:
		return "ELF32";
	case ImageFormat::Elf64:
		return "ELF64";
	}
	return "?";
}

ImageFile ImageFile::read(const std::string &path)
{
	// O_NONBLOCK: opening a FIFO must not wait for a writer; it is refused
	// below like every file that is not regular.
	UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK));
	if (fd.get() < 0)
		throw UsageError(fmt::format("cannot read image {}: {}", path, std::strerror(errno)));
	struct stat st {};
	if (::fstat(fd.get(), &st) != 0)
		throw UsageError(fmt::format("cannot read image {}: {}", path, std::strerror(errno)));
	if (S_ISDIR(st.st_mode))
		throw UsageError(fmt::format("image {} is a directory, not an image file", path));
	if (!S_ISREG(st.st_mode))
		throw UsageError(fmt::format("image {} is not a regular file (a device, FIFO or socket)", path));
	if (static_cast<std::uint64_t>(st.st_size) > kMaxImageBytes)
		throw UsageError(fmt::format("image {} is larger than {} MiB", path, kMaxImageBytes >> 20));

	// Read to the end, not st_size: files in /proc say 0. Stop past the
	// limit whatever the file claims.
	std::vector<std::uint8_t> bytes;
	std::vector<std::uint8_t> chunk(1 << 16);
	for (;;) {
		ssize_t n = ::read(fd.get(), chunk.data(), chunk.size());
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			throw UsageError(fmt::format("cannot read image {}: {}", path, std::strerror(errno)));
		if (n == 0)
			break;
		if (bytes.size() + static_cast<std::size_t>(n) > kMaxImageBytes)
			throw UsageError(fmt::format("image {} is larger than {} MiB", path, kMaxImageBytes >> 20));
		bytes.insert(bytes.end(), chunk.begin(), chunk.begin() + n);
	}
	return fromBytes(path, std::move(bytes));
}

ImageFile ImageFile::fromBytes(std::string name, std::vector<std::uint8_t> bytes)
{
	if (bytes.empty())
		throw UsageError(fmt::format("image {} is empty", name));
	ImageFormat format = ImageFormat::Flat;
	if (isElf(bytes)) {
		if (bytes[EI_CLASS] == ELFCLASS32)
			format = ImageFormat::Elf32;
		else if (bytes[EI_CLASS] == ELFCLASS64)
			format = ImageFormat::Elf64;
		else
			throw UsageError(fmt::format("{}: unknown ELF class {}", name, bytes[EI_CLASS]));
	}
	return ImageFile{ std::move(name), std::move(bytes), format };
}

LoadedImage loadImage(const ImageFile &image, GuestMemory &memory, const LoadRequest &request)
{
	std::uint64_t limit = std::min<std::uint64_t>(request.limit, memory.size());
	switch (image.format) {
	case ImageFormat::Elf32:
		return loadElf<Elf32_Ehdr, Elf32_Phdr>(image, memory, limit, EM_386);
	case ImageFormat::Elf64:
		return loadElf<Elf64_Ehdr, Elf64_Phdr>(image, memory, limit, EM_X86_64);
	case ImageFormat::Flat:
		break;
	}
	std::uint64_t size = image.bytes.size();
	placeSegment(image, memory, request.flatLoad, 0, size, size, limit);
	std::uint64_t entry = request.flatEntry.value_or(request.flatLoad);
	if (entry < request.flatLoad || entry >= request.flatLoad + size)
		throw UsageError(fmt::format("{}: entry {:#x} is outside the image [{:#x}, {:#x})",
					     image.path, entry, request.flatLoad, request.flatLoad + size));
	return { entry, request.flatLoad, request.flatLoad + size };
}

} // namespace quanta

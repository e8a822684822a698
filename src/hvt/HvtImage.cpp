#include "hvt/HvtImage.h"

#include <cstring>
#include <elf.h>
#include <fmt/format.h>
#include <optional>

#include "base/Error.h"

namespace quanta::hvt {

namespace {

constexpr std::uint64_t kPageSize = 0x1000;

template <typename T>
std::optional<T> readAt(const ImageFile &image, std::uint64_t offset)
{
	if (offset > image.bytes.size() || sizeof(T) > image.bytes.size() - offset)
		return std::nullopt;
	T value;
	std::memcpy(&value, image.bytes.data() + offset, sizeof(T));
	return value;
}

[[noreturn]] void invalid(const ImageFile &image, const std::string &why)
{
	throw UsageError(fmt::format("{}: invalid executable: {}", image.path, why));
}

bool headerValid(const Elf64_Ehdr &h)
{
	return std::memcmp(h.e_ident, ELFMAG, SELFMAG) == 0 && h.e_ident[EI_CLASS] == ELFCLASS64 &&
	       h.e_ident[EI_DATA] == ELFDATA2LSB && h.e_version == EV_CURRENT && h.e_ehsize == sizeof(Elf64_Ehdr) &&
	       h.e_phnum >= 1 && h.e_phentsize == sizeof(Elf64_Phdr) && h.e_type == ET_EXEC &&
	       h.e_machine == EM_X86_64;
}

struct Elf {
	Elf64_Ehdr header;
	std::vector<Elf64_Phdr> programHeaders;
};

// The header and program headers, or nullopt when this is no ELF64 we run.
std::optional<Elf> readElf(const ImageFile &image)
{
	auto header = readAt<Elf64_Ehdr>(image, 0);
	if (!header || !headerValid(*header))
		return std::nullopt;
	Elf elf{ *header, {} };
	for (unsigned i = 0; i < header->e_phnum; ++i) {
		auto ph = readAt<Elf64_Phdr>(image, header->e_phoff + std::uint64_t{ i } * sizeof(Elf64_Phdr));
		if (!ph)
			return std::nullopt;
		elf.programHeaders.push_back(*ph);
	}
	return elf;
}

Elf requireElf(const ImageFile &image)
{
	auto header = readAt<Elf64_Ehdr>(image, 0);
	if (!header)
		invalid(image, fmt::format("elf header does not match the expected size ({} < {})",
					   image.bytes.size(), sizeof(Elf64_Ehdr)));
	if (!headerValid(*header))
		throw UsageError(fmt::format("{}: invalid or unsupported executable (not an x86-64 ELF64 executable)",
					     image.path));
	auto elf = readElf(image);
	if (!elf)
		invalid(image, "program headers lie past the end of the file");
	return *elf;
}

struct NoteHeader {
	std::uint32_t nameSize;
	std::uint32_t descSize;
	std::uint32_t type;
	char name[8];
};
static_assert(sizeof(NoteHeader) == kNoteHeaderSize);

bool isSolo5Note(const NoteHeader &note)
{
	return note.nameSize == sizeof(kNoteName) && std::memcmp(note.name, kNoteName, sizeof(kNoteName)) == 0;
}

// The descriptor of the Solo5 note of `type` (after its alignment padding),
// or nullopt if there is none. Malformed notes are errors, as in Solo5.
std::optional<std::vector<std::uint8_t>> findNote(const ImageFile &image, const Elf &elf, std::uint32_t type,
						  std::size_t align, std::size_t maxSize)
{
	for (std::size_t i = 0; i < elf.programHeaders.size(); ++i) {
		const Elf64_Phdr &ph = elf.programHeaders[i];
		if (ph.p_type != PT_NOTE)
			continue;
		if (ph.p_filesz < 12)
			invalid(image, fmt::format("phdr[{}].p_filesz note does not fall within valid size ({} < 12)", i,
						   ph.p_filesz));
		if (ph.p_filesz < sizeof(NoteHeader))
			continue;
		auto note = readAt<NoteHeader>(image, ph.p_offset);
		if (!note)
			invalid(image, fmt::format("phdr[{}] note does not fall within valid size (note header at offset "
						   "{:#x} lies past the end of the file)",
						   i, ph.p_offset));
		if (!isSolo5Note(*note) || note->type != type)
			continue;
		if (note->descSize < 1 || note->descSize > maxSize)
			invalid(image, fmt::format("phdr[{}] note does not fall within valid size ({} < 1 || {} > {})", i,
						   note->descSize, note->descSize, maxSize));
		if (ph.p_filesz < sizeof(NoteHeader) + std::uint64_t{ note->descSize })
			invalid(image, fmt::format("phdr[{}] note does not fall within valid size ({} < {})", i,
						   ph.p_filesz, sizeof(NoteHeader) + note->descSize));
		std::size_t offset = (sizeof(NoteHeader) + align - 1) & ~(align - 1);
		std::size_t padding = offset - sizeof(NoteHeader);
		if (note->descSize <= padding)
			invalid(image, fmt::format("phdr[{}] note does not fall within valid size ({} <= {})", i,
						   note->descSize, padding));
		std::size_t size = note->descSize - padding;
		std::uint64_t at = ph.p_offset + offset;
		if (at > image.bytes.size() || size > image.bytes.size() - at)
			invalid(image, fmt::format("phdr[{}] note does not fall within valid size (its {} bytes at offset "
						   "{:#x} lie past the end of the file)",
						   i, size, at));
		return std::vector<std::uint8_t>(image.bytes.begin() + static_cast<std::ptrdiff_t>(at),
						 image.bytes.begin() + static_cast<std::ptrdiff_t>(at + size));
	}
	return std::nullopt;
}

// Solo5's manifest rules: the version, at most 64 entries, exactly the
// size they need, entry 0 reserved and unnamed, every name terminated and
// nothing attached yet.
std::optional<std::string> manifestProblem(const std::vector<std::uint8_t> &bytes)
{
	if (bytes.size() < sizeof(ManifestHeader))
		return "shorter than its header";
	ManifestHeader header;
	std::memcpy(&header, bytes.data(), sizeof(header));
	if (header.version != kManifestVersion)
		return fmt::format("version {} (expected {})", header.version, kManifestVersion);
	if (header.entries > kManifestMaxEntries)
		return fmt::format("{} entries (at most {})", header.entries, kManifestMaxEntries);
	if (bytes.size() != sizeof(ManifestHeader) + std::size_t{ header.entries } * sizeof(ManifestEntry))
		return fmt::format("{} bytes for {} entries", bytes.size(), header.entries);
	if (header.entries < 1)
		return std::string("no entries");
	for (std::uint32_t i = 0; i < header.entries; ++i) {
		ManifestEntry entry;
		std::memcpy(&entry, bytes.data() + sizeof(ManifestHeader) + i * sizeof(ManifestEntry), sizeof(entry));
		if (i == 0 && (entry.type != kReservedFirst || entry.name[0] != 0))
			return std::string("entry 0 is not the reserved entry");
		if (entry.name[kNameSize - 1] != 0)
			return fmt::format("entry {} has an unterminated name", i);
		if (entry.attached)
			return fmt::format("entry {} is marked attached", i);
	}
	return std::nullopt;
}

} // namespace

bool isSolo5Image(const ImageFile &image)
{
	auto elf = readElf(image);
	if (!elf)
		return false;
	for (const Elf64_Phdr &ph : elf->programHeaders) {
		if (ph.p_type != PT_NOTE)
			continue;
		// A malformed note header is Solo5's to reject: treat the file as
		// Solo5's when the note area starts with its name anywhere.
		auto note = readAt<NoteHeader>(image, ph.p_offset);
		if (note && isSolo5Note(*note))
			return true;
	}
	return false;
}

bool isSolo5File(const std::string &path)
{
	try {
		return isSolo5Image(ImageFile::read(path));
	} catch (const UsageError &) {
		return false;
	}
}

HvtImage readHvtImage(const ImageFile &image)
{
	Elf elf = requireElf(image);
	auto abiBytes = findNote(image, elf, kNoteTypeAbi, kAbiNoteAlign, kAbiNoteMaxSize);
	if (!abiBytes || abiBytes->size() < sizeof(AbiInfo))
		throw UsageError(fmt::format("{}: No Solo5 ABI information found in executable", image.path));
	HvtImage result;
	std::memcpy(&result.abi, abiBytes->data(), sizeof(AbiInfo));
	if (result.abi.target != kAbiTargetHvt)
		throw UsageError(fmt::format("{}: Executable is not for the solo5-hvt target", image.path));
	if (result.abi.version != kAbiVersion)
		throw UsageError(fmt::format("{}: Executable requests unsupported ABI version {}", image.path,
					     result.abi.version));

	auto manifest = findNote(image, elf, kNoteTypeManifest, kManifestNoteAlign, kManifestNoteMaxSize);
	if (!manifest)
		throw UsageError(fmt::format("{}: No Solo5 manifest found in executable", image.path));
	if (auto problem = manifestProblem(*manifest))
		throw UsageError(fmt::format("{}: Solo5 manifest is invalid ({})", image.path, *problem));
	result.manifest = std::move(*manifest);
	ManifestHeader header;
	std::memcpy(&header, result.manifest.data(), sizeof(header));
	for (std::uint32_t i = 0; i < header.entries; ++i) {
		ManifestEntry entry;
		std::memcpy(&entry, result.manifest.data() + sizeof(ManifestHeader) + i * sizeof(ManifestEntry),
			    sizeof(entry));
		result.devices.push_back({ std::string(entry.name), static_cast<ManifestType>(entry.type) });
	}
	return result;
}

HvtLoaded loadHvtImage(const ImageFile &image, GuestMemory &memory)
{
	Elf elf = requireElf(image);
	const std::uint64_t memSize = memory.size();
	const std::uint64_t entry = elf.header.e_entry;
	if (entry < kGuestMinBase || entry >= memSize)
		invalid(image, fmt::format("e_entry {:#x} does not fall within the memory allocation range [{:#x}, {:#x})",
					   entry, kGuestMinBase, memSize));

	HvtLoaded loaded{ entry, 0, {} };
	std::uint64_t lastStart = 0;
	for (std::size_t i = 0; i < elf.programHeaders.size(); ++i) {
		const Elf64_Phdr &ph = elf.programHeaders[i];
		// Only non-empty PT_LOAD segments, as solo5-hvt.
		if (ph.p_type != PT_LOAD || ph.p_filesz == 0)
			continue;
		const std::uint64_t vaddr = ph.p_vaddr;
		const std::uint64_t align = ph.p_align;
		if (align == 0 || (align & (align - 1)) != 0)
			invalid(image, fmt::format("phdr[{}] alignment {:#x} is not a power of two", i, align));
		if (vaddr < lastStart)
			invalid(image, fmt::format("phdr[{}].p_vaddr is not in ascending order", i));
		lastStart = vaddr;
		const std::uint64_t start = vaddr & ~(align - 1);
		if (start < kGuestMinBase)
			invalid(image, fmt::format("phdr[{}].p_vaddr {:#x} is below {:#x}", i, vaddr, kGuestMinBase));
		if (start < loaded.kernelEnd)
			invalid(image, fmt::format("phdr[{}] overlaps the segment before it", i));
		if (ph.p_memsz < ph.p_filesz)
			invalid(image, fmt::format("phdr[{}] p_memsz {} < p_filesz {}", i, ph.p_memsz, ph.p_filesz));
		if (vaddr >= memSize || ph.p_memsz > memSize - vaddr)
			throw UsageError(fmt::format(
				"{}: does not fit: segment [{:#x}, {:#x}) goes past the end of memory {:#x} (try a larger --mem)",
				image.path, vaddr, vaddr + ph.p_memsz, memSize));
		std::uint64_t end = vaddr + ph.p_memsz;
		if (end > UINT64_MAX - (align - 1))
			invalid(image, fmt::format("phdr[{}] end overflows", i));
		end = (end + align - 1) & ~(align - 1);
		if (end > memSize)
			throw UsageError(fmt::format("{}: does not fit: segment ends at {:#x}, past memory {:#x} (try a larger --mem)",
						     image.path, end, memSize));
		if (ph.p_offset > image.bytes.size() || ph.p_filesz > image.bytes.size() - ph.p_offset)
			invalid(image, fmt::format("phdr[{}] lies past the end of the file", i));
		if (start % kPageSize != 0 || end % kPageSize != 0)
			invalid(image, fmt::format("phdr[{}] [{:#x}, {:#x}) is not page-aligned", i, start, end));
		const bool writable = (ph.p_flags & PF_W) != 0;
		const bool executable = (ph.p_flags & PF_X) != 0;
		if (writable && executable)
			invalid(image, fmt::format("phdr[{}] requests WRITE and EXEC permissions", i));

		memory.write(gpa(vaddr), { image.bytes.data() + ph.p_offset, ph.p_filesz });
		memory.fill(gpa(vaddr + ph.p_filesz), ph.p_memsz - ph.p_filesz, 0);
		loaded.kernelEnd = std::max(loaded.kernelEnd, end);
		loaded.segments.push_back({ start, end, writable, executable });
	}
	if (loaded.segments.empty())
		invalid(image, "no loadable segment");
	return loaded;
}

} // namespace quanta::hvt

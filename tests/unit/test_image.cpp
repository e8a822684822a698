#include <cstring>
#include <doctest/doctest.h>
#include <elf.h>
#include <filesystem>
#include <fmt/format.h>
#include <fstream>
#include <sys/stat.h>
#include <unistd.h>
#include <vector>

#include "base/Error.h"
#include "boot/Image.h"

using namespace quanta;

namespace {

// A minimal ELF64 with one PT_LOAD segment of `code` at paddr.
std::vector<std::uint8_t> makeElf64(std::uint64_t paddr, std::vector<std::uint8_t> code,
				    std::uint64_t memsz = 0, std::uint64_t entry = UINT64_MAX)
{
	Elf64_Ehdr eh{};
	std::memcpy(eh.e_ident, ELFMAG, SELFMAG);
	eh.e_ident[EI_CLASS] = ELFCLASS64;
	eh.e_ident[EI_DATA] = ELFDATA2LSB;
	eh.e_ident[EI_VERSION] = EV_CURRENT;
	eh.e_type = ET_EXEC;
	eh.e_machine = EM_X86_64;
	eh.e_entry = entry == UINT64_MAX ? paddr : entry;
	eh.e_phoff = sizeof(eh);
	eh.e_phentsize = sizeof(Elf64_Phdr);
	eh.e_phnum = 1;
	Elf64_Phdr ph{};
	ph.p_type = PT_LOAD;
	ph.p_offset = sizeof(eh) + sizeof(ph);
	ph.p_paddr = ph.p_vaddr = paddr;
	ph.p_filesz = code.size();
	ph.p_memsz = memsz ? memsz : code.size();
	std::vector<std::uint8_t> out(sizeof(eh) + sizeof(ph) + code.size());
	std::memcpy(out.data(), &eh, sizeof(eh));
	std::memcpy(out.data() + sizeof(eh), &ph, sizeof(ph));
	if (!code.empty())
		std::memcpy(out.data() + sizeof(eh) + sizeof(ph), code.data(), code.size());
	return out;
}

} // namespace

TEST_CASE("format detection")
{
	CHECK(ImageFile::fromBytes("f", { 0xf4 }).format == ImageFormat::Flat);
	CHECK(ImageFile::fromBytes("e", makeElf64(0x1000, { 0xf4 })).format == ImageFormat::Elf64);
	CHECK_THROWS_AS(ImageFile::fromBytes("empty", {}), UsageError);
}

TEST_CASE("flat images load at the given address with a checked entry")
{
	GuestMemory memory(2 << 20);
	auto image = ImageFile::fromBytes("flat", { 0x90, 0x90, 0xf4 });
	LoadedImage loaded = loadImage(image, memory, { 0x10000, std::nullopt, 0x100000 });
	CHECK(loaded.entry == 0x10000u);
	CHECK(loaded.end == 0x10003u);
	CHECK(memory.load<std::uint8_t>(gpa(0x10002)) == 0xf4u);

	CHECK(loadImage(image, memory, { 0, 2, 0x100000 }).entry == 2u);
	CHECK_THROWS_AS(loadImage(image, memory, { 0, 3, 0x100000 }), UsageError);
}

TEST_CASE("an image that does not fit is a usage error")
{
	GuestMemory memory(2 << 20);
	auto image = ImageFile::fromBytes("big", std::vector<std::uint8_t>(0x1000, 0x90));
	CHECK_THROWS_AS(loadImage(image, memory, { 0x100000 - 0x800, std::nullopt, 0x100000 }), UsageError);
	CHECK_NOTHROW(loadImage(image, memory, { 0x100000 - 0x1000, std::nullopt, 0x100000 }));
	// The limit is clamped to memory even if the request says more.
	CHECK_THROWS_AS(loadImage(image, memory, { (2 << 20) - 0x800, std::nullopt, UINT64_MAX }), UsageError);
}

TEST_CASE("ELF64 loads by program headers, zeroing bss")
{
	GuestMemory memory(2 << 20);
	memory.fill(gpa(0x2000), 0x100, 0xcc);
	auto image = ImageFile::fromBytes("e", makeElf64(0x2000, { 1, 2, 3 }, 0x100));
	LoadedImage loaded = loadImage(image, memory, { 0, std::nullopt, 0x100000 });
	CHECK(loaded.entry == 0x2000u);
	CHECK(loaded.end == 0x2100u);
	CHECK(memory.load<std::uint8_t>(gpa(0x2002)) == 3u);
	CHECK(memory.load<std::uint8_t>(gpa(0x2003)) == 0u);
	CHECK(memory.load<std::uint8_t>(gpa(0x20ff)) == 0u);
}

TEST_CASE("malformed ELF files are rejected with a usage error")
{
	GuestMemory memory(2 << 20);
	auto good = makeElf64(0x2000, { 0xf4 });

	auto truncated = good;
	truncated.resize(sizeof(Elf64_Ehdr) + 10);
	CHECK_THROWS_AS(loadImage(ImageFile::fromBytes("t", truncated), memory, { 0, {}, 0x100000 }), UsageError);

	auto hugeOffset = good;
	Elf64_Phdr ph;
	std::memcpy(&ph, hugeOffset.data() + sizeof(Elf64_Ehdr), sizeof(ph));
	ph.p_offset = UINT64_MAX - 2;
	std::memcpy(hugeOffset.data() + sizeof(Elf64_Ehdr), &ph, sizeof(ph));
	CHECK_THROWS_AS(loadImage(ImageFile::fromBytes("o", hugeOffset), memory, { 0, {}, 0x100000 }), UsageError);

	auto wrapping = makeElf64(UINT64_MAX - 1, { 0xf4, 0xf4, 0xf4 });
	CHECK_THROWS_AS(loadImage(ImageFile::fromBytes("w", wrapping), memory, { 0, {}, 0x100000 }), UsageError);

	auto badEntry = makeElf64(0x2000, { 0xf4 }, 0, 0x9000);
	CHECK_THROWS_AS(loadImage(ImageFile::fromBytes("b", badEntry), memory, { 0, {}, 0x100000 }), UsageError);

	auto wrongMachine = good;
	wrongMachine[offsetof(Elf64_Ehdr, e_machine)] = EM_ARM;
	CHECK_THROWS_AS(loadImage(ImageFile::fromBytes("m", wrongMachine), memory, { 0, {}, 0x100000 }), UsageError);
}

TEST_CASE("images are regular files of bounded size: anything else is a usage error")
{
	auto message = [](const std::string &path) {
		try {
			ImageFile::read(path);
		} catch (const UsageError &e) {
			return std::string(e.what());
		}
		return std::string("no error");
	};
	namespace fs = std::filesystem;
	fs::path dir = fs::temp_directory_path() / fmt::format("quanta-image-{}", ::getpid());
	fs::create_directories(dir);

	CHECK(message("/") == "image / is a directory, not an image file");
	CHECK(message(dir.string()) == fmt::format("image {} is a directory, not an image file", dir.string()));
	CHECK(message("/dev/zero") == "image /dev/zero is not a regular file (a device, FIFO or socket)");
	std::string fifo = (dir / "fifo").string();
	REQUIRE(::mkfifo(fifo.c_str(), 0600) == 0);
	CHECK(message(fifo) == fmt::format("image {} is not a regular file (a device, FIFO or socket)", fifo));
	// A regular file in /proc that cannot be read from offset 0.
	CHECK(message("/proc/self/mem").rfind("cannot read image /proc/self/mem: ", 0) == 0);
	CHECK(message((dir / "none").string()) ==
	      fmt::format("cannot read image {}: No such file or directory", (dir / "none").string()));
	// Sparse: a 1 GiB + 1 byte file takes no disk.
	std::string huge = (dir / "huge.bin").string();
	{
		std::ofstream(huge).put('x');
	}
	fs::resize_file(huge, kMaxImageBytes + 1);
	CHECK(message(huge) == fmt::format("image {} is larger than 1024 MiB", huge));
	std::string empty = (dir / "empty.bin").string();
	std::ofstream(empty).close();
	CHECK(message(empty) == fmt::format("image {} is empty", empty));
	std::string good = (dir / "good.bin").string();
	std::ofstream(good) << "\xf4";
	CHECK(ImageFile::read(good).bytes.size() == 1);
	fs::remove_all(dir);
}

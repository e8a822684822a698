// Solo5 hvt guests without KVM: recognising and checking images by their
// ELF notes (built here byte by byte, including broken ones), loading, the
// boot profile (page tables, registers, boot info), device attachment and
// the hypercalls against a plain GuestMemory with a fake GuestContext.
#include <cstring>
#include <doctest/doctest.h>
#include <elf.h>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <sys/procfs.h>
#include <sys/user.h>
#include <unistd.h>
#include <vector>

#include "base/Error.h"
#include "devices/GuestContext.h"
#include "hvt/HvtBoot.h"
#include "hvt/HvtCore.h"
#include "hvt/HvtDevices.h"
#include "hvt/HvtImage.h"
#include "memory/PageWalk.h"

namespace quanta::hvt {

namespace fs = std::filesystem;

namespace {

// ---- Building hvt ELF images ---------------------------------------------------

struct Note {
	std::uint32_t type;
	std::vector<std::uint8_t> desc; // including the alignment padding
	std::uint32_t descSizeOverride = 0;
	bool solo5Name = true;
};

std::vector<std::uint8_t> abiDesc(std::uint32_t target = kAbiTargetHvt, std::uint32_t version = kAbiVersion)
{
	AbiInfo info{ target, version, 0, 0 };
	std::vector<std::uint8_t> bytes(sizeof(info));
	std::memcpy(bytes.data(), &info, sizeof(info));
	return bytes;
}

struct ManifestDevice {
	std::string name;
	ManifestType type;
};

// Resize and copy rather than vector::insert of a byte range: GCC 12 at -O3
// misreports the latter as -Warray-bounds.
void appendBytes(std::vector<std::uint8_t> &bytes, const void *data, std::size_t size)
{
	std::size_t at = bytes.size();
	bytes.resize(at + size);
	std::memcpy(bytes.data() + at, data, size);
}

std::vector<std::uint8_t> manifestDesc(const std::vector<ManifestDevice> &devices, std::uint32_t version = 1)
{
	std::vector<std::uint8_t> bytes(4, 0); // pads the descriptor to 8 bytes
	ManifestHeader header{ version, static_cast<std::uint32_t>(devices.size() + 1) };
	appendBytes(bytes, &header, sizeof(header));
	auto add = [&](const std::string &name, std::uint32_t type) {
		ManifestEntry entry{};
		std::strncpy(entry.name, name.c_str(), kNameSize - 1);
		entry.type = type;
		appendBytes(bytes, &entry, sizeof(entry));
	};
	add("", kReservedFirst);
	for (const auto &device : devices)
		add(device.name, device.type);
	return bytes;
}

struct Segment64 {
	std::uint64_t vaddr;
	std::vector<std::uint8_t> data;
	std::uint64_t memSize;
	std::uint32_t flags;
};

constexpr std::uint64_t kEntry = 0x100000;

// An ELF64 executable: header, program headers, then each segment's and
// each note's bytes. noteOffsetOverride moves the last note's p_offset.
std::vector<std::uint8_t> buildElf(const std::vector<Segment64> &segments, const std::vector<Note> &notes,
				   std::uint64_t entry = kEntry, std::optional<std::uint64_t> noteOffsetOverride = {})
{
	const std::size_t phnum = segments.size() + notes.size();
	std::vector<std::uint8_t> out(sizeof(Elf64_Ehdr) + phnum * sizeof(Elf64_Phdr), 0);
	Elf64_Ehdr eh{};
	std::memcpy(eh.e_ident, ELFMAG, SELFMAG);
	eh.e_ident[EI_CLASS] = ELFCLASS64;
	eh.e_ident[EI_DATA] = ELFDATA2LSB;
	eh.e_ident[EI_VERSION] = EV_CURRENT;
	eh.e_type = ET_EXEC;
	eh.e_machine = EM_X86_64;
	eh.e_version = EV_CURRENT;
	eh.e_entry = entry;
	eh.e_phoff = sizeof(Elf64_Ehdr);
	eh.e_ehsize = sizeof(Elf64_Ehdr);
	eh.e_phentsize = sizeof(Elf64_Phdr);
	eh.e_phnum = static_cast<Elf64_Half>(phnum);
	std::memcpy(out.data(), &eh, sizeof(eh));
	std::vector<Elf64_Phdr> phdrs;
	for (const auto &s : segments) {
		while (out.size() % 16)
			out.push_back(0);
		Elf64_Phdr ph{};
		ph.p_type = PT_LOAD;
		ph.p_flags = s.flags;
		ph.p_offset = out.size();
		ph.p_vaddr = ph.p_paddr = s.vaddr;
		ph.p_filesz = s.data.size();
		ph.p_memsz = s.memSize;
		ph.p_align = 0x1000;
		out.insert(out.end(), s.data.begin(), s.data.end());
		phdrs.push_back(ph);
	}
	for (std::size_t n = 0; n < notes.size(); ++n) {
		const Note &note = notes[n];
		while (out.size() % 8)
			out.push_back(0);
		Elf64_Phdr ph{};
		ph.p_type = PT_NOTE;
		ph.p_offset = out.size();
		std::uint32_t header[3] = { note.solo5Name ? 6u : 4u,
					    note.descSizeOverride ? note.descSizeOverride
								  : static_cast<std::uint32_t>(note.desc.size()),
					    note.type };
		out.insert(out.end(), reinterpret_cast<std::uint8_t *>(header),
			   reinterpret_cast<std::uint8_t *>(header) + sizeof(header));
		const char name[8] = { 'S', 'o', 'l', 'o', '5', 0, 0, 0 };
		const char gnu[8] = { 'G', 'N', 'U', 0, 0, 0, 0, 0 };
		out.insert(out.end(), note.solo5Name ? name : gnu, (note.solo5Name ? name : gnu) + 8);
		out.insert(out.end(), note.desc.begin(), note.desc.end());
		ph.p_filesz = out.size() - ph.p_offset;
		if (n + 1 == notes.size() && noteOffsetOverride)
			ph.p_offset = *noteOffsetOverride;
		phdrs.push_back(ph);
	}
	std::memcpy(out.data() + sizeof(Elf64_Ehdr), phdrs.data(), phdrs.size() * sizeof(Elf64_Phdr));
	return out;
}

std::vector<std::uint8_t> code(std::size_t size = 64)
{
	return std::vector<std::uint8_t>(size, 0xf4); // hlt
}

std::vector<Segment64> twoSegments()
{
	return { { kEntry, code(), 0x1000, PF_R | PF_X }, { 0x101000, { 1, 2, 3, 4 }, 0x2000, PF_R | PF_W } };
}

std::vector<Note> goodNotes(const std::vector<ManifestDevice> &devices = {})
{
	return { { kNoteTypeAbi, abiDesc() }, { kNoteTypeManifest, manifestDesc(devices) } };
}

ImageFile image(std::vector<std::uint8_t> bytes)
{
	return ImageFile::fromBytes("k.hvt", std::move(bytes));
}

std::string errorOf(const std::function<void()> &action)
{
	try {
		action();
	} catch (const UsageError &e) {
		return e.what();
	}
	return "(no error)";
}

struct TempDir {
	fs::path path;
	TempDir()
	{
		char templ[] = "/tmp/quanta-hvt-XXXXXX";
		REQUIRE(::mkdtemp(templ) != nullptr);
		path = templ;
	}
	~TempDir()
	{
		std::error_code ec;
		fs::remove_all(path, ec);
	}
	std::string file(const std::string &name, std::size_t size) const
	{
		fs::path p = path / name;
		std::ofstream(p, std::ios::binary) << std::string(size, '\0');
		return p.string();
	}
};

} // namespace

// ---- Notes and manifest ----------------------------------------------------------

TEST_CASE("an hvt unikernel is recognised by its Solo5 notes")
{
	CHECK(isSolo5Image(image(buildElf(twoSegments(), goodNotes()))));
	CHECK_FALSE(isSolo5Image(image(buildElf(twoSegments(), {}))));
	std::vector<Note> gnuOnly = { { 1, abiDesc(), 0, false } };
	CHECK_FALSE(isSolo5Image(image(buildElf(twoSegments(), gnuOnly))));
	CHECK_FALSE(isSolo5Image(image({ 0x7f, 'E', 'L', 'F' })));
}

TEST_CASE("the manifest's devices are read in order, entry 0 reserved")
{
	HvtImage hvt = readHvtImage(
		image(buildElf(twoSegments(), goodNotes({ { "storage", kDeviceBlock }, { "service0", kDeviceNet } }))));
	CHECK(hvt.abi.version == kAbiVersion);
	REQUIRE(hvt.devices.size() == 3);
	CHECK(hvt.devices[0].type == kReservedFirst);
	CHECK(hvt.devices[1].name == "storage");
	CHECK(hvt.devices[1].type == kDeviceBlock);
	CHECK(hvt.devices[2].name == "service0");
	CHECK(hvt.devices[2].type == kDeviceNet);
	CHECK(hvt.manifest.size() == sizeof(ManifestHeader) + 3 * sizeof(ManifestEntry));
}

TEST_CASE("Solo5's checks: one line each, in solo5-hvt's words")
{
	auto wrongVersion = buildElf(twoSegments(), { { kNoteTypeAbi, abiDesc(kAbiTargetHvt, 3) },
						      { kNoteTypeManifest, manifestDesc({}) } });
	CHECK(errorOf([&] { readHvtImage(image(wrongVersion)); }) ==
	      "k.hvt: Executable requests unsupported ABI version 3");

	auto spt = buildElf(twoSegments(), { { kNoteTypeAbi, abiDesc(2, kAbiVersion) },
					     { kNoteTypeManifest, manifestDesc({}) } });
	CHECK(errorOf([&] { readHvtImage(image(spt)); }) == "k.hvt: Executable is not for the solo5-hvt target");

	auto noAbi = buildElf(twoSegments(), { { kNoteTypeManifest, manifestDesc({}) } });
	CHECK(errorOf([&] { readHvtImage(image(noAbi)); }) == "k.hvt: No Solo5 ABI information found in executable");

	auto noManifest = buildElf(twoSegments(), { { kNoteTypeAbi, abiDesc() } });
	CHECK(errorOf([&] { readHvtImage(image(noManifest)); }) == "k.hvt: No Solo5 manifest found in executable");

	auto badVersion = buildElf(twoSegments(), { { kNoteTypeAbi, abiDesc() }, { kNoteTypeManifest, manifestDesc({}, 7) } });
	CHECK(errorOf([&] { readHvtImage(image(badVersion)); }).starts_with("k.hvt: Solo5 manifest is invalid"));

	// A manifest note claiming more than 64 entries' worth of bytes.
	std::vector<Note> tooBig = goodNotes();
	tooBig[1].descSizeOverride = kManifestNoteMaxSize + 1;
	std::string big = errorOf([&] { readHvtImage(image(buildElf(twoSegments(), tooBig))); });
	CHECK(big.find("note does not fall within valid size") != std::string::npos);

	// A note whose descriptor runs past its segment.
	std::vector<Note> overrun = goodNotes();
	overrun[1].descSizeOverride = static_cast<std::uint32_t>(overrun[1].desc.size() + 8);
	CHECK(errorOf([&] { readHvtImage(image(buildElf(twoSegments(), overrun))); })
		      .find("note does not fall within valid size") != std::string::npos);

	// A note that lies outside the file.
	auto outside = buildElf(twoSegments(), goodNotes(), kEntry, 0x100000);
	CHECK(errorOf([&] { readHvtImage(image(outside)); }).find("note does not fall within valid size") !=
	      std::string::npos);

	// Truncated: the program headers are cut off.
	auto whole = buildElf(twoSegments(), goodNotes());
	std::vector<std::uint8_t> truncated(whole.begin(), whole.begin() + 100);
	CHECK(errorOf([&] { readHvtImage(image(truncated)); }) ==
	      "k.hvt: invalid executable: program headers lie past the end of the file");
	std::vector<std::uint8_t> stub(whole.begin(), whole.begin() + 20);
	CHECK(errorOf([&] { readHvtImage(image(stub)); }).find("elf header does not match the expected size") !=
	      std::string::npos);
}

// ---- Loading ---------------------------------------------------------------------

TEST_CASE("segments load at their addresses; kernel end is page-aligned")
{
	GuestMemory memory(4 << 20);
	HvtLoaded loaded = loadHvtImage(image(buildElf(twoSegments(), goodNotes())), memory);
	CHECK(loaded.entry == kEntry);
	CHECK(loaded.kernelEnd == 0x103000);
	REQUIRE(loaded.segments.size() == 2);
	CHECK_FALSE(loaded.segments[0].writable);
	CHECK(loaded.segments[0].executable);
	CHECK(loaded.segments[1].writable);
	CHECK(memory.load<std::uint8_t>(gpa(kEntry)) == 0xf4);
	CHECK(memory.load<std::uint32_t>(gpa(0x101000)) == 0x04030201);
}

TEST_CASE("the loader rejects what solo5-hvt rejects")
{
	GuestMemory memory(4 << 20);
	auto low = buildElf({ { 0x80000, code(), 0x1000, PF_R | PF_X } }, goodNotes(), 0x80000);
	CHECK(errorOf([&] { loadHvtImage(image(low), memory); }).find("e_entry") != std::string::npos);

	auto wx = buildElf({ { kEntry, code(), 0x1000, PF_R | PF_W | PF_X } }, goodNotes());
	CHECK(errorOf([&] { loadHvtImage(image(wx), memory); }).find("requests WRITE and EXEC permissions") !=
	      std::string::npos);

	auto huge = buildElf({ { kEntry, code(), 8 << 20, PF_R | PF_X } }, goodNotes());
	CHECK(errorOf([&] { loadHvtImage(image(huge), memory); }).find("does not fit") != std::string::npos);

	auto unordered = buildElf({ { 0x102000, code(), 0x1000, PF_R }, { kEntry, code(), 0x1000, PF_R | PF_X } },
				  goodNotes());
	CHECK(errorOf([&] { loadHvtImage(image(unordered), memory); }).find("ascending") != std::string::npos);
}

// ---- Boot profile ----------------------------------------------------------------

TEST_CASE("memory sizes: whole 2 MiB pages up to 4 GiB")
{
	CHECK(guestMemorySize(3 << 20) == 2 << 20);
	CHECK(guestMemorySize(0) == 2 << 20);
	CHECK(guestMemorySize(4096ull << 20) == 4096ull << 20);
	CHECK(errorOf([] { guestMemorySize(5ull << 30); }).find("exceeds the max size") != std::string::npos);
}

TEST_CASE("command line: arguments joined with spaces, 8191 characters at most")
{
	CHECK(joinCommandLine({ "Hello_Solo5", "--x", "y" }) == "Hello_Solo5 --x y");
	CHECK(joinCommandLine({}).empty());
	CHECK(joinCommandLine({ std::string(8191, 'a') }).size() == 8191);
	CHECK(errorOf([] { joinCommandLine({ std::string(8191, 'a'), "" }); }) ==
	      "Guest command line too long (max=8191 characters)");
}

TEST_CASE("boot: long mode, identity paging, boot info with manifest and command line")
{
	const std::uint64_t size = 8 << 20;
	GuestMemory memory(size);
	HvtImage hvt = readHvtImage(image(buildElf(twoSegments(), goodNotes({ { "storage", kDeviceBlock } }))));
	BootParams params;
	params.entry = kEntry;
	params.kernelEnd = 0x103000;
	params.tscHz = 2'500'000'000;
	params.manifest = hvt.manifest;
	params.cmdline = "Hello_Solo5";
	BootState state = prepareBoot(memory, params, kvm_sregs{});

	CHECK(state.regs.rip == kEntry);
	CHECK(state.regs.rsp == size - 8);
	CHECK((state.regs.rsp + 8) % 16 == 0);
	CHECK(state.regs.rdi == kBootInfoBase);
	CHECK(state.regs.rflags == 0x2);
	CHECK(state.sregs.cs.l == 1);
	CHECK(state.sregs.cs.selector == 8);
	CHECK(state.sregs.ds.selector == 16);
	CHECK((state.sregs.efer & 0x500) == 0x500);
	CHECK(state.sregs.cr3 == kPml4Base);
	CHECK(state.sregs.tr.present == 1);

	auto info = memory.load<BootInfo>(gpa(kBootInfoBase));
	REQUIRE(info);
	CHECK(info->memSize == size);
	CHECK(info->kernelEnd == 0x103000);
	CHECK(info->cpuCycleFreq == 2'500'000'000);
	CHECK(info->hostFeatures == 0);
	CHECK(info->manifest == kBootInfoBase + sizeof(BootInfo));
	CHECK(info->cmdline == info->manifest + hvt.manifest.size());
	std::vector<std::uint8_t> manifest(hvt.manifest.size());
	REQUIRE(memory.read(gpa(info->manifest), manifest));
	CHECK(manifest == hvt.manifest);
	std::string cmdline(12, '\0');
	REQUIRE(memory.read(gpa(info->cmdline), { reinterpret_cast<std::uint8_t *>(cmdline.data()), 12 }));
	CHECK(cmdline == std::string("Hello_Solo5\0", 12));

	// The guest's view through its page tables: identity-mapped, nothing
	// below the boot info, the top of memory reachable, nothing past it.
	PagingState paging = PagingState::fromSregs(state.sregs);
	CHECK(paging.kind == PagingState::Kind::Long);
	CHECK_FALSE(translate(memory, paging, 0).address);
	CHECK_FALSE(translate(memory, paging, 0x2000).address);
	CHECK(translate(memory, paging, kBootInfoBase).address == gpa(kBootInfoBase));
	CHECK(translate(memory, paging, 0x123456).address == gpa(0x123456));
	CHECK(translate(memory, paging, size - 8).address == gpa(size - 8));
	CHECK_FALSE(translate(memory, paging, size).address);
	// Boot info read-only, kernel pages writable.
	auto pt0 = [&](std::uint64_t page) { return *memory.load<std::uint64_t>(gpa(kPt0Base + page / 0x1000 * 8)); };
	CHECK((pt0(kBootInfoBase) & 3) == 1);
	CHECK((pt0(kEntry) & 3) == 3);
}

// ---- Devices ---------------------------------------------------------------------

TEST_CASE("devices: declared and given, or one clear line")
{
	TempDir dir;
	HvtImage hvt = readHvtImage(image(buildElf(twoSegments(), goodNotes({ { "storage", kDeviceBlock } }))));
	DeviceArgs args;
	CHECK(errorOf([&] { attachDevices(hvt, args, {}); }) ==
	      "Device 'storage' of type BLOCK_BASIC declared but not attached (give --block:storage=...)");

	args.blockPaths["disk"] = dir.file("a.img", 4096);
	CHECK(errorOf([&] { attachDevices(hvt, args, {}); }) ==
	      "--block:disk: Resource not declared in manifest: 'disk'");

	args.blockPaths.clear();
	args.blockPaths["storage"] = dir.file("b.img", 6144);
	args.sectorSizes["storage"] = 4096;
	CHECK(errorOf([&] { attachDevices(hvt, args, {}); }).starts_with("storage: Backing storage size must be block aligned (4096 bytes)"));
	args.sectorSizes["storage"] = 521;
	CHECK(errorOf([&] { attachDevices(hvt, args, {}); }) ==
	      "Block size must be a multiple of 2 greater than or equal 512");
	args.blockPaths["storage"] = dir.file("c.img", 256);
	args.sectorSizes["storage"] = 256;
	CHECK(errorOf([&] { attachDevices(hvt, args, {}); }) ==
	      "Block size must be a multiple of 2 greater than or equal 512");
	args.blockPaths["storage"] = dir.file("missing/d.img", 0);
	args.sectorSizes.clear();
	CHECK(errorOf([&] { attachDevices(hvt, args, {}); }).starts_with("Could not open block device: "));

	args.blockPaths["storage"] = dir.file("e.img", 8192);
	args.sectorSizes["storage"] = 4096;
	Attachments attached = attachDevices(hvt, args, {});
	std::vector<std::uint8_t> manifest = guestManifest(hvt, attached);
	ManifestEntry entry;
	std::memcpy(&entry, manifest.data() + sizeof(ManifestHeader) + sizeof(ManifestEntry), sizeof(entry));
	CHECK(entry.attached);
	CHECK(entry.u.block.capacity == 8192);
	CHECK(entry.u.block.blockSize == 4096);
}

namespace {

class FakeGuest : public GuestContext {
public:
	explicit FakeGuest(std::size_t bytes)
		: memory_(bytes) {}
	GuestMemory &memory() override { return memory_; }
	Translation translatePointer(std::uint64_t) override { return {}; }
	std::uint64_t pointerBase() override { return 0; }
	void print(std::string_view text) override { printed += text; }
	void warn(std::string_view) override {}
	std::int64_t uptimeNs() const override { return 0; }

	std::string printed;

private:
	GuestMemory memory_;
};

// A net port fed by the test.
class FakePort : public NetPort {
public:
	bool send(std::span<const std::uint8_t> frame) override
	{
		sent.emplace_back(frame.begin(), frame.end());
		return true;
	}
	std::optional<std::size_t> receive(std::span<std::uint8_t> out) override
	{
		if (inbox.empty())
			return std::nullopt;
		std::size_t n = std::min(out.size(), inbox.front().size());
		std::memcpy(out.data(), inbox.front().data(), n);
		inbox.erase(inbox.begin());
		return n;
	}
	bool readable() override { return !inbox.empty(); }

	std::vector<std::vector<std::uint8_t>> sent, inbox;
};

constexpr std::uint64_t kBlock = 0x200000;  // argument blocks
constexpr std::uint64_t kBuffer = 0x201000; // data buffers
constexpr std::uint64_t kText = 0x100000;   // a read-only kernel segment

struct HvtGuest {
	FakeGuest guest{ 4 << 20 };
	Nanos now = 1'000'000;
	HvtHypercalls calls;
	FakePort *port = nullptr;

	explicit HvtGuest(Attachments attachments = {})
		: calls(guest, std::move(attachments), { { kText, kText + 0x1000, false, true } },
			{ [this] { return now; }, [] { return Nanos{ 1'700'000'000'000'000'000 }; } })
	{
	}

	template <typename Block>
	IoStatus call(Call which, const Block &block, std::uint64_t at = kBlock)
	{
		guest.memory().store(gpa(at), block);
		std::uint32_t address = static_cast<std::uint32_t>(at);
		std::uint8_t bytes[4];
		std::memcpy(bytes, &address, 4);
		return calls.portOut(static_cast<std::uint16_t>(which), bytes);
	}
	template <typename Block>
	Block result(std::uint64_t at = kBlock)
	{
		return *guest.memory().load<Block>(gpa(at));
	}
};

Attachments withNet(FakePort *&port)
{
	Attachments attachments;
	auto owned = std::make_unique<FakePort>();
	port = owned.get();
	attachments.nets[1].port = std::move(owned);
	return attachments;
}

} // namespace

TEST_CASE("puts prints the guest's bytes; walltime writes the wall clock")
{
	HvtGuest g;
	const char text[] = "Hello, Solo5\n";
	g.guest.memory().write(gpa(kBuffer), { reinterpret_cast<const std::uint8_t *>(text), 13 });
	CHECK(g.call(Call::Puts, PutsBlock{ kBuffer, 13 }) == IoStatus::Done);
	CHECK(g.guest.printed == "Hello, Solo5\n");
	CHECK(g.call(Call::Walltime, WalltimeBlock{ 0 }) == IoStatus::Done);
	CHECK(g.result<WalltimeBlock>().nsecs == 1'700'000'000'000'000'000ull);
}

TEST_CASE("a bad guest pointer is an Error with one line, never a host write")
{
	HvtGuest g;
	CHECK(g.call(Call::Puts, PutsBlock{ (4 << 20) - 4, 16 }) == IoStatus::Error);
	CHECK(g.calls.lastError() == "hvt puts: invalid guest access: gpa=0x3ffffc, size=16 (outside 4194304 bytes of memory)");
	CHECK(g.call(Call::Puts, PutsBlock{ UINT64_MAX - 2, 16 }) == IoStatus::Error);
	// The argument block itself outside memory.
	std::uint32_t outside = 5 << 20;
	std::uint8_t bytes[4];
	std::memcpy(bytes, &outside, 4);
	CHECK(g.calls.portOut(static_cast<std::uint16_t>(Call::Walltime), bytes) == IoStatus::Error);
	// Results may not be written into read-only kernel text.
	CHECK(g.call(Call::Walltime, WalltimeBlock{ 0 }, kText + 8) == IoStatus::Error);
	CHECK(g.calls.lastError().find("read-only kernel segment") != std::string::npos);
	// Not a hypercall: port 0x500, an IN, a 2-byte OUT.
	CHECK(g.calls.portOut(0, bytes) == IoStatus::Error);
	CHECK(g.calls.lastError() == "Invalid guest hypercall: num=0");
	CHECK(g.calls.portIn(1, bytes) == IoStatus::Error);
	CHECK(g.calls.portOut(1, std::span<const std::uint8_t>(bytes, 2)) == IoStatus::Error);
}

TEST_CASE("halt: exit status, abort's 255, and the trap frame cookie")
{
	HvtGuest g;
	CHECK(g.call(Call::Halt, HaltBlock{ 0, 3 }) == IoStatus::Stop);
	CHECK(g.calls.exitStatus() == 3);
	CHECK_FALSE(g.calls.trapFrame());

	HvtGuest a;
	TrapFrame frame{ 0x0, 0x2, 0x100123, 8, 0x2, 0x3ff000, 16 };
	a.guest.memory().store(gpa(kBuffer), frame);
	CHECK(a.call(Call::Halt, HaltBlock{ kBuffer, kExitAbort }) == IoStatus::Stop);
	CHECK(a.calls.exitStatus() == 255);
	REQUIRE(a.calls.trapFrame());
	CHECK(a.calls.trapFrame()->rip == 0x100123);

	HvtGuest b;
	CHECK(b.call(Call::Halt, HaltBlock{ (4 << 20) - 100, 255 }) == IoStatus::Error);
	CHECK_FALSE(b.calls.exitStatus());
}

TEST_CASE("block read and write: sectors of the file, bounds and alignment checked")
{
	TempDir dir;
	std::string path = dir.file("disk.img", 4 * 512);
	Attachments attachments;
	attachments.blocks[1] = std::make_unique<BlockFile>("storage", path, 512);
	HvtGuest g(std::move(attachments));

	std::vector<std::uint8_t> sector(512);
	for (std::size_t i = 0; i < sector.size(); ++i)
		sector[i] = static_cast<std::uint8_t>(i * 7);
	g.guest.memory().write(gpa(kBuffer), sector);
	CHECK(g.call(Call::BlockWrite, BlockIoBlock{ 1, 1024, kBuffer, 512, -1 }) == IoStatus::Done);
	CHECK(g.result<BlockIoBlock>().ret == kOk);
	g.calls.release();
	std::ifstream file(path, std::ios::binary);
	std::vector<char> onDisk(2048);
	file.read(onDisk.data(), 2048);
	CHECK(std::memcmp(onDisk.data() + 1024, sector.data(), 512) == 0);

	g.guest.memory().fill(gpa(kBuffer), 512, 0);
	CHECK(g.call(Call::BlockRead, BlockIoBlock{ 1, 1024, kBuffer, 512, -1 }) == IoStatus::Done);
	CHECK(g.result<BlockIoBlock>().ret == kOk);
	std::vector<std::uint8_t> back(512);
	g.guest.memory().read(gpa(kBuffer), back);
	CHECK(back == sector);

	auto ret = [&](Call which, BlockIoBlock b) {
		REQUIRE(g.call(which, b) == IoStatus::Done);
		return g.result<BlockIoBlock>().ret;
	};
	CHECK(ret(Call::BlockRead, { 1, 100, kBuffer, 512, -1 }) == kInvalid);  // misaligned offset
	CHECK(ret(Call::BlockRead, { 1, 0, kBuffer, 100, -1 }) == kInvalid);    // partial sector
	CHECK(ret(Call::BlockRead, { 1, 2048, kBuffer, 512, -1 }) == kInvalid); // past the end
	CHECK(ret(Call::BlockRead, { 1, 1536, kBuffer, 1024, -1 }) == kInvalid);
	CHECK(ret(Call::BlockRead, { 1, UINT64_MAX - 511, kBuffer, 512, -1 }) == kInvalid);
	CHECK(ret(Call::BlockRead, { 7, 0, kBuffer, 512, -1 }) == kInvalid); // no such handle
	CHECK(ret(Call::BlockRead, { 1, 0, kBuffer, 0, -1 }) == kInvalid);
	// Reading into read-only text would crash a host that write-protects it.
	CHECK(g.call(Call::BlockRead, BlockIoBlock{ 1, 0, kText, 512, -1 }) == IoStatus::Error);
}

TEST_CASE("poll parks until the deadline, or until a frame arrives")
{
	HvtGuest g;
	CHECK(g.call(Call::Poll, PollBlock{ 0, 0, -1 }) == IoStatus::Done);
	CHECK(g.result<PollBlock>().ret == 0);

	CHECK(g.call(Call::Poll, PollBlock{ 5'000'000, 0, -1 }) == IoStatus::Blocked);
	REQUIRE(g.calls.pollWait());
	CHECK(g.calls.pollWait()->deadline == g.now + 5'000'000);
	CHECK(g.calls.pollWait()->fds.empty());
	// Woken early (another reason): still waits for the same deadline.
	g.now += 1'000'000;
	CHECK(g.call(Call::Poll, PollBlock{ 5'000'000, 0, -1 }) == IoStatus::Blocked);
	CHECK(g.calls.pollWait()->deadline == 1'000'000 + 5'000'000);
	g.now += 4'000'000;
	CHECK(g.call(Call::Poll, PollBlock{ 5'000'000, 0, -1 }) == IoStatus::Done);
	CHECK(g.result<PollBlock>().ret == 0);
	CHECK_FALSE(g.calls.pollWait());

	FakePort *port = nullptr;
	HvtGuest n(withNet(port));
	CHECK(n.call(Call::Poll, PollBlock{ UINT64_MAX, 0, -1 }) == IoStatus::Blocked);
	CHECK(n.calls.pollWait()->deadline == INT64_MAX);
	port->inbox.push_back({ 1, 2, 3 });
	CHECK(n.call(Call::Poll, PollBlock{ UINT64_MAX, 0, -1 }) == IoStatus::Done);
	CHECK(n.result<PollBlock>().ret == 1);
	CHECK(n.result<PollBlock>().readySet == 0b10);
}

TEST_CASE("net write and read go through the port; an empty queue is AGAIN")
{
	FakePort *port = nullptr;
	HvtGuest g(withNet(port));
	std::vector<std::uint8_t> frame(60, 0xab);
	g.guest.memory().write(gpa(kBuffer), frame);
	CHECK(g.call(Call::NetWrite, NetIoBlock{ 1, kBuffer, 60, -1 }) == IoStatus::Done);
	CHECK(g.result<NetIoBlock>().ret == kOk);
	REQUIRE(port->sent.size() == 1);
	CHECK(port->sent[0] == frame);
	CHECK(g.call(Call::NetWrite, NetIoBlock{ 2, kBuffer, 60, -1 }) == IoStatus::Done);
	CHECK(g.result<NetIoBlock>().ret == kInvalid);

	CHECK(g.call(Call::NetRead, NetIoBlock{ 1, kBuffer, 1514, -1 }) == IoStatus::Done);
	CHECK(g.result<NetIoBlock>().ret == kAgain);
	port->inbox.push_back({ 9, 8, 7, 6 });
	CHECK(g.call(Call::NetRead, NetIoBlock{ 1, kBuffer, 1514, -1 }) == IoStatus::Done);
	CHECK(g.result<NetIoBlock>().ret == kOk);
	CHECK(g.result<NetIoBlock>().length == 4);
	CHECK(g.guest.memory().load<std::uint32_t>(gpa(kBuffer)) == 0x06070809);
	CHECK(g.calls.attachments().nets.at(1).framesReceived == 1);
	CHECK(g.calls.attachments().nets.at(1).framesSent == 1);
	CHECK(g.call(Call::NetRead, NetIoBlock{ 1, kText, 1514, -1 }) == IoStatus::Error);
}

TEST_CASE("--dumpcore: an ELF core with the trap frame's registers and the guest's memory")
{
	TempDir dir;
	GuestMemory memory(4 << 20);
	const char pattern[] = "guest bytes";
	memory.write(gpa(0x100000), { reinterpret_cast<const std::uint8_t *>(pattern), sizeof(pattern) });
	kvm_regs regs{};
	regs.rip = 0x100010;
	regs.rax = 42;
	kvm_sregs sregs{};
	TrapFrame trap{ 0, 0, 0x100abc, 8, 2, 0x3ff000, 16 };
	CHECK(coreFileName(123) == "core.solo5-hvt.123");
	std::size_t pages = writeCore(dir.path.string(), "core.test", memory, regs, sregs, trap);
	CHECK(pages >= 1);
	CHECK(pages < (4 << 20) / 4096); // untouched pages are holes

	std::ifstream in(dir.path / "core.test", std::ios::binary);
	std::stringstream buffer;
	buffer << in.rdbuf();
	std::string core = buffer.str();
	Elf64_Ehdr eh;
	REQUIRE(core.size() > sizeof(eh));
	std::memcpy(&eh, core.data(), sizeof(eh));
	CHECK(std::memcmp(eh.e_ident, ELFMAG, SELFMAG) == 0);
	CHECK(eh.e_type == ET_CORE);
	CHECK(eh.e_machine == EM_X86_64);
	REQUIRE(eh.e_phnum == 2);
	Elf64_Phdr note, load;
	std::memcpy(&note, core.data() + eh.e_phoff, sizeof(note));
	std::memcpy(&load, core.data() + eh.e_phoff + sizeof(note), sizeof(load));
	CHECK(note.p_type == PT_NOTE);
	CHECK(load.p_type == PT_LOAD);
	CHECK(load.p_filesz == memory.size());
	REQUIRE(core.size() == load.p_offset + memory.size());
	CHECK(core.compare(load.p_offset + 0x100000, sizeof(pattern) - 1, pattern) == 0);
	prstatus_t status;
	std::memcpy(&status, core.data() + note.p_offset + sizeof(Elf64_Nhdr) + 8, sizeof(status));
	user_regs_struct user;
	std::memcpy(&user, &status.pr_reg, sizeof(user));
	CHECK(user.rip == 0x100abc); // the trap frame's, not the halt call's
	CHECK(user.rax == 42);
	// Never overwrites a file.
	CHECK_THROWS_AS(writeCore(dir.path.string(), "core.test", memory, regs, sregs, trap), HostError);
}

} // namespace quanta::hvt

// The Solo5 hvt guest ABI (version 2) as quanta sees it from the host side:
// the boot info handed to the guest, the hypercall argument blocks, the ELF
// notes and the application manifest. Written from Solo5's documented ABI
// (include/hvt_abi.h, mft_abi.h, elf_abi.h); the static_asserts pin every
// size and offset a guest built with Solo5's toolchain relies on.
#pragma once

#include <cstddef>
#include <cstdint>

namespace quanta::hvt {

inline constexpr std::uint32_t kAbiVersion = 2;
inline constexpr std::uint32_t kAbiTargetHvt = 1;

// Hypercall n is an `outl` of a 32-bit guest-physical block address to
// kPortBase + n.
inline constexpr std::uint16_t kPortBase = 0x500;
enum class Call : std::uint16_t {
	Walltime = 1,
	Puts = 2,
	Poll = 3,
	BlockWrite = 4,
	BlockRead = 5,
	NetWrite = 6,
	NetRead = 7,
	Halt = 8,
};
inline constexpr std::uint16_t kPortCount = 9; // 0x500 (reserved) .. 0x508

// Guests are linked at or above 1 MiB; below it lie the tender's tables
// and the boot info.
inline constexpr std::uint64_t kGuestMinBase = 0x100000;
inline constexpr std::size_t kCmdlineSize = 8192; // including the NUL
inline constexpr std::size_t kHaltCookieMax = 512;

// Results in the `ret` fields (solo5_result_t).
enum Result : std::int32_t {
	kOk = 0,
	kAgain = 1,
	kInvalid = 2,
	kUnspecified = 3,
};
inline constexpr int kExitAbort = 255; // SOLO5_EXIT_ABORT

// rdi at entry points at this. Fields after `manifest` negotiate the ring
// I/O extension, which quanta does not offer (hostFeatures = 0), so guests
// use the hypercalls.
struct BootInfo {
	std::uint64_t memSize;
	std::uint64_t kernelEnd;
	std::uint64_t cpuCycleFreq; // TSC frequency, Hz
	std::uint64_t cmdline;      // guest-physical address of a C string
	std::uint64_t manifest;     // guest-physical address of the manifest
	std::uint32_t hostFeatures;
	std::uint32_t guestFeatures;
	std::uint64_t netRing;
};
static_assert(sizeof(BootInfo) == 56 && offsetof(BootInfo, hostFeatures) == 40);

struct WalltimeBlock {
	std::uint64_t nsecs;
};

struct PutsBlock {
	std::uint64_t data;
	std::uint64_t length;
};
static_assert(sizeof(PutsBlock) == 16);

struct BlockIoBlock {
	std::uint64_t handle;
	std::uint64_t offset;
	std::uint64_t data;
	std::uint64_t length;
	std::int32_t ret;
};
static_assert(sizeof(BlockIoBlock) == 40 && offsetof(BlockIoBlock, ret) == 32);

struct NetIoBlock {
	std::uint64_t handle;
	std::uint64_t data;
	std::uint64_t length; // read: in = buffer size, out = frame size
	std::int32_t ret;
};
static_assert(sizeof(NetIoBlock) == 32 && offsetof(NetIoBlock, ret) == 24);

struct PollBlock {
	std::uint64_t timeoutNs; // relative to the call
	std::uint64_t readySet;  // bit i: handle i is readable
	std::int32_t ret;        // how many handles are ready
};
static_assert(sizeof(PollBlock) == 24 && offsetof(PollBlock, ret) == 16);

struct HaltBlock {
	std::uint64_t cookie; // 0, or the guest's trap frame after an exception
	std::int32_t exitStatus;
};
static_assert(sizeof(HaltBlock) == 16 && offsetof(HaltBlock, exitStatus) == 8);

// The trap frame an hvt guest passes as the halt cookie on an exception.
struct TrapFrame {
	std::uint64_t cr2;
	std::uint64_t errorCode;
	std::uint64_t rip;
	std::uint64_t cs;
	std::uint64_t rflags;
	std::uint64_t rsp;
	std::uint64_t ss;
};

// ELF notes: name "Solo5", types ABI1 and MFT1.
inline constexpr char kNoteName[] = "Solo5";
inline constexpr std::uint32_t kNoteTypeAbi = 0x31494241;      // "ABI1"
inline constexpr std::uint32_t kNoteTypeManifest = 0x3154464d; // "MFT1"
// Note header (namesz, descsz, type) plus the name padded to 4 bytes.
inline constexpr std::size_t kNoteHeaderSize = 12 + 8;

struct AbiInfo {
	std::uint32_t target;
	std::uint32_t version;
	std::uint32_t reserved0;
	std::uint32_t reserved1;
};
inline constexpr std::size_t kAbiNoteAlign = 4;
inline constexpr std::size_t kAbiNoteMaxSize = 32;

// The manifest: a header and up to 64 entries; entry 0 is reserved.
inline constexpr std::uint32_t kManifestVersion = 1;
inline constexpr std::uint32_t kManifestMaxEntries = 64;
inline constexpr std::size_t kNameSize = 68; // including the NUL
enum ManifestType : std::uint32_t {
	kDeviceBlock = 1,
	kDeviceNet = 2,
	kReservedFirst = 1u << 30,
};

struct ManifestEntry {
	char name[kNameSize];
	std::uint32_t type;
	union {
		struct {
			std::uint64_t capacity;
			std::uint16_t blockSize;
		} block;
		struct {
			std::uint8_t mac[6];
			std::uint16_t mtu;
		} net;
	} u;
	std::uint64_t backing; // the tender's private handle; unused by guests
	bool attached;
};
static_assert(sizeof(ManifestEntry) == 104);
static_assert(offsetof(ManifestEntry, type) == 68 && offsetof(ManifestEntry, u) == 72);
static_assert(offsetof(ManifestEntry, backing) == 88 && offsetof(ManifestEntry, attached) == 96);

struct ManifestHeader {
	std::uint32_t version;
	std::uint32_t entries;
};
inline constexpr std::size_t kManifestNoteAlign = alignof(ManifestEntry);
static_assert(kManifestNoteAlign == 8);
// descsz of the largest manifest note: the alignment padding, the header
// and 64 entries.
inline constexpr std::size_t kManifestNoteMaxSize =
	4 + sizeof(ManifestHeader) + kManifestMaxEntries * sizeof(ManifestEntry);

} // namespace quanta::hvt

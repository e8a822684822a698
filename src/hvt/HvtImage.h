// Solo5 hvt unikernels: recognised by their ELF notes, checked as
// solo5-hvt checks them (with its wording where Solo5's suite matches it),
// and loaded at their link addresses. Pure: works on the file's bytes and
// on GuestMemory, so every check is unit-tested without KVM.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "boot/Image.h"
#include "hvt/HvtAbi.h"
#include "memory/GuestMemory.h"

namespace quanta::hvt {

// True when the file is an ELF64 with a Solo5-owned note: it is meant for a
// Solo5 tender, so its own checks apply (and a malformed one is reported as
// such rather than booted as a plain ELF).
bool isSolo5Image(const ImageFile &image);
// The same for a file; false when it cannot be read (that is reported when
// the image is loaded).
bool isSolo5File(const std::string &path);

struct Device {
	std::string name;
	ManifestType type;
};

struct HvtImage {
	AbiInfo abi;
	// The manifest exactly as in the note (header and entries); the boot
	// info gets a copy with the attached devices filled in.
	std::vector<std::uint8_t> manifest;
	// Entry i of the manifest (entry 0 is the reserved one); a device's
	// index is the guest's handle for it.
	std::vector<Device> devices;
};

// Reads the ABI and manifest notes; throws UsageError with one line
// ("PATH: Executable requests unsupported ABI version 3", "PATH: Solo5
// manifest is invalid", "... note does not fall within valid size ...").
HvtImage readHvtImage(const ImageFile &image);

// A loaded segment and what the guest may do with it.
struct Segment {
	std::uint64_t start; // page-aligned
	std::uint64_t end;
	bool writable;
	bool executable;
};

struct HvtLoaded {
	std::uint64_t entry;
	std::uint64_t kernelEnd; // first byte after the highest segment
	std::vector<Segment> segments;
};

// Copies the PT_LOAD segments into memory (at their p_vaddr, which is also
// the guest-physical address) with solo5-hvt's checks: above 1 MiB, in
// ascending order, not overlapping, page-aligned, never writable and
// executable. Throws UsageError.
HvtLoaded loadHvtImage(const ImageFile &image, GuestMemory &memory);

} // namespace quanta::hvt

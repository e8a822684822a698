// The hvt device set: the hypercalls on ports 0x500-0x508 (walltime, puts,
// poll, block write/read, net write/read, halt) and the block and network
// back ends behind the manifest's devices. An hvt guest gets this set
// instead of quanta's native hypercalls (which use the same ports).
//
// Every guest pointer is checked through GuestMemory, and a buffer the host
// would write into must not lie in the kernel's read-only segments (they
// are write-protected on the host too, as in solo5-hvt): a bad pointer is
// an Error that stops this VM alone with one line.
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "base/Clock.h"
#include "base/UniqueFd.h"
#include "devices/GuestContext.h"
#include "devices/PortBus.h"
#include "hvt/HvtAbi.h"
#include "hvt/HvtImage.h"

namespace quanta::hvt {

// A block device backed by a host file (or block device), opened
// read-write. Writes go straight to the file; sync() flushes them to disk.
class BlockFile {
public:
	// Throws UsageError: "Could not open block device: PATH: why", and
	// solo5-hvt's checks of the size against the sector size.
	BlockFile(const std::string &name, const std::string &path, std::uint16_t sectorSize);

	std::uint64_t capacity() const { return capacity_; }
	std::uint16_t sectorSize() const { return sectorSize_; }
	// 0 or an errno.
	int read(std::uint64_t offset, std::span<std::uint8_t> out) const;
	int write(std::uint64_t offset, std::span<const std::uint8_t> in);
	void sync();

private:
	UniqueFd fd_;
	std::uint64_t capacity_ = 0;
	std::uint16_t sectorSize_;
	bool dirty_ = false;
};

// Checks a --block-sector-size value as solo5-hvt does; throws UsageError.
std::uint16_t checkSectorSize(std::uint64_t size);

// Where a net device's frames go: a host tap interface or a port of a
// switch inside quanta.
class NetPort {
public:
	virtual ~NetPort() = default;
	// Hands a frame on; false when it was dropped (a full queue).
	virtual bool send(std::span<const std::uint8_t> frame) = 0;
	// The next frame into `out` (its size, truncated to out.size()), or
	// nullopt when none is waiting.
	virtual std::optional<std::size_t> receive(std::span<std::uint8_t> out) = 0;
	virtual bool readable() = 0;
	// A descriptor that becomes readable with the next frame, or -1 when
	// the port is woken from inside quanta.
	virtual int pollFd() const { return -1; }
	// Ports woken from inside quanta call this when a frame arrives (the
	// run loop sets it to unpark the VM); a tap port needs none.
	virtual void setWakeup(std::function<void()>) {}
	virtual std::uint16_t mtu() const { return 1500; }
};

// What --block/--net gave for one guest, by manifest name.
struct DeviceArgs {
	std::map<std::string, std::string> blockPaths;
	std::map<std::string, std::uint16_t> sectorSizes;
	std::map<std::string, std::string> netTargets; // tap name or switch:NAME
	std::map<std::string, std::array<std::uint8_t, 6>> netMacs;
};

struct NetDevice {
	std::string name; // the manifest's
	std::unique_ptr<NetPort> port;
	std::array<std::uint8_t, 6> mac{};
	std::uint64_t framesSent = 0, framesReceived = 0, framesDropped = 0;
	std::uint64_t bytesSent = 0, bytesReceived = 0;
};

// The manifest's devices with their back ends, by manifest index (the
// guest's handle).
struct Attachments {
	std::map<std::size_t, std::unique_ptr<BlockFile>> blocks;
	std::map<std::size_t, NetDevice> nets;
};

// Opens a net target (tap interface or switch port); throws UsageError.
using NetOpener = std::function<std::unique_ptr<NetPort>(const std::string &device, const std::string &target)>;

// Attaches every device the manifest declares; throws UsageError with one
// line for a device given but not declared ("Resource not declared in
// manifest: 'NAME'") or declared but not given.
Attachments attachDevices(const HvtImage &image, const DeviceArgs &args, const NetOpener &openNet);

// The manifest the guest sees: the note's, with capacity and sector size,
// MAC and MTU filled in and the attached flags set.
std::vector<std::uint8_t> guestManifest(const HvtImage &image, const Attachments &attachments);

// While the guest waits in poll: until this deadline or until one of these
// descriptors is readable (frames from inside quanta wake it directly).
struct PollWait {
	Nanos deadline;
	std::vector<int> fds;
};

struct HvtClocks {
	std::function<Nanos()> monotonic; // for poll deadlines
	std::function<Nanos()> realtime;  // walltime
};
HvtClocks hostClocks();

class HvtHypercalls : public PortDevice {
public:
	HvtHypercalls(GuestContext &guest, Attachments attachments, std::vector<Segment> segments, HvtClocks clocks);

	IoStatus portIn(std::uint16_t offset, std::span<std::uint8_t> data) override;
	IoStatus portOut(std::uint16_t offset, std::span<const std::uint8_t> data) override;
	std::string lastError() const override { return error_; }
	ParkReason blockedOn() const override { return ParkReason::Poll; }
	std::uint32_t stopStatus() const override { return static_cast<std::uint32_t>(exitStatus_.value_or(0)) & 0xff; }

	// Set once the guest halted (solo5_exit, solo5_abort: 255).
	std::optional<int> exitStatus() const { return exitStatus_; }
	// The trap frame an exception handed to halt, if any.
	std::optional<TrapFrame> trapFrame() const { return trapFrame_; }
	// Set while the guest is parked in poll.
	const std::optional<PollWait> &pollWait() const { return pollWait_; }

	Attachments &attachments() { return attachments_; }
	const Attachments &attachments() const { return attachments_; }
	// Flushes block writes to disk.
	void release();

private:
	IoStatus walltime(GuestPhysAddr at);
	IoStatus puts(GuestPhysAddr at);
	IoStatus poll(GuestPhysAddr at);
	IoStatus blockIo(GuestPhysAddr at, bool write);
	IoStatus netWrite(GuestPhysAddr at);
	IoStatus netRead(GuestPhysAddr at);
	IoStatus halt(GuestPhysAddr at);

	IoStatus fail(std::string what);
	// A checked view of a guest buffer; `hostWrites`: we fill it, so it must
	// not lie in a read-only segment. Sets error_ and returns nullopt.
	std::optional<std::span<std::uint8_t>> buffer(const char *call, std::uint64_t addr, std::uint64_t length,
						      bool hostWrites);
	template <typename Block>
	std::optional<Block> loadBlock(const char *call, GuestPhysAddr at, bool hostWrites);
	template <typename Block>
	void storeBlock(GuestPhysAddr at, const Block &block);

	GuestContext &guest_;
	Attachments attachments_;
	std::vector<Segment> segments_;
	HvtClocks clocks_;
	std::optional<int> exitStatus_;
	std::optional<TrapFrame> trapFrame_;
	std::optional<PollWait> pollWait_;
	std::string error_;
};

} // namespace quanta::hvt

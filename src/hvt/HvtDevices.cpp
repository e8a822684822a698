#include "hvt/HvtDevices.h"

#include <bit>
#include <cerrno>
#include <cstring>
#include <ctime>
#include <fcntl.h>
#include <fmt/format.h>
#include <linux/fs.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/Error.h"

namespace quanta::hvt {

namespace {

const char *typeName(ManifestType type)
{
	switch (type) {
	case kDeviceBlock:
		return "BLOCK_BASIC";
	case kDeviceNet:
		return "NET_BASIC";
	case kReservedFirst:
		return "RESERVED_FIRST";
	}
	return "<undefined type>";
}

Nanos clockNs(clockid_t clock)
{
	timespec ts;
	::clock_gettime(clock, &ts);
	return Nanos{ ts.tv_sec } * 1'000'000'000 + ts.tv_nsec;
}

// A locally administered unicast MAC from the OS's random source.
std::array<std::uint8_t, 6> randomMac()
{
	std::array<std::uint8_t, 6> mac{};
	UniqueFd fd(::open("/dev/urandom", O_RDONLY | O_CLOEXEC));
	if (!fd.valid() || ::read(fd.get(), mac.data(), mac.size()) != static_cast<ssize_t>(mac.size()))
		throw HostError("read /dev/urandom", errno);
	mac[0] = static_cast<std::uint8_t>((mac[0] & 0xfe) | 0x02);
	return mac;
}

} // namespace

HvtClocks hostClocks()
{
	return { [] { return clockNs(CLOCK_MONOTONIC); }, [] { return clockNs(CLOCK_REALTIME); } };
}

std::uint16_t checkSectorSize(std::uint64_t size)
{
	if (size < 512 || size > 0x8000 || (size & (size - 1)) != 0)
		throw UsageError("Block size must be a multiple of 2 greater than or equal 512");
	return static_cast<std::uint16_t>(size);
}

BlockFile::BlockFile(const std::string &name, const std::string &path, std::uint16_t sectorSize)
	: fd_(::open(path.c_str(), O_RDWR | O_CLOEXEC)), sectorSize_(sectorSize)
{
	if (!fd_.valid())
		throw UsageError(fmt::format("Could not open block device: {}: {}", path, std::strerror(errno)));
	struct stat st;
	if (::fstat(fd_.get(), &st) != 0)
		throw UsageError(fmt::format("{}: Could not determine capacity: {}", path, std::strerror(errno)));
	if (S_ISBLK(st.st_mode)) {
		std::uint64_t bytes = 0;
		if (::ioctl(fd_.get(), BLKGETSIZE64, &bytes) != 0)
			throw UsageError(fmt::format("{}: Could not determine capacity: {}", path, std::strerror(errno)));
		capacity_ = bytes;
	} else if (S_ISREG(st.st_mode)) {
		capacity_ = static_cast<std::uint64_t>(st.st_size);
	} else {
		throw UsageError(fmt::format("{}: not a regular file or block device", path));
	}
	if (capacity_ % sectorSize_ != 0)
		throw UsageError(fmt::format("{}: Backing storage size must be block aligned ({} bytes); {} is {} bytes",
					     name, sectorSize_, path, capacity_));
	if (capacity_ < sectorSize_)
		throw UsageError(fmt::format("{}: Backing storage must be at least 1 block ({} bytes) in size", name,
					     sectorSize_));
}

int BlockFile::read(std::uint64_t offset, std::span<std::uint8_t> out) const
{
	std::size_t done = 0;
	while (done < out.size()) {
		ssize_t n = ::pread(fd_.get(), out.data() + done, out.size() - done, static_cast<off_t>(offset + done));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return errno;
		if (n == 0) { // the file shrank under us: the rest reads as zeros
			std::memset(out.data() + done, 0, out.size() - done);
			return 0;
		}
		done += static_cast<std::size_t>(n);
	}
	return 0;
}

int BlockFile::write(std::uint64_t offset, std::span<const std::uint8_t> in)
{
	std::size_t done = 0;
	while (done < in.size()) {
		ssize_t n = ::pwrite(fd_.get(), in.data() + done, in.size() - done, static_cast<off_t>(offset + done));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n < 0 ? errno : EIO;
		done += static_cast<std::size_t>(n);
	}
	dirty_ = true;
	return 0;
}

void BlockFile::sync()
{
	if (dirty_ && fd_.valid())
		::fdatasync(fd_.get());
	dirty_ = false;
}

Attachments attachDevices(const HvtImage &image, const DeviceArgs &args, const NetOpener &openNet)
{
	auto indexOf = [&](const std::string &name, ManifestType type) -> std::optional<std::size_t> {
		for (std::size_t i = 1; i < image.devices.size(); ++i)
			if (image.devices[i].type == type && image.devices[i].name == name)
				return i;
		return std::nullopt;
	};
	auto require = [&](const std::string &name, ManifestType type, const char *option) {
		auto index = indexOf(name, type);
		if (!index)
			throw UsageError(fmt::format("{}{}: Resource not declared in manifest: '{}'", option, name, name));
		return *index;
	};

	Attachments result;
	for (const auto &[name, size] : args.sectorSizes) {
		require(name, kDeviceBlock, "--block-sector-size:");
		checkSectorSize(size);
	}
	for (const auto &[name, path] : args.blockPaths) {
		std::size_t index = require(name, kDeviceBlock, "--block:");
		auto size = args.sectorSizes.find(name);
		std::uint16_t sector = size == args.sectorSizes.end() ? 512 : size->second;
		result.blocks[index] = std::make_unique<BlockFile>(name, path, sector);
	}
	for (const auto &[name, mac] : args.netMacs)
		require(name, kDeviceNet, "--net-mac:");
	for (const auto &[name, target] : args.netTargets) {
		std::size_t index = require(name, kDeviceNet, "--net:");
		NetDevice device;
		device.name = name;
		if (!openNet)
			throw UsageError(fmt::format("--net:{}: network devices are not available here", name));
		device.port = openNet(name, target);
		auto mac = args.netMacs.find(name);
		device.mac = mac == args.netMacs.end() ? randomMac() : mac->second;
		result.nets[index] = std::move(device);
	}
	for (std::size_t i = 1; i < image.devices.size(); ++i) {
		const Device &device = image.devices[i];
		bool attached = device.type == kDeviceBlock ? result.blocks.count(i) != 0
				: device.type == kDeviceNet ? result.nets.count(i) != 0
							    : true;
		if (!attached)
			throw UsageError(fmt::format("Device '{}' of type {} declared but not attached (give {}{}=...)",
						     device.name, typeName(device.type),
						     device.type == kDeviceBlock ? "--block:" : "--net:", device.name));
	}
	return result;
}

std::vector<std::uint8_t> guestManifest(const HvtImage &image, const Attachments &attachments)
{
	std::vector<std::uint8_t> bytes = image.manifest;
	auto entryAt = [&](std::size_t i) { return bytes.data() + sizeof(ManifestHeader) + i * sizeof(ManifestEntry); };
	for (std::size_t i = 1; i < image.devices.size(); ++i) {
		ManifestEntry entry;
		std::memcpy(&entry, entryAt(i), sizeof(entry));
		if (auto block = attachments.blocks.find(i); block != attachments.blocks.end()) {
			entry.u.block.capacity = block->second->capacity();
			entry.u.block.blockSize = block->second->sectorSize();
			entry.attached = true;
		} else if (auto net = attachments.nets.find(i); net != attachments.nets.end()) {
			std::memcpy(entry.u.net.mac, net->second.mac.data(), 6);
			entry.u.net.mtu = net->second.port->mtu();
			entry.attached = true;
		}
		entry.backing = 0;
		std::memcpy(entryAt(i), &entry, sizeof(entry));
	}
	return bytes;
}

HvtHypercalls::HvtHypercalls(GuestContext &guest, Attachments attachments, std::vector<Segment> segments,
			     HvtClocks clocks)
	: guest_(guest), attachments_(std::move(attachments)), segments_(std::move(segments)), clocks_(std::move(clocks))
{
}

void HvtHypercalls::release()
{
	for (auto &[index, block] : attachments_.blocks)
		block->sync();
}

IoStatus HvtHypercalls::fail(std::string what)
{
	error_ = std::move(what);
	return IoStatus::Error;
}

IoStatus HvtHypercalls::portIn(std::uint16_t offset, std::span<std::uint8_t>)
{
	return fail(fmt::format("Invalid guest port access: port={:#x} (in; hvt hypercalls are 4-byte OUTs)",
				kPortBase + offset));
}

std::optional<std::span<std::uint8_t>> HvtHypercalls::buffer(const char *call, std::uint64_t addr,
							     std::uint64_t length, bool hostWrites)
{
	auto view = guest_.memory().view(gpa(addr), length);
	if (!view) {
		error_ = fmt::format("hvt {}: invalid guest access: gpa={:#x}, size={} (outside {} bytes of memory)", call,
				     addr, length, guest_.memory().size());
		return std::nullopt;
	}
	if (hostWrites && length > 0) {
		for (const Segment &segment : segments_) {
			if (!segment.writable && addr < segment.end && segment.start < addr + length) {
				error_ = fmt::format("hvt {}: invalid guest access: gpa={:#x}, size={} (in read-only kernel "
						     "segment [{:#x}, {:#x}))",
						     call, addr, length, segment.start, segment.end);
				return std::nullopt;
			}
		}
	}
	return view;
}

template <typename Block>
std::optional<Block> HvtHypercalls::loadBlock(const char *call, GuestPhysAddr at, bool hostWrites)
{
	auto bytes = buffer(call, raw(at), sizeof(Block), hostWrites);
	if (!bytes)
		return std::nullopt;
	Block block;
	std::memcpy(&block, bytes->data(), sizeof(Block));
	return block;
}

template <typename Block>
void HvtHypercalls::storeBlock(GuestPhysAddr at, const Block &block)
{
	// Checked by loadBlock with hostWrites.
	guest_.memory().store(at, block);
}

IoStatus HvtHypercalls::portOut(std::uint16_t offset, std::span<const std::uint8_t> data)
{
	if (data.size() != 4)
		return fail(fmt::format("Invalid guest port access: port={:#x} ({}-byte OUT; hvt hypercalls are 4 bytes)",
					kPortBase + offset, data.size()));
	std::uint32_t raw32;
	std::memcpy(&raw32, data.data(), 4);
	GuestPhysAddr at = gpa(raw32);
	switch (static_cast<Call>(offset)) {
	case Call::Walltime:
		return walltime(at);
	case Call::Puts:
		return puts(at);
	case Call::Poll:
		return poll(at);
	case Call::BlockWrite:
		return blockIo(at, true);
	case Call::BlockRead:
		return blockIo(at, false);
	case Call::NetWrite:
		return netWrite(at);
	case Call::NetRead:
		return netRead(at);
	case Call::Halt:
		return halt(at);
	}
	return fail(fmt::format("Invalid guest hypercall: num={}", offset));
}

IoStatus HvtHypercalls::walltime(GuestPhysAddr at)
{
	auto block = loadBlock<WalltimeBlock>("walltime", at, true);
	if (!block)
		return IoStatus::Error;
	block->nsecs = static_cast<std::uint64_t>(clocks_.realtime());
	storeBlock(at, *block);
	return IoStatus::Done;
}

IoStatus HvtHypercalls::puts(GuestPhysAddr at)
{
	auto block = loadBlock<PutsBlock>("puts", at, false);
	if (!block)
		return IoStatus::Error;
	auto text = buffer("puts", block->data, block->length, false);
	if (!text)
		return IoStatus::Error;
	guest_.print({ reinterpret_cast<const char *>(text->data()), text->size() });
	return IoStatus::Done;
}

IoStatus HvtHypercalls::poll(GuestPhysAddr at)
{
	auto block = loadBlock<PollBlock>("poll", at, true);
	if (!block)
		return IoStatus::Error;
	const Nanos now = clocks_.monotonic();
	// A retried call (after the VM was parked) keeps its first deadline.
	Nanos deadline;
	if (pollWait_) {
		deadline = pollWait_->deadline;
	} else {
		std::uint64_t timeout = block->timeoutNs;
		Nanos room = INT64_MAX - now;
		deadline = timeout >= static_cast<std::uint64_t>(room) ? INT64_MAX : now + static_cast<Nanos>(timeout);
	}
	std::uint64_t ready = 0;
	for (auto &[index, net] : attachments_.nets)
		if (net.port->readable())
			ready |= std::uint64_t{ 1 } << index;
	if (ready == 0 && now < deadline) {
		PollWait wait{ deadline, {} };
		for (auto &[index, net] : attachments_.nets)
			if (int fd = net.port->pollFd(); fd >= 0)
				wait.fds.push_back(fd);
		pollWait_ = std::move(wait);
		return IoStatus::Blocked;
	}
	pollWait_.reset();
	block->readySet = ready;
	block->ret = std::popcount(ready);
	storeBlock(at, *block);
	return IoStatus::Done;
}

IoStatus HvtHypercalls::blockIo(GuestPhysAddr at, bool write)
{
	const char *call = write ? "block write" : "block read";
	auto block = loadBlock<BlockIoBlock>(call, at, true);
	if (!block)
		return IoStatus::Error;
	auto device = attachments_.blocks.find(block->handle);
	auto reply = [&](std::int32_t ret) {
		block->ret = ret;
		storeBlock(at, *block);
		return IoStatus::Done;
	};
	if (device == attachments_.blocks.end())
		return reply(kInvalid);
	BlockFile &file = *device->second;
	const std::uint64_t sector = file.sectorSize();
	if (block->length == 0 || block->offset % sector != 0 || block->length % sector != 0 ||
	    block->offset >= file.capacity() || block->length > file.capacity() - block->offset)
		return reply(kInvalid);
	auto data = buffer(call, block->data, block->length, !write);
	if (!data)
		return IoStatus::Error;
	int err = write ? file.write(block->offset, *data) : file.read(block->offset, *data);
	if (err != 0)
		return fail(fmt::format("hvt {}: host I/O error at offset {}: {}", call, block->offset, std::strerror(err)));
	return reply(kOk);
}

IoStatus HvtHypercalls::netWrite(GuestPhysAddr at)
{
	auto block = loadBlock<NetIoBlock>("net write", at, true);
	if (!block)
		return IoStatus::Error;
	auto device = attachments_.nets.find(block->handle);
	if (device == attachments_.nets.end() || block->length == 0 || block->length > 0x10000) {
		block->ret = kInvalid;
		storeBlock(at, *block);
		return IoStatus::Done;
	}
	auto frame = buffer("net write", block->data, block->length, false);
	if (!frame)
		return IoStatus::Error;
	NetDevice &net = device->second;
	if (net.port->send(*frame)) {
		++net.framesSent;
		net.bytesSent += frame->size();
	} else {
		++net.framesDropped;
	}
	block->ret = kOk;
	storeBlock(at, *block);
	return IoStatus::Done;
}

IoStatus HvtHypercalls::netRead(GuestPhysAddr at)
{
	auto block = loadBlock<NetIoBlock>("net read", at, true);
	if (!block)
		return IoStatus::Error;
	auto device = attachments_.nets.find(block->handle);
	if (device == attachments_.nets.end()) {
		block->ret = kInvalid;
		storeBlock(at, *block);
		return IoStatus::Done;
	}
	auto out = buffer("net read", block->data, block->length, true);
	if (!out)
		return IoStatus::Error;
	NetDevice &net = device->second;
	std::optional<std::size_t> got = net.port->receive(*out);
	if (!got) {
		block->ret = kAgain;
	} else {
		++net.framesReceived;
		net.bytesReceived += *got;
		block->length = *got;
		block->ret = kOk;
	}
	storeBlock(at, *block);
	return IoStatus::Done;
}

IoStatus HvtHypercalls::halt(GuestPhysAddr at)
{
	auto block = loadBlock<HaltBlock>("halt", at, false);
	if (!block)
		return IoStatus::Error;
	if (block->cookie != 0) {
		auto cookie = buffer("halt", block->cookie, kHaltCookieMax, false);
		if (!cookie)
			return IoStatus::Error;
		TrapFrame frame;
		std::memcpy(&frame, cookie->data(), sizeof(frame));
		trapFrame_ = frame;
	}
	exitStatus_ = block->exitStatus;
	return IoStatus::Stop;
}

} // namespace quanta::hvt

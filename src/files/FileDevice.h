// Port 0x278: the file device. A 1-byte access speaks the mini_hypervisor
// byte protocol (a per-VM state machine, so a half-sent command is kept
// between exits and a guest that abandons one gets errors, not a wedged
// device); a 4-byte OUT is quanta's block protocol (one exit per call).
#pragma once

#include <string>

#include "base/Text.h"
#include "devices/GuestContext.h"
#include "devices/PortBus.h"
#include "files/FileStore.h"

namespace quanta {

// The byte protocol alone, on top of GuestFiles: pure, fed byte by byte.
class ByteProtocol {
public:
	explicit ByteProtocol(GuestFiles &files)
		: files_(files) {}

	void out(std::uint8_t byte);
	std::uint8_t in();

	// Non-empty when the last byte made an operation fail (for the log).
	std::string takeError();

private:
	enum class State {
		Idle,
		OpenName,   // collecting the name after opcode 1 or 2
		OpenResult, // 4 INs of the descriptor, big-endian
		CloseFd,    // 4 OUTs of the descriptor
		CloseResult,
		ReadFd,
		ReadResult,
		WriteFd,
		WriteByte,
		WriteResult,
	};

	void finishFd();
	void reset();
	void noteError(const std::string &what);

	GuestFiles &files_;
	State state_ = State::Idle;
	bool openForWrite_ = false;
	std::string name_;
	bool nameTooLong_ = false;
	std::uint32_t fd_ = 0;
	unsigned fdBytes_ = 0;
	std::int32_t result_ = 0;
	unsigned resultBytes_ = 0;
	std::uint8_t byte_ = 0;
	std::string error_;
};

class FileDevice : public PortDevice {
public:
	FileDevice(GuestContext &guest, const FileStore &store, unsigned guestId);

	IoStatus portIn(std::uint16_t offset, std::span<std::uint8_t> data) override;
	IoStatus portOut(std::uint16_t offset, std::span<const std::uint8_t> data) override;
	std::string lastError() const override { return error_; }

	GuestFiles &files() { return files_; }
	// The guest stopped: files synced and closed, held-back warnings counted.
	void stopped();

private:
	void block(GuestPhysAddr at);
	void logError(const std::string &what);

	GuestContext &guest_;
	GuestFiles files_;
	ByteProtocol bytes_;
	// A guest can fail a request per exit: a few lines per second, then a
	// count, so it cannot flood stderr.
	WarningLimiter limiter_;
	std::string error_;
};

} // namespace quanta

#include "files/FileDevice.h"

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <fmt/format.h>
#include <utility>
#include <vector>

#include <quanta/abi.h>

namespace quanta {

// ---- Byte protocol ---------------------------------------------------------

void ByteProtocol::reset()
{
	state_ = State::Idle;
	name_.clear();
	nameTooLong_ = false;
	fd_ = 0;
	fdBytes_ = 0;
	resultBytes_ = 0;
}

void ByteProtocol::noteError(const std::string &what)
{
	error_ = what;
}

std::string ByteProtocol::takeError()
{
	return std::exchange(error_, {});
}

void ByteProtocol::finishFd()
{
	auto fd = static_cast<std::int32_t>(fd_);
	switch (state_) {
	case State::CloseFd:
		result_ = files_.close(fd);
		if (result_ < 0)
			noteError(files_.lastError());
		state_ = State::CloseResult;
		break;
	case State::ReadFd:
		state_ = State::ReadResult;
		break;
	case State::WriteFd:
		state_ = State::WriteByte;
		break;
	default:
		break;
	}
}

void ByteProtocol::out(std::uint8_t byte)
{
	switch (state_) {
	case State::Idle:
		switch (byte) {
		case QUANTA_FILE_BYTE_OPEN_READ:
		case QUANTA_FILE_BYTE_OPEN_WRITE:
			reset();
			openForWrite_ = byte == QUANTA_FILE_BYTE_OPEN_WRITE;
			state_ = State::OpenName;
			return;
		case QUANTA_FILE_BYTE_CLOSE:
			reset();
			state_ = State::CloseFd;
			return;
		case QUANTA_FILE_BYTE_READ:
			reset();
			state_ = State::ReadFd;
			return;
		case QUANTA_FILE_BYTE_WRITE:
			reset();
			state_ = State::WriteFd;
			return;
		default:
			noteError(fmt::format("byte protocol: unknown opcode {} ignored", byte));
			return;
		}
	case State::OpenName:
		if (byte != 0) {
			// Keep consuming an over-long name so the guest stays in step,
			// then fail the open.
			if (name_.size() < QUANTA_FILE_MAX_NAME)
				name_.push_back(static_cast<char>(byte));
			else
				nameTooLong_ = true;
			return;
		}
		if (nameTooLong_) {
			result_ = QUANTA_ENAMETOOLONG;
			noteError(fmt::format("file name longer than {} bytes", QUANTA_FILE_MAX_NAME));
		} else {
			result_ = files_.open(name_, openForWrite_ ? OpenMode::Write : OpenMode::Read);
			if (result_ < 0)
				noteError(files_.lastError());
		}
		state_ = State::OpenResult;
		resultBytes_ = 0;
		return;
	case State::CloseFd:
	case State::ReadFd:
	case State::WriteFd:
		fd_ = (fd_ << 8) | byte;
		if (++fdBytes_ == 4)
			finishFd();
		return;
	case State::WriteByte: {
		byte_ = byte;
		std::int64_t n = files_.write(static_cast<std::int32_t>(fd_), &byte_, 1);
		if (n != 1) {
			noteError(files_.lastError());
			result_ = -1;
		} else {
			result_ = byte_;
		}
		state_ = State::WriteResult;
		return;
	}
	case State::OpenResult:
	case State::CloseResult:
	case State::ReadResult:
	case State::WriteResult:
		// An OUT where the protocol expects INs: the guest abandoned the
		// result; start over with this byte as a new opcode.
		noteError("byte protocol: result not read, command abandoned");
		reset();
		out(byte);
		return;
	}
}

std::uint8_t ByteProtocol::in()
{
	switch (state_) {
	case State::OpenResult: {
		auto value = static_cast<std::uint32_t>(result_ < 0 ? -1 : result_);
		std::uint8_t byte = static_cast<std::uint8_t>(value >> (24 - 8 * resultBytes_));
		if (++resultBytes_ == 4)
			reset();
		return byte;
	}
	case State::CloseResult: {
		std::uint8_t byte = result_ == 0 ? 0 : 0xff;
		reset();
		return byte;
	}
	case State::ReadResult: {
		std::uint8_t byte = 0;
		std::int64_t n = files_.read(static_cast<std::int32_t>(fd_), &byte, 1);
		if (n < 0)
			noteError(files_.lastError());
		reset();
		return n == 1 ? byte : 0xff;
	}
	case State::WriteResult: {
		std::uint8_t byte = result_ < 0 ? 0xff : static_cast<std::uint8_t>(result_);
		reset();
		return byte;
	}
	default:
		// An IN in the middle of a command (or with none): an error, and
		// the device is ready for the next command.
		noteError(state_ == State::Idle ? "byte protocol: IN without a command"
						: "byte protocol: IN before the command was complete; command abandoned");
		reset();
		return 0xff;
	}
}

// ---- The device ------------------------------------------------------------

FileDevice::FileDevice(GuestContext &guest, const FileStore &store, unsigned guestId)
	: guest_(guest), files_(store, guestId), bytes_(files_)
{
}

void FileDevice::logError(const std::string &what)
{
	if (what.empty())
		return;
	// Alike warnings (say, one per bad byte) are limited together.
	std::string line = "file: " + what;
	for (const std::string &out : limiter_.admit(warningKind(line), line, guest_.uptimeNs()))
		guest_.warn(out);
}

void FileDevice::stopped()
{
	files_.closeAll();
	for (const std::string &line : limiter_.flush())
		guest_.warn(line);
}

IoStatus FileDevice::portOut(std::uint16_t, std::span<const std::uint8_t> data)
{
	if (data.size() == 1) {
		bytes_.out(data[0]);
		logError(bytes_.takeError());
		return IoStatus::Done;
	}
	if (data.size() == 4) {
		std::uint32_t address;
		std::memcpy(&address, data.data(), 4);
		block(gpa(address));
		return IoStatus::Done;
	}
	error_ = "file device: OUT of 2 bytes (1 = byte protocol, 4 = block protocol)";
	return IoStatus::Error;
}

IoStatus FileDevice::portIn(std::uint16_t, std::span<std::uint8_t> data)
{
	if (data.size() != 1) {
		error_ = "file device: IN must be 1 byte (block results are written to the request)";
		return IoStatus::Error;
	}
	data[0] = bytes_.in();
	logError(bytes_.takeError());
	return IoStatus::Done;
}

void FileDevice::block(GuestPhysAddr at)
{
	GuestMemory &memory = guest_.memory();
	auto request = memory.load<quanta_file_request>(at);
	if (!request) {
		logError(fmt::format("request block at {:#x} lies outside memory", raw(at)));
		return;
	}
	quanta_file_request &r = *request;
	std::int64_t result = QUANTA_EINVAL;
	// Why the request failed before reaching the file table (which keeps
	// its own reason, and would otherwise show a stale one).
	std::string why;
	switch (r.op) {
	case QUANTA_FILE_OPEN: {
		auto mode = parseOpenMode(r.mode);
		auto nameBytes = memory.view(gpa(r.buffer), std::min<std::uint32_t>(r.length, QUANTA_FILE_MAX_NAME + 1));
		if (!mode) {
			result = QUANTA_EINVAL;
			why = fmt::format("open: unknown mode {}", r.mode);
		} else if (!nameBytes) {
			result = QUANTA_EFAULT;
			why = fmt::format("open: name at {:#x} lies outside memory", r.buffer);
		} else {
			const char *begin = reinterpret_cast<const char *>(nameBytes->data());
			const void *nul = std::memchr(begin, 0, nameBytes->size());
			if (!nul) {
				result = QUANTA_ENAMETOOLONG;
				why = fmt::format("open: no NUL in the name's first {} bytes (names are at most {})",
						  nameBytes->size(), QUANTA_FILE_MAX_NAME);
			} else {
				result = files_.open(std::string(begin, static_cast<const char *>(nul)), *mode);
				if (result >= 0)
					r.fd = static_cast<std::int32_t>(result);
			}
		}
		break;
	}
	case QUANTA_FILE_CLOSE:
		result = files_.close(r.fd);
		break;
	case QUANTA_FILE_READ:
	case QUANTA_FILE_WRITE: {
		if (r.length > QUANTA_FILE_MAX_IO) {
			result = QUANTA_E2BIG;
			why = fmt::format("{} of {} bytes (at most {} per request)", r.op == QUANTA_FILE_READ ? "read" : "write",
					  r.length, QUANTA_FILE_MAX_IO);
			break;
		}
		auto buffer = memory.view(gpa(r.buffer), r.length);
		if (!buffer) {
			result = QUANTA_EFAULT;
			why = fmt::format("buffer {:#x}+{} lies outside memory", r.buffer, r.length);
			break;
		}
		result = r.op == QUANTA_FILE_READ ? files_.read(r.fd, buffer->data(), buffer->size())
						  : files_.write(r.fd, buffer->data(), buffer->size());
		break;
	}
	case QUANTA_FILE_SEEK:
		result = files_.seek(r.fd, r.offset, r.mode);
		if (result >= 0) {
			r.offset = result;
			// ret is 32-bit: a position past 2 GiB is in offset only, and
			// ret must not wrap to a negative "error".
			result = std::min<std::int64_t>(result, INT32_MAX);
		}
		break;
	default:
		result = QUANTA_ENOSYS;
		why = fmt::format("unknown request op {}", r.op);
		break;
	}
	if (result < 0) {
		if (why.empty())
			why = files_.lastError();
		logError(why.empty() ? fmt::format("request op {} failed with {}", r.op, result) : why);
	}
	r.ret = static_cast<std::int32_t>(result);
	memory.store(at, r);
}

} // namespace quanta

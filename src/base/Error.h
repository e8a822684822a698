// Error types that decide quanta's exit status: a bad command line or image
// is the user's to fix (exit 2), a host failure names the syscall (exit 3).
#pragma once

#include <stdexcept>
#include <string>

namespace quanta {

// Exit statuses, documented in the README.
inline constexpr int kExitOk = 0;
inline constexpr int kExitGuestFault = 1;
inline constexpr int kExitUsage = 2;
inline constexpr int kExitHost = 3;

// Something the user gave us is wrong: bad option value, unreadable image,
// image that does not fit. Message is one line, without "quanta:".
class UsageError : public std::runtime_error {
public:
	using std::runtime_error::runtime_error;
};

// A host-side operation failed (open /dev/kvm, an ioctl, mmap...).
class HostError : public std::runtime_error {
public:
	// hint, if any, is appended to the one-line message.
	HostError(const std::string &operation, int err, const std::string &hint = {});
	// A host limit that is no failed call: the whole one-line message.
	explicit HostError(const std::string &message)
		: std::runtime_error(message), errno_(0) {}
	int error() const { return errno_; }

private:
	int errno_;
};

} // namespace quanta

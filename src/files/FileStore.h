// Host files for guests (the mini_hypervisor's level C): files shared with
// every guest (-f), copy-on-write local copies, and local files private to
// one guest. Confined: a guest names files by a plain name, never a path,
// and reaches only the shared files and its own local files. The one path
// accepted is a shared file's exact -f string (Simplified-KVM's guests open
// "files/shared file.txt" as given to -f): it names the same file as its
// plain name, so no other path becomes reachable.
//
//   shared "data.txt" (given as dir/data.txt)      read by anyone
//   a guest opens it for writing           ->      dir/data.txt.local<ID>, a
//                                                  copy, from then on that
//                                                  guest's data.txt
//   a guest creates "out.txt" (not shared) ->      <files dir>/out.txt.local<ID>
//
// A name the guest creates or copies must leave room for the suffix: at
// most NAME_MAX (255) less ".local<ID>" bytes, so 248 for guests 1-9.
// ID is the guest's 1-based position in -g order. Writes go straight to
// the host file (no user-space buffering) and are fsync()ed on close and
// when the guest stops, so nothing a guest wrote is lost.
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "base/UniqueFd.h"

namespace quanta {

struct FileLimits {
	std::size_t maxOpen = 16;             // descriptors per guest
	std::size_t maxName = 255;            // bytes in a name
	std::uint64_t maxFileSize = 64 << 20; // a guest's file may not grow past this
	// --file-quota: what one guest's own files (created and copied) may
	// add up to, in number and in bytes.
	std::size_t maxFiles = 64;
	std::uint64_t maxTotalBytes = std::uint64_t{ 256 } << 20;
};

// The run-wide configuration: which files are shared and where local
// files go. Built from the command line; throws UsageError.
class FileStore {
public:
	FileStore(const std::vector<std::string> &sharedPaths, std::filesystem::path localDir,
		  FileLimits limits);

	const FileLimits &limits() const { return limits_; }
	// The host path of a shared file by its guest-visible name (its file
	// name, or the exact -f string).
	std::optional<std::filesystem::path> shared(const std::string &name) const;
	// The plain name a guest-visible name stands for: a -f string given as
	// a path becomes its file name; anything else is returned unchanged.
	std::string canonicalName(const std::string &name) const;
	const std::filesystem::path &localDir() const { return localDir_; }
	// True when (device, inode) is one of the shared files: a local file or
	// copy must never be one (a shared file named like NAME.local<ID>).
	bool isSharedFile(std::uint64_t device, std::uint64_t inode) const;

private:
	std::map<std::string, std::filesystem::path> shared_;         // name -> host path
	std::map<std::string, std::string> pathNames_;                // exact -f string -> name
	std::set<std::pair<std::uint64_t, std::uint64_t>> sharedIds_; // (st_dev, st_ino)
	std::filesystem::path localDir_;
	FileLimits limits_;
};

enum class OpenMode {
	Read,
	Write,
	Append,
	ReadPlus,
	WritePlus,
	AppendPlus
};

// One guest's view: its descriptors and which names it has made local.
// Every failure is a negative errno-like code (quanta/abi.h) and a line for
// the log; nothing here throws for anything a guest does.
class GuestFiles {
public:
	GuestFiles(const FileStore &store, unsigned guestId);
	~GuestFiles();
	GuestFiles(const GuestFiles &) = delete;
	GuestFiles &operator=(const GuestFiles &) = delete;

	// Returns a descriptor (>= 0) or -errno.
	std::int32_t open(const std::string &name, OpenMode mode);
	std::int32_t close(std::int32_t fd);
	// Bytes read (0 at end of file) or -errno.
	std::int64_t read(std::int32_t fd, std::uint8_t *buffer, std::size_t length);
	std::int64_t write(std::int32_t fd, const std::uint8_t *buffer, std::size_t length);
	// whence: 0 set, 1 cur, 2 end. New position or -errno.
	std::int64_t seek(std::int32_t fd, std::int64_t offset, unsigned whence);

	// fsync()s and closes everything (the guest stopped).
	void closeAll();

	// Why the last call failed, for the log; empty after a success.
	const std::string &lastError() const { return error_; }
	std::size_t openCount() const;
	// Host path of a guest-visible name as this guest would open it now.
	std::optional<std::filesystem::path> hostPath(const std::string &name) const;
	// Longest name this guest may create or copy (NAME_MAX less the
	// ".local<ID>" suffix).
	std::size_t maxLocalName() const;
	// What this guest's own files add up to (for --file-quota).
	std::size_t localFiles() const { return local_.size(); }
	std::uint64_t localBytes() const { return localBytes_; }

private:
	struct Descriptor {
		UniqueFd fd;
		std::string name;
		bool readable;
		bool writable;
		bool valid = true; // false once a copy-on-write replaced the file
	};

	std::int32_t fail(std::int32_t code, std::string why);
	std::int32_t checkLocalName(const std::string &name);
	std::int32_t createLocal(const std::string &name, const std::filesystem::path &target, UniqueFd &out);
	void setLocalSize(const std::string &name, std::uint64_t size);
	std::int32_t checkName(const std::string &name);
	std::int32_t checkTarget(const std::filesystem::path &target);
	std::filesystem::path localPath(const std::filesystem::path &beside, const std::string &name) const;
	Descriptor *lookup(std::int32_t fd);
	std::int32_t makeLocalCopy(const std::string &name, const std::filesystem::path &shared,
				   bool copyContents);

	const FileStore &store_;
	unsigned guestId_;
	std::vector<std::optional<Descriptor>> descriptors_;
	// Names this guest owns a local file for in this session -> host path.
	std::map<std::string, std::filesystem::path> local_;
	// Their sizes as this guest made them, and the sum (the byte quota).
	std::map<std::string, std::uint64_t> localSizes_;
	std::uint64_t localBytes_ = 0;
	std::string error_;
};

std::optional<OpenMode> parseOpenMode(std::uint32_t abiMode);

} // namespace quanta

#include "files/FileStore.h"

#include <cerrno>
#include <climits>
#include <cstring>
#include <fcntl.h>
#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>

#include <quanta/abi.h>

#include "base/Error.h"
#include "base/Text.h"

namespace quanta {

namespace fs = std::filesystem;

namespace {

// A host errno as the guest sees it; O_NOFOLLOW's ELOOP means a symlink
// where a local file should be, which confinement refuses.
std::int32_t hostError(int err)
{
	return err == ELOOP ? QUANTA_EACCES : -err;
}

// A guest-chosen name in a diagnostic: quoted, escaped and capped, so it
// can neither forge a line nor send terminal escapes.
std::string shown(const std::string &name)
{
	// Appended in steps: GCC 12 at -O3 misreports "literal" + string&& as -Wrestrict.
	std::string out = "'";
	out += escapeForLog(name);
	out += '\'';
	return out;
}

// A host path whose last part a guest chose.
std::string shown(const fs::path &path)
{
	std::string dir = path.parent_path().string();
	std::string out = "'";
	out += escapeForLog(dir, 4096);
	if (!dir.empty())
		out += '/';
	out += escapeForLog(path.filename().string());
	out += '\'';
	return out;
}

// write(2) until all of it is written or an error: a short count is not an
// error, and errno is read only after a failing call.
struct WriteResult {
	std::size_t written;
	int error; // 0 when all was written
};

WriteResult writeAll(int fd, const std::uint8_t *data, std::size_t length)
{
	std::size_t done = 0;
	while (done < length) {
		ssize_t n = ::write(fd, data + done, length - done);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return { done, errno };
		if (n == 0)
			return { done, EIO };
		done += static_cast<std::size_t>(n);
	}
	return { done, 0 };
}

} // namespace

FileStore::FileStore(const std::vector<std::string> &sharedPaths, fs::path localDir, FileLimits limits)
	: localDir_(std::move(localDir)), limits_(limits)
{
	for (const std::string &path : sharedPaths) {
		struct stat st;
		if (::stat(path.c_str(), &st) != 0)
			throw UsageError(fmt::format("--file {}: {}", path, std::strerror(errno)));
		if (!S_ISREG(st.st_mode))
			throw UsageError(fmt::format("--file {}: not a regular file", path));
		if (::access(path.c_str(), R_OK) != 0)
			throw UsageError(fmt::format("--file {}: {}", path, std::strerror(errno)));
		std::string name = fs::path(path).filename().string();
		if (!shared_.emplace(name, fs::path(path)).second)
			throw UsageError(fmt::format("--file {}: another shared file is also named {}", path, name));
		if (path != name)
			pathNames_.emplace(path, name);
		sharedIds_.emplace(static_cast<std::uint64_t>(st.st_dev), static_cast<std::uint64_t>(st.st_ino));
	}
}

bool FileStore::isSharedFile(std::uint64_t device, std::uint64_t inode) const
{
	return sharedIds_.count({ device, inode }) != 0;
}

std::string FileStore::canonicalName(const std::string &name) const
{
	auto it = pathNames_.find(name);
	return it == pathNames_.end() ? name : it->second;
}

std::optional<fs::path> FileStore::shared(const std::string &name) const
{
	auto it = shared_.find(canonicalName(name));
	if (it == shared_.end())
		return std::nullopt;
	return it->second;
}

std::optional<OpenMode> parseOpenMode(std::uint32_t abiMode)
{
	switch (abiMode) {
	case QUANTA_FILE_MODE_R:
		return OpenMode::Read;
	case QUANTA_FILE_MODE_W:
		return OpenMode::Write;
	case QUANTA_FILE_MODE_A:
		return OpenMode::Append;
	case QUANTA_FILE_MODE_RPLUS:
		return OpenMode::ReadPlus;
	case QUANTA_FILE_MODE_WPLUS:
		return OpenMode::WritePlus;
	case QUANTA_FILE_MODE_APLUS:
		return OpenMode::AppendPlus;
	}
	return std::nullopt;
}

GuestFiles::GuestFiles(const FileStore &store, unsigned guestId)
	: store_(store), guestId_(guestId)
{
}

GuestFiles::~GuestFiles()
{
	closeAll();
}

std::int32_t GuestFiles::fail(std::int32_t code, std::string why)
{
	error_ = std::move(why);
	return code;
}

std::int32_t GuestFiles::checkName(const std::string &name)
{
	if (name.empty())
		return fail(QUANTA_ENOENT, "empty file name");
	if (name.size() > store_.limits().maxName)
		return fail(QUANTA_ENAMETOOLONG, fmt::format("file name of {} bytes (limit {})", name.size(),
							     store_.limits().maxName));
	// A shared file's exact -f string is the one path accepted.
	if (store_.canonicalName(name) != name)
		return 0;
	// A plain name: no directories (so no absolute paths and no ".."), no
	// control characters, nothing a path could reinterpret.
	if (name == "." || name == ".." || name.find('/') != std::string::npos)
		return fail(QUANTA_EACCES, fmt::format("{} is a path, not a file name (nor a -f argument): refused",
						       shown(name)));
	for (unsigned char c : name)
		if (c < 0x20 || c == 0x7f)
			return fail(QUANTA_EACCES, "file name with control characters: refused");
	return 0;
}

// Where a local file or copy is about to be created (and truncated): what
// is there already may be a leftover of an earlier run (a regular file, to
// be overwritten) or a symlink (refused by O_NOFOLLOW when opening), but
// never a shared file (one named like NAME.local<ID>), a hard link to a
// file elsewhere, or a FIFO or device, which open() could block on.
std::int32_t GuestFiles::checkTarget(const fs::path &target)
{
	struct stat st;
	if (::lstat(target.c_str(), &st) != 0 || S_ISLNK(st.st_mode))
		return 0;
	if (store_.isSharedFile(static_cast<std::uint64_t>(st.st_dev), static_cast<std::uint64_t>(st.st_ino)))
		return fail(QUANTA_EACCES, fmt::format("{} is a shared file (-f): not overwritten", shown(target)));
	if (!S_ISREG(st.st_mode))
		return fail(QUANTA_EACCES, fmt::format("{} is not a regular file: refused", shown(target)));
	if (st.st_nlink > 1)
		return fail(QUANTA_EACCES, fmt::format("{} has other hard links: refused", shown(target)));
	return 0;
}

std::size_t GuestFiles::maxLocalName() const
{
	std::size_t suffix = fmt::formatted_size(".local{}", guestId_);
	return std::min(store_.limits().maxName, std::size_t{ NAME_MAX } - suffix);
}

// Before this guest gets a file of its own: the name must leave room for
// the ".local<ID>" suffix, and the quota must allow one more file.
std::int32_t GuestFiles::checkLocalName(const std::string &name)
{
	if (name.size() > maxLocalName())
		return fail(QUANTA_ENAMETOOLONG,
			    fmt::format("{} is {} bytes; a file guest {} creates or copies may have at most {} "
					"(NAME_MAX {} less '.local{}')",
					shown(name), name.size(), guestId_, maxLocalName(), NAME_MAX, guestId_));
	if (local_.size() >= store_.limits().maxFiles)
		return fail(QUANTA_EDQUOT, fmt::format("{}: this guest has {} files of its own already (--file-quota)",
						       shown(name), local_.size()));
	return 0;
}

// Creates (or truncates a leftover) local file at target, refusing what
// checkTarget refuses and a symlink.
std::int32_t GuestFiles::createLocal(const std::string &name, const fs::path &target, UniqueFd &out)
{
	if (std::int32_t err = checkLocalName(name))
		return err;
	if (std::int32_t err = checkTarget(target))
		return err;
	// O_NOFOLLOW: a symlink planted at the local file's name is refused.
	out = UniqueFd(::open(target.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0644));
	if (!out.valid()) {
		int err = errno;
		return fail(hostError(err), fmt::format("cannot create {}: {}", shown(target), std::strerror(err)));
	}
	return 0;
}

void GuestFiles::setLocalSize(const std::string &name, std::uint64_t size)
{
	std::uint64_t &current = localSizes_[name];
	localBytes_ = localBytes_ - current + size;
	current = size;
}

fs::path GuestFiles::localPath(const fs::path &beside, const std::string &name) const
{
	return beside / fmt::format("{}.local{}", name, guestId_);
}

std::optional<fs::path> GuestFiles::hostPath(const std::string &name) const
{
	if (auto it = local_.find(name); it != local_.end())
		return it->second;
	return store_.shared(name);
}

std::size_t GuestFiles::openCount() const
{
	std::size_t n = 0;
	for (const auto &d : descriptors_)
		n += d.has_value();
	return n;
}

GuestFiles::Descriptor *GuestFiles::lookup(std::int32_t fd)
{
	if (fd < 0 || static_cast<std::size_t>(fd) >= descriptors_.size() || !descriptors_[fd]) {
		fail(QUANTA_EBADF, fmt::format("descriptor {} is not open", fd));
		return nullptr;
	}
	Descriptor &d = *descriptors_[fd];
	if (!d.valid) {
		fail(QUANTA_EBADF, fmt::format("descriptor {} ({}) was invalidated when the guest made its own copy", fd,
					       shown(d.name)));
		return nullptr;
	}
	return &d;
}

// Copies the shared file to the guest's .local<ID> beside it (or creates it
// empty for a truncating mode) and makes it this guest's file of that name.
// A copy that fails is removed: no partial .local<ID> stays behind.
std::int32_t GuestFiles::makeLocalCopy(const std::string &name, const fs::path &shared, bool copyContents)
{
	fs::path target = localPath(shared.parent_path(), shared.filename().string());
	UniqueFd out;
	if (std::int32_t err = createLocal(name, target, out))
		return err;
	auto abandon = [&](std::int32_t code, std::string why) {
		out.reset();
		::unlink(target.c_str());
		return fail(code, why + "; the partial copy was removed");
	};
	std::uint64_t copied = 0;
	if (copyContents) {
		UniqueFd in(::open(shared.c_str(), O_RDONLY | O_CLOEXEC));
		if (!in.valid()) {
			int err = errno;
			return abandon(hostError(err), fmt::format("cannot read {}: {}", shown(shared), std::strerror(err)));
		}
		std::uint8_t buffer[65536];
		for (;;) {
			ssize_t n = ::read(in.get(), buffer, sizeof(buffer));
			if (n < 0 && errno == EINTR)
				continue;
			if (n < 0) {
				int err = errno;
				return abandon(QUANTA_EIO, fmt::format("copying {}: {}", shown(shared), std::strerror(err)));
			}
			if (n == 0)
				break;
			if (localBytes_ + copied + static_cast<std::uint64_t>(n) > store_.limits().maxTotalBytes)
				return abandon(QUANTA_EDQUOT,
					       fmt::format("copying {}: this guest's files would pass {} bytes (--file-quota)",
							   shown(shared), store_.limits().maxTotalBytes));
			WriteResult w = writeAll(out.get(), buffer, static_cast<std::size_t>(n));
			if (w.error)
				return abandon(hostError(w.error), fmt::format("copying {} to {}: {}", shown(shared),
									       shown(target), std::strerror(w.error)));
			copied += w.written;
		}
	}
	if (::fsync(out.get()) != 0) {
		int err = errno;
		return abandon(hostError(err), fmt::format("copying to {}: fsync: {}", shown(target), std::strerror(err)));
	}
	local_[name] = target;
	setLocalSize(name, copied);
	// Earlier descriptors of the shared file now name a file this guest no
	// longer sees: they become invalid, as the assignment specifies.
	for (auto &d : descriptors_)
		if (d && d->name == name)
			d->valid = false;
	return 0;
}

std::int32_t GuestFiles::open(const std::string &guestName, OpenMode mode)
{
	error_.clear();
	if (std::int32_t err = checkName(guestName))
		return err;
	const std::string name = store_.canonicalName(guestName);
	if (openCount() >= store_.limits().maxOpen)
		return fail(QUANTA_EMFILE, fmt::format("{} files open already (limit {})", openCount(),
						       store_.limits().maxOpen));

	const bool writes = mode != OpenMode::Read;
	const bool truncates = mode == OpenMode::Write || mode == OpenMode::WritePlus;
	const bool creates = truncates || mode == OpenMode::Append || mode == OpenMode::AppendPlus;
	auto shared = store_.shared(name);
	bool isLocal = local_.count(name) != 0;

	if (!isLocal && writes) {
		if (shared) {
			// Copy on write: from now on this guest has its own file.
			if (std::int32_t err = makeLocalCopy(name, *shared, !truncates))
				return err;
		} else if (creates) {
			// Left over from an earlier run: overwritten, never shown.
			fs::path target = localPath(store_.localDir(), name);
			UniqueFd created;
			if (std::int32_t err = createLocal(name, target, created))
				return err;
			local_[name] = target;
			setLocalSize(name, 0);
		} else {
			return fail(QUANTA_ENOENT, fmt::format("{} does not exist for this guest", shown(guestName)));
		}
		isLocal = true;
	}

	fs::path path;
	if (isLocal)
		path = local_[name];
	else if (shared)
		path = *shared;
	else
		return fail(QUANTA_ENOENT, fmt::format("{} is neither shared nor created by this guest", shown(guestName)));

	int flags = O_CLOEXEC;
	if (isLocal)
		flags |= O_NOFOLLOW; // shared files are the user's choice; local ones are ours
	switch (mode) {
	case OpenMode::Read:
		flags |= O_RDONLY;
		break;
	case OpenMode::Write:
		flags |= O_WRONLY | O_TRUNC;
		break;
	case OpenMode::Append:
		flags |= O_WRONLY | O_APPEND;
		break;
	case OpenMode::ReadPlus:
		flags |= O_RDWR;
		break;
	case OpenMode::WritePlus:
		flags |= O_RDWR | O_TRUNC;
		break;
	case OpenMode::AppendPlus:
		flags |= O_RDWR | O_APPEND;
		break;
	}
	UniqueFd fd(::open(path.c_str(), flags));
	if (!fd.valid()) {
		int err = errno;
		return fail(hostError(err), fmt::format("cannot open {}: {}", shown(path), std::strerror(err)));
	}
	if (isLocal && truncates)
		setLocalSize(name, 0);

	std::size_t slot = 0;
	while (slot < descriptors_.size() && descriptors_[slot])
		++slot;
	if (slot == descriptors_.size())
		descriptors_.emplace_back();
	descriptors_[slot] = Descriptor{ std::move(fd), name, mode != OpenMode::Write && mode != OpenMode::Append,
					 writes, true };
	return static_cast<std::int32_t>(slot);
}

std::int32_t GuestFiles::close(std::int32_t fd)
{
	error_.clear();
	if (fd < 0 || static_cast<std::size_t>(fd) >= descriptors_.size() || !descriptors_[fd])
		return fail(QUANTA_EBADF, fmt::format("close of descriptor {} that is not open", fd));
	Descriptor &d = *descriptors_[fd];
	bool valid = d.valid;
	if (d.writable)
		::fsync(d.fd.get());
	descriptors_[fd].reset();
	// An invalidated descriptor is released, but the guest learns it was bad.
	if (!valid)
		return fail(QUANTA_EBADF, fmt::format("descriptor {} had been invalidated by copy-on-write", fd));
	return 0;
}

std::int64_t GuestFiles::read(std::int32_t fd, std::uint8_t *buffer, std::size_t length)
{
	error_.clear();
	Descriptor *d = lookup(fd);
	if (!d)
		return QUANTA_EBADF;
	if (!d->readable)
		return fail(QUANTA_EBADF, fmt::format("descriptor {} is not open for reading", fd));
	ssize_t n;
	do {
		n = ::read(d->fd.get(), buffer, length);
	} while (n < 0 && errno == EINTR);
	if (n < 0)
		return fail(QUANTA_EIO, fmt::format("read: {}", std::strerror(errno)));
	return n;
}

std::int64_t GuestFiles::write(std::int32_t fd, const std::uint8_t *buffer, std::size_t length)
{
	error_.clear();
	Descriptor *d = lookup(fd);
	if (!d)
		return QUANTA_EBADF;
	if (!d->writable)
		return fail(QUANTA_EBADF, fmt::format("descriptor {} is not open for writing", fd));
	// The file may not grow past the limit: where would this write end?
	struct stat st;
	if (::fstat(d->fd.get(), &st) != 0)
		return fail(QUANTA_EIO, fmt::format("fstat: {}", std::strerror(errno)));
	off_t position = ::lseek(d->fd.get(), 0, SEEK_CUR);
	std::uint64_t start = (::fcntl(d->fd.get(), F_GETFL) & O_APPEND) ? static_cast<std::uint64_t>(st.st_size)
									 : static_cast<std::uint64_t>(position);
	const auto size = static_cast<std::uint64_t>(st.st_size);
	const std::uint64_t end = start + length;
	if (end > store_.limits().maxFileSize && end > size)
		return fail(QUANTA_EFBIG, fmt::format("{} would grow past {} bytes (--file-max-size)", shown(d->name),
						      store_.limits().maxFileSize));
	const std::uint64_t growth = end > size ? end - size : 0;
	if (growth > 0 && localBytes_ + growth > store_.limits().maxTotalBytes)
		return fail(QUANTA_EDQUOT, fmt::format("{}: this guest's files would pass {} bytes (--file-quota)",
						       shown(d->name), store_.limits().maxTotalBytes));
	WriteResult w = writeAll(d->fd.get(), buffer, length);
	if (w.written > 0 || length == 0) {
		// What reached the disk counts, as with write(2): the guest sees a
		// short count and the position has moved by it.
		if (start + w.written > localSizes_[d->name])
			setLocalSize(d->name, start + w.written);
		if (w.error)
			error_ = fmt::format("write of {} bytes stopped after {}: {}", length, w.written,
					     std::strerror(w.error));
		return static_cast<std::int64_t>(w.written);
	}
	return fail(w.error == ENOSPC ? QUANTA_ENOSPC : w.error == EDQUOT ? QUANTA_EDQUOT
									  : QUANTA_EIO,
		    fmt::format("write: {}", std::strerror(w.error)));
}

std::int64_t GuestFiles::seek(std::int32_t fd, std::int64_t offset, unsigned whence)
{
	error_.clear();
	Descriptor *d = lookup(fd);
	if (!d)
		return QUANTA_EBADF;
	int how = whence == QUANTA_SEEK_SET ? SEEK_SET : whence == QUANTA_SEEK_CUR ? SEEK_CUR
						 : whence == QUANTA_SEEK_END       ? SEEK_END
										   : -1;
	if (how < 0)
		return fail(QUANTA_EINVAL, fmt::format("seek whence {}", whence));
	off_t position = ::lseek(d->fd.get(), offset, how);
	if (position < 0)
		return fail(QUANTA_EINVAL, fmt::format("seek: {}", std::strerror(errno)));
	return position;
}

void GuestFiles::closeAll()
{
	for (auto &d : descriptors_) {
		if (d && d->writable)
			::fsync(d->fd.get());
		d.reset();
	}
}

} // namespace quanta

// The file device without KVM: FileStore / GuestFiles against a temporary
// folder (sharing, copy-on-write, invalidation, local files, confinement,
// limits), the byte protocol state machine fed byte by byte (including
// garbage), and the block protocol through FileDevice on a plain
// GuestMemory with a fake GuestContext.
#include <climits>
#include <csignal>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <doctest/doctest.h>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>
#include <string>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>
#include <vector>

#include <quanta/abi.h>

#include "base/Error.h"
#include "files/FileDevice.h"
#include "files/FileStore.h"

namespace quanta {

namespace fs = std::filesystem;

namespace {

// A fresh directory under /tmp, removed with everything in it.
struct TempDir {
	fs::path path;
	TempDir()
	{
		char templ[] = "/tmp/quanta-files-XXXXXX";
		REQUIRE(::mkdtemp(templ) != nullptr);
		path = templ;
	}
	~TempDir()
	{
		std::error_code ec;
		fs::remove_all(path, ec);
	}
	fs::path operator/(const std::string &name) const { return path / name; }
};

void writeFile(const fs::path &path, const std::string &content)
{
	std::ofstream out(path, std::ios::binary | std::ios::trunc);
	REQUIRE(out);
	out << content;
}

std::string readFile(const fs::path &path)
{
	std::ifstream in(path, std::ios::binary);
	REQUIRE(in);
	std::ostringstream s;
	s << in.rdbuf();
	return s.str();
}

bool present(const fs::path &path)
{
	struct stat st;
	return ::lstat(path.c_str(), &st) == 0;
}

// Everything left to read on fd, in small reads.
std::string readAll(GuestFiles &files, std::int32_t fd, std::size_t chunk = 7)
{
	std::string out;
	std::vector<std::uint8_t> buffer(chunk);
	for (;;) {
		std::int64_t n = files.read(fd, buffer.data(), buffer.size());
		REQUIRE(n >= 0);
		if (n == 0)
			return out;
		out.append(reinterpret_cast<const char *>(buffer.data()), static_cast<std::size_t>(n));
	}
}

std::int64_t writeStr(GuestFiles &files, std::int32_t fd, const std::string &text)
{
	return files.write(fd, reinterpret_cast<const std::uint8_t *>(text.data()), text.size());
}

// A run's setup: shared files in dir/shared/, local files in dir/local/.
struct Fixture {
	TempDir dir;
	fs::path sharedDir = dir / "shared";
	fs::path localDir = dir / "local";
	fs::path data = sharedDir / "data.txt";
	fs::path other = sharedDir / "other.bin";
	const std::string original = "line one\nline two\n";

	Fixture()
	{
		fs::create_directory(sharedDir);
		fs::create_directory(localDir);
		writeFile(data, original);
		writeFile(other, std::string("\x00\x01\x02\xfe", 4));
	}

	FileStore store(FileLimits limits = {}) const
	{
		return FileStore({ data.string(), other.string() }, localDir, limits);
	}
};

} // namespace

// ---- FileStore ---------------------------------------------------------------

TEST_CASE("FileStore: shared files by base name; bad -f arguments are usage errors")
{
	Fixture f;
	FileStore store = f.store();
	REQUIRE(store.shared("data.txt"));
	CHECK(*store.shared("data.txt") == f.data);
	CHECK(*store.shared("other.bin") == f.other);
	CHECK_FALSE(store.shared("shared/data.txt"));
	CHECK_FALSE(store.shared("missing"));
	CHECK(store.localDir() == f.localDir);
	CHECK(store.limits().maxOpen == 16);

	CHECK_THROWS_AS(FileStore({ (f.dir / "missing.txt").string() }, f.localDir, {}), UsageError);
	CHECK_THROWS_AS(FileStore({ f.sharedDir.string() }, f.localDir, {}), UsageError); // a directory
	fs::create_directory(f.dir / "elsewhere");
	writeFile(f.dir / "elsewhere" / "data.txt", "x");
	// Two shared files a guest would name the same.
	CHECK_THROWS_AS(FileStore({ f.data.string(), (f.dir / "elsewhere" / "data.txt").string() }, f.localDir, {}),
			UsageError);
}

TEST_CASE("parseOpenMode: the six fopen modes, nothing else")
{
	CHECK(parseOpenMode(QUANTA_FILE_MODE_R) == OpenMode::Read);
	CHECK(parseOpenMode(QUANTA_FILE_MODE_W) == OpenMode::Write);
	CHECK(parseOpenMode(QUANTA_FILE_MODE_A) == OpenMode::Append);
	CHECK(parseOpenMode(QUANTA_FILE_MODE_RPLUS) == OpenMode::ReadPlus);
	CHECK(parseOpenMode(QUANTA_FILE_MODE_WPLUS) == OpenMode::WritePlus);
	CHECK(parseOpenMode(QUANTA_FILE_MODE_APLUS) == OpenMode::AppendPlus);
	CHECK_FALSE(parseOpenMode(6));
	CHECK_FALSE(parseOpenMode(0xffffffffu));
}

// ---- Sharing -----------------------------------------------------------------

TEST_CASE("sharing: any number of guests read a shared file at once, each with its own offset")
{
	Fixture f;
	FileStore store = f.store();
	GuestFiles g1(store, 1), g2(store, 2), g3(store, 3);

	std::int32_t a = g1.open("data.txt", OpenMode::Read);
	std::int32_t b = g2.open("data.txt", OpenMode::Read);
	std::int32_t c = g3.open("data.txt", OpenMode::Read);
	REQUIRE(a >= 0);
	REQUIRE(b >= 0);
	REQUIRE(c >= 0);
	// Same guest, second descriptor of the same file: independent offset.
	std::int32_t a2 = g1.open("data.txt", OpenMode::Read);
	REQUIRE(a2 >= 0);
	CHECK(a2 != a);

	// Interleaved reads: each descriptor moves on its own.
	std::uint8_t buf[5];
	REQUIRE(g1.read(a, buf, 5) == 5);
	CHECK(std::string(reinterpret_cast<char *>(buf), 5) == "line ");
	REQUIRE(g2.read(b, buf, 4) == 4);
	CHECK(std::string(reinterpret_cast<char *>(buf), 4) == "line");
	CHECK(readAll(g1, a2) == f.original);
	CHECK(readAll(g1, a) == f.original.substr(5));
	CHECK(readAll(g2, b) == f.original.substr(4));
	CHECK(readAll(g3, c) == f.original);
	CHECK(g3.read(c, buf, 5) == 0); // end of file, again

	CHECK(g1.close(a) == 0);
	CHECK(g1.close(a2) == 0);
	CHECK(g2.close(b) == 0);
	CHECK(g3.close(c) == 0);
	CHECK(g1.openCount() == 0);
	// Nobody wrote: no local copies exist, the shared file is as it was.
	CHECK(readFile(f.data) == f.original);
	CHECK_FALSE(present(f.sharedDir / "data.txt.local1"));
	CHECK_FALSE(present(f.localDir / "data.txt.local1"));
}

TEST_CASE("descriptors are the lowest free slot; read-only and write-only descriptors refuse the other direction")
{
	Fixture f;
	FileStore store = f.store();
	GuestFiles g(store, 1);
	CHECK(g.open("data.txt", OpenMode::Read) == 0);
	CHECK(g.open("other.bin", OpenMode::Read) == 1);
	CHECK(g.open("data.txt", OpenMode::Read) == 2);
	CHECK(g.close(1) == 0);
	CHECK(g.open("out", OpenMode::Write) == 1);

	std::uint8_t byte = 'x';
	CHECK(g.write(0, &byte, 1) == QUANTA_EBADF); // opened "r"
	CHECK(g.lastError().find("not open for writing") != std::string::npos);
	CHECK(g.read(1, &byte, 1) == QUANTA_EBADF); // opened "w"
	CHECK(g.lastError().find("not open for reading") != std::string::npos);
	CHECK(g.write(1, &byte, 1) == 1);
	CHECK(g.lastError().empty());
}

// ---- Copy on write -----------------------------------------------------------

TEST_CASE("copy on write: a guest that writes a shared file gets its own .local<ID> copy beside it")
{
	Fixture f;
	FileStore store = f.store();
	GuestFiles writer(store, 2), reader(store, 1);

	std::int32_t r = reader.open("data.txt", OpenMode::Read);
	REQUIRE(r >= 0);
	std::uint8_t buf[5];
	REQUIRE(reader.read(r, buf, 5) == 5);

	std::int32_t w = writer.open("data.txt", OpenMode::Append);
	REQUIRE(w >= 0);
	const fs::path copy = f.sharedDir / "data.txt.local2";
	REQUIRE(present(copy));
	CHECK(readFile(copy) == f.original); // a real copy: starts with the contents
	CHECK(writeStr(writer, w, "line three\n") == 11);
	CHECK(writer.close(w) == 0);

	CHECK(readFile(copy) == f.original + "line three\n");
	CHECK(readFile(f.data) == f.original); // the shared file never changes
	CHECK(writer.hostPath("data.txt") == copy);
	CHECK(reader.hostPath("data.txt") == f.data);
	// The other guest keeps reading the original, descriptor and offset intact.
	CHECK(readAll(reader, r) == f.original.substr(5));
	std::int32_t r2 = reader.open("data.txt", OpenMode::Read);
	CHECK(readAll(reader, r2) == f.original);

	// From now on the writer sees its copy, also for reading, and does not
	// copy again (its changes stay).
	std::int32_t back = writer.open("data.txt", OpenMode::Read);
	CHECK(readAll(writer, back) == f.original + "line three\n");
	std::int32_t again = writer.open("data.txt", OpenMode::Append);
	CHECK(writeStr(writer, again, "four\n") == 5);
	CHECK(readFile(copy) == f.original + "line three\nfour\n");
	CHECK_FALSE(present(f.localDir / "data.txt.local2")); // copies go beside the shared file
}

TEST_CASE("copy on write per mode: truncating modes start empty, the others with the shared contents")
{
	Fixture f;
	FileStore store = f.store();
	struct Case {
		OpenMode mode;
		bool copied;
	};
	for (Case c : { Case{ OpenMode::Write, false }, Case{ OpenMode::WritePlus, false },
			Case{ OpenMode::Append, true }, Case{ OpenMode::AppendPlus, true },
			Case{ OpenMode::ReadPlus, true } }) {
		CAPTURE(static_cast<int>(c.mode));
		GuestFiles g(store, 7);
		std::int32_t fd = g.open("data.txt", c.mode);
		REQUIRE(fd >= 0);
		CHECK(readFile(f.sharedDir / "data.txt.local7") == (c.copied ? f.original : ""));
		CHECK(g.close(fd) == 0);
		CHECK(readFile(f.data) == f.original);
	}

	// r+: read and overwrite in place, in the copy only.
	GuestFiles g(store, 3);
	std::int32_t fd = g.open("data.txt", OpenMode::ReadPlus);
	std::uint8_t buf[4];
	REQUIRE(g.read(fd, buf, 4) == 4);
	CHECK(writeStr(g, fd, "!") == 1);
	CHECK(g.seek(fd, 0, QUANTA_SEEK_SET) == 0);
	CHECK(readAll(g, fd) == "line!one\nline two\n");
	CHECK(readFile(f.data) == f.original);

	// a+: writes go to the end whatever the position; reads from the position.
	GuestFiles h(store, 4);
	fd = h.open("data.txt", OpenMode::AppendPlus);
	CHECK(h.seek(fd, 0, QUANTA_SEEK_SET) == 0);
	CHECK(writeStr(h, fd, "end\n") == 4);
	CHECK(h.seek(fd, 0, QUANTA_SEEK_SET) == 0);
	CHECK(readAll(h, fd) == f.original + "end\n");
}

TEST_CASE("invalidation: descriptors a guest had on the shared file die when it makes its copy")
{
	Fixture f;
	FileStore store = f.store();
	GuestFiles g(store, 1), other(store, 2);

	std::int32_t r1 = g.open("data.txt", OpenMode::Read);
	std::int32_t r2 = g.open("data.txt", OpenMode::Read);
	std::int32_t keep = g.open("other.bin", OpenMode::Read);
	std::int32_t o = other.open("data.txt", OpenMode::Read);
	REQUIRE((r1 >= 0 && r2 >= 0 && keep >= 0 && o >= 0));

	std::int32_t w = g.open("data.txt", OpenMode::Write);
	REQUIRE(w >= 0);

	std::uint8_t buf[8];
	CHECK(g.read(r1, buf, sizeof buf) == QUANTA_EBADF);
	CHECK(g.lastError().find("invalidated") != std::string::npos);
	CHECK(g.seek(r1, 0, QUANTA_SEEK_SET) == QUANTA_EBADF);
	CHECK(g.write(r1, buf, 1) == QUANTA_EBADF);
	// close of an invalidated descriptor: an error, but the slot is freed.
	CHECK(g.close(r1) == QUANTA_EBADF);
	CHECK(g.close(r1) == QUANTA_EBADF);
	CHECK(g.lastError().find("not open") != std::string::npos);
	CHECK(g.open("data.txt", OpenMode::Read) == r1); // the slot is reused
	CHECK(g.close(r2) == QUANTA_EBADF);

	// Other files of the same guest, and other guests, are unaffected.
	CHECK(g.read(keep, buf, 4) == 4);
	CHECK(readAll(other, o) == f.original);
	// The copy is empty ("w" truncates) and the new descriptor sees it.
	CHECK(readAll(g, r1) == "");
	CHECK(writeStr(g, w, "new") == 3);
	CHECK(readFile(f.sharedDir / "data.txt.local1") == "new");
	CHECK(readFile(f.data) == f.original);
}

// ---- Local files -------------------------------------------------------------

TEST_CASE("local files: created on write in the files dir, visible only to their guest")
{
	Fixture f;
	FileStore store = f.store();
	GuestFiles g1(store, 1), g2(store, 2);

	// Reading a local file that does not exist is an error to the guest.
	CHECK(g1.open("notes.txt", OpenMode::Read) == QUANTA_ENOENT);
	CHECK_FALSE(g1.lastError().empty());
	CHECK(g1.open("notes.txt", OpenMode::ReadPlus) == QUANTA_ENOENT); // r+ does not create
	CHECK_FALSE(present(f.localDir / "notes.txt.local1"));

	std::int32_t w = g1.open("notes.txt", OpenMode::Write);
	REQUIRE(w >= 0);
	CHECK(writeStr(g1, w, "mine") == 4);
	CHECK(readFile(f.localDir / "notes.txt.local1") == "mine");
	CHECK(g1.hostPath("notes.txt") == f.localDir / "notes.txt.local1");

	// Guest 2 does not see it, and its own file of that name is another file.
	CHECK(g2.open("notes.txt", OpenMode::Read) == QUANTA_ENOENT);
	CHECK_FALSE(g2.hostPath("notes.txt"));
	std::int32_t w2 = g2.open("notes.txt", OpenMode::Append);
	REQUIRE(w2 >= 0);
	CHECK(writeStr(g2, w2, "theirs") == 6);
	CHECK(readFile(f.localDir / "notes.txt.local2") == "theirs");
	CHECK(readFile(f.localDir / "notes.txt.local1") == "mine");

	// Guest 1 reads its own file back by the plain name.
	std::int32_t r = g1.open("notes.txt", OpenMode::Read);
	CHECK(readAll(g1, r) == "mine");
	// Appending to it later keeps the contents (created once per session).
	std::int32_t a = g1.open("notes.txt", OpenMode::Append);
	CHECK(writeStr(g1, a, "+more") == 5);
	CHECK(readFile(f.localDir / "notes.txt.local1") == "mine+more");
}

TEST_CASE("local files from an earlier run are not visible, and are overwritten when needed again")
{
	Fixture f;
	FileStore store = f.store();
	writeFile(f.localDir / "old.txt.local1", "from an earlier run");
	writeFile(f.sharedDir / "data.txt.local1", "stale copy");

	GuestFiles g(store, 1);
	CHECK(g.open("old.txt", OpenMode::Read) == QUANTA_ENOENT);
	CHECK(g.open("old.txt", OpenMode::ReadPlus) == QUANTA_ENOENT);
	CHECK(readFile(f.localDir / "old.txt.local1") == "from an earlier run"); // untouched so far
	// Even "a" (which keeps contents) starts a new, empty file.
	std::int32_t fd = g.open("old.txt", OpenMode::Append);
	REQUIRE(fd >= 0);
	CHECK(readFile(f.localDir / "old.txt.local1") == "");
	CHECK(writeStr(g, fd, "new") == 3);
	CHECK(readFile(f.localDir / "old.txt.local1") == "new");

	// A stale copy-on-write copy: reading still sees the shared file, and
	// writing makes a fresh copy of the shared contents.
	std::int32_t r = g.open("data.txt", OpenMode::Read);
	CHECK(readAll(g, r) == f.original);
	std::int32_t a = g.open("data.txt", OpenMode::Append);
	REQUIRE(a >= 0);
	CHECK(readFile(f.sharedDir / "data.txt.local1") == f.original);
}

// ---- Confinement -------------------------------------------------------------

TEST_CASE("confinement: paths, '..', absolute paths and control characters are refused")
{
	Fixture f;
	FileStore store = f.store();
	GuestFiles g(store, 1);
	writeFile(f.dir / "secret", "secret");

	for (const char *name : { "../secret", "..", ".", "/etc/passwd", "a/b", "shared/data.txt", "./data.txt",
				  "data.txt/", "/", "../shared/data.txt" }) {
		CAPTURE(name);
		CHECK(g.open(name, OpenMode::Read) == QUANTA_EACCES);
		CHECK(g.lastError().find("refused") != std::string::npos);
		CHECK(g.open(name, OpenMode::Write) == QUANTA_EACCES);
		CHECK(g.open(name, OpenMode::Append) == QUANTA_EACCES);
	}
	CHECK(g.open(std::string("da\nta"), OpenMode::Write) == QUANTA_EACCES);
	CHECK(g.open(std::string("a\x7f", 2), OpenMode::Write) == QUANTA_EACCES);
	CHECK(g.open(std::string("data.txt\0x", 10), OpenMode::Read) == QUANTA_EACCES);
	CHECK(g.open("", OpenMode::Read) == QUANTA_ENOENT);
	CHECK(g.open("", OpenMode::Write) == QUANTA_ENOENT);
	CHECK(g.openCount() == 0);
	CHECK(readFile(f.dir / "secret") == "secret");
	CHECK(readFile(f.data) == f.original);
	// Nothing was created anywhere.
	std::size_t entries = 0;
	for ([[maybe_unused]] auto &e : fs::recursive_directory_iterator(f.dir.path))
		++entries;
	CHECK(entries == 5); // shared/, local/, data.txt, other.bin, secret
}

TEST_CASE("confinement: names over the limit are refused; at the limit they are fine")
{
	Fixture f;
	FileStore store = f.store();
	GuestFiles g(store, 1);
	std::string longest(255 - std::strlen(".local1"), 'n'); // the host name fits in NAME_MAX
	std::int32_t fd = g.open(longest, OpenMode::Write);
	CHECK(fd >= 0);
	CHECK(present(f.localDir / (longest + ".local1")));
	CHECK(g.open(std::string(256, 'n'), OpenMode::Write) == QUANTA_ENAMETOOLONG);
	CHECK(g.open(std::string(256, 'n'), OpenMode::Read) == QUANTA_ENAMETOOLONG);
	CHECK(g.open(std::string(5000, 'n'), OpenMode::Write) == QUANTA_ENAMETOOLONG);
	CHECK(g.lastError().find("limit") != std::string::npos);

	FileLimits small;
	small.maxName = 4;
	FileStore tight = FileStore({}, f.localDir, small);
	GuestFiles t(tight, 1);
	CHECK(t.open("abcd", OpenMode::Write) >= 0);
	CHECK(t.open("abcde", OpenMode::Write) == QUANTA_ENAMETOOLONG);
}

TEST_CASE("confinement: a symlink planted where a local file or copy goes is refused, its target untouched")
{
	Fixture f;
	FileStore store = f.store();
	writeFile(f.dir / "victim", "precious");
	fs::create_symlink(f.dir / "victim", f.localDir / "evil.local1");
	fs::create_symlink(f.dir / "victim", f.sharedDir / "data.txt.local1");
	fs::create_symlink("/etc/passwd", f.localDir / "passwd.local1");

	GuestFiles g(store, 1);
	for (OpenMode mode : { OpenMode::Write, OpenMode::Append, OpenMode::WritePlus, OpenMode::AppendPlus }) {
		CAPTURE(static_cast<int>(mode));
		CHECK(g.open("evil", mode) == QUANTA_EACCES);
		CHECK(g.open("data.txt", mode) == QUANTA_EACCES); // the copy-on-write copy
		CHECK(g.open("passwd", mode) == QUANTA_EACCES);
	}
	CHECK(g.open("data.txt", OpenMode::ReadPlus) == QUANTA_EACCES);
	CHECK(g.open("evil", OpenMode::Read) == QUANTA_ENOENT); // never followed for reading either
	CHECK(g.openCount() == 0);
	CHECK(readFile(f.dir / "victim") == "precious");
	CHECK(fs::is_symlink(f.localDir / "evil.local1"));
	// The guest still reads the shared file itself.
	std::int32_t r = g.open("data.txt", OpenMode::Read);
	CHECK(readAll(g, r) == f.original);
	// Another guest's copy is another name: unaffected.
	GuestFiles g2(store, 2);
	CHECK(g2.open("data.txt", OpenMode::Append) >= 0);
}

TEST_CASE("confinement: a local file swapped for a symlink after creation is not followed")
{
	Fixture f;
	FileStore store = f.store();
	writeFile(f.dir / "victim", "precious");
	GuestFiles g(store, 1);
	std::int32_t fd = g.open("mine", OpenMode::Write);
	REQUIRE(fd >= 0);
	CHECK(g.close(fd) == 0);
	fs::remove(f.localDir / "mine.local1");
	fs::create_symlink(f.dir / "victim", f.localDir / "mine.local1");
	CHECK(g.open("mine", OpenMode::Read) == QUANTA_EACCES);
	CHECK(g.open("mine", OpenMode::Append) == QUANTA_EACCES);
	CHECK(readFile(f.dir / "victim") == "precious");
}

TEST_CASE("confinement: a shared file named like a local file or copy is never overwritten")
{
	Fixture f;
	// Shared files whose names are what guest 1's local file "notes" and
	// its copy of "data.txt" would be called.
	writeFile(f.localDir / "notes.local1", "shared notes");
	writeFile(f.sharedDir / "data.txt.local1", "shared too");
	FileStore store({ f.data.string(), (f.localDir / "notes.local1").string(),
			  (f.sharedDir / "data.txt.local1").string() },
			f.localDir, {});
	GuestFiles g1(store, 1), g2(store, 2);
	for (OpenMode mode : { OpenMode::Write, OpenMode::Append, OpenMode::WritePlus }) {
		CAPTURE(static_cast<int>(mode));
		CHECK(g1.open("notes", mode) == QUANTA_EACCES);
		CHECK(g1.lastError().find("is a shared file") != std::string::npos);
		CHECK(g1.open("data.txt", mode) == QUANTA_EACCES);
	}
	CHECK(readFile(f.localDir / "notes.local1") == "shared notes");
	CHECK(readFile(f.sharedDir / "data.txt.local1") == "shared too");
	// The guests still read them by their names, and guest 2's names differ.
	std::int32_t r = g1.open("notes.local1", OpenMode::Read);
	CHECK(readAll(g1, r) == "shared notes");
	CHECK(g2.open("notes", OpenMode::Write) >= 0);
	CHECK(g2.open("data.txt", OpenMode::Append) >= 0);
	CHECK(readFile(f.sharedDir / "data.txt.local2") == f.original);
}

TEST_CASE("confinement: a hard link or a FIFO planted where a local file goes is refused")
{
	Fixture f;
	FileStore store = f.store();
	writeFile(f.dir / "victim", "precious");
	REQUIRE(::link((f.dir / "victim").c_str(), (f.localDir / "hard.local1").c_str()) == 0);
	REQUIRE(::link((f.dir / "victim").c_str(), (f.sharedDir / "data.txt.local1").c_str()) == 0);
	REQUIRE(::mkfifo((f.localDir / "pipe.local1").c_str(), 0600) == 0);
	GuestFiles g(store, 1);
	CHECK(g.open("hard", OpenMode::Write) == QUANTA_EACCES);
	CHECK(g.lastError().find("hard links") != std::string::npos);
	CHECK(g.open("data.txt", OpenMode::Append) == QUANTA_EACCES);
	CHECK(g.open("pipe", OpenMode::Write) == QUANTA_EACCES); // refused, not blocked on
	CHECK(g.lastError().find("not a regular file") != std::string::npos);
	CHECK(readFile(f.dir / "victim") == "precious");
	CHECK(g.openCount() == 0);
}

// ---- Limits ------------------------------------------------------------------

TEST_CASE("limits: 16 open files per guest, then EMFILE; closing one frees a slot")
{
	Fixture f;
	FileStore store = f.store();
	GuestFiles g(store, 1), other(store, 2);
	std::vector<std::int32_t> fds;
	for (int i = 0; i < 16; ++i) {
		// Not "f" + std::to_string(i): GCC 12 at -O3 misreports it as -Wrestrict.
		std::string name = "f";
		name += std::to_string(i);
		std::int32_t fd = i % 2 ? g.open("data.txt", OpenMode::Read) : g.open(name, OpenMode::Write);
		REQUIRE(fd == i);
		fds.push_back(fd);
	}
	CHECK(g.openCount() == 16);
	CHECK(g.open("data.txt", OpenMode::Read) == QUANTA_EMFILE);
	CHECK(g.lastError().find("limit 16") != std::string::npos);
	CHECK(g.open("new", OpenMode::Write) == QUANTA_EMFILE);
	CHECK_FALSE(present(f.localDir / "new.local1")); // refused before creating anything
	// The limit is per guest.
	CHECK(other.open("data.txt", OpenMode::Read) == 0);

	CHECK(g.close(9) == 0);
	CHECK(g.open("data.txt", OpenMode::Read) == 9);
	CHECK(g.open("data.txt", OpenMode::Read) == QUANTA_EMFILE);

	// Invalidated descriptors still hold their slot until closed.
	CHECK(g.close(15) == 0);
	CHECK(g.open("data.txt", OpenMode::Write) == 15); // invalidates 1, 3, ... 13, 9
	CHECK(g.open("x", OpenMode::Write) == QUANTA_EMFILE);
	CHECK(g.close(1) == QUANTA_EBADF);
	CHECK(g.open("x", OpenMode::Write) == 1);

	g.closeAll();
	CHECK(g.openCount() == 0);
}

TEST_CASE("limits: a file may not grow past --file-max-size; EFBIG writes nothing")
{
	Fixture f;
	FileLimits limits;
	limits.maxFileSize = 10;
	FileStore store = f.store(limits);
	GuestFiles g(store, 1);

	std::int32_t fd = g.open("big", OpenMode::Write);
	CHECK(writeStr(g, fd, "123456") == 6);
	CHECK(writeStr(g, fd, "78901") == QUANTA_EFBIG); // would end at 11
	CHECK(g.lastError().find("file-max-size") != std::string::npos);
	CHECK(writeStr(g, fd, "7890") == 4); // exactly at the limit
	std::uint8_t byte = 'x';
	CHECK(g.write(fd, &byte, 1) == QUANTA_EFBIG);
	CHECK(readFile(f.localDir / "big.local1") == "1234567890");

	// Overwriting inside the file is fine; seeking past the limit and
	// writing is not.
	CHECK(g.seek(fd, 0, QUANTA_SEEK_SET) == 0);
	CHECK(writeStr(g, fd, "ABCDEFGHIJ") == 10);
	CHECK(g.seek(fd, 100, QUANTA_SEEK_SET) == 100);
	CHECK(g.write(fd, &byte, 1) == QUANTA_EFBIG);
	CHECK(readFile(f.localDir / "big.local1") == "ABCDEFGHIJ");

	// Append mode counts from the end of the file, wherever the position is.
	std::int32_t a = g.open("big", OpenMode::AppendPlus);
	CHECK(g.seek(a, 0, QUANTA_SEEK_SET) == 0);
	CHECK(g.write(a, &byte, 1) == QUANTA_EFBIG);

	// A copy of a shared file bigger than the limit may be rewritten in
	// place but not grown.
	std::int32_t c = g.open("data.txt", OpenMode::ReadPlus); // 18 bytes
	REQUIRE(c >= 0);
	CHECK(writeStr(g, c, "LINE") == 4);
	CHECK(g.seek(c, 0, QUANTA_SEEK_END) == 18);
	CHECK(g.write(c, &byte, 1) == QUANTA_EFBIG);
	CHECK(readFile(f.sharedDir / "data.txt.local1") == "LINE one\nline two\n");
}

TEST_CASE("seek: set, cur, end; bad whence and bad descriptors are errors")
{
	Fixture f;
	FileStore store = f.store();
	GuestFiles g(store, 1);
	std::int32_t fd = g.open("data.txt", OpenMode::Read);
	CHECK(g.seek(fd, 5, QUANTA_SEEK_SET) == 5);
	CHECK(g.seek(fd, 3, QUANTA_SEEK_CUR) == 8);
	CHECK(g.seek(fd, -4, QUANTA_SEEK_END) == 14);
	CHECK(readAll(g, fd) == "two\n");
	CHECK(g.seek(fd, -1, QUANTA_SEEK_SET) == QUANTA_EINVAL);
	CHECK(g.seek(fd, 0, 3) == QUANTA_EINVAL);
	CHECK(g.seek(fd, 0, 0xffffffffu) == QUANTA_EINVAL);
	CHECK(g.seek(fd, 0, QUANTA_SEEK_CUR) == 18); // unchanged by the failures
	CHECK(g.seek(99, 0, QUANTA_SEEK_SET) == QUANTA_EBADF);
}

TEST_CASE("bad descriptors: negative, never opened, closed, huge")
{
	Fixture f;
	FileStore store = f.store();
	GuestFiles g(store, 1);
	std::uint8_t buf[4] = {};
	for (std::int32_t fd : { -1, 0, 1, 15, 16, 1000, 0x7fffffff, static_cast<std::int32_t>(0x80000000u) }) {
		CAPTURE(fd);
		CHECK(g.read(fd, buf, 4) == QUANTA_EBADF);
		CHECK(g.write(fd, buf, 4) == QUANTA_EBADF);
		CHECK(g.close(fd) == QUANTA_EBADF);
		CHECK(g.seek(fd, 0, QUANTA_SEEK_SET) == QUANTA_EBADF);
	}
	std::int32_t fd = g.open("data.txt", OpenMode::Read);
	CHECK(g.close(fd) == 0);
	CHECK(g.close(fd) == QUANTA_EBADF);
	CHECK(g.read(fd, buf, 4) == QUANTA_EBADF);
}

TEST_CASE("nothing lost: what a guest wrote is on disk without a close, after closeAll and after destruction")
{
	Fixture f;
	FileStore store = f.store();
	{
		GuestFiles g(store, 1);
		std::int32_t a = g.open("a", OpenMode::Write);
		std::int32_t b = g.open("data.txt", OpenMode::Append);
		CHECK(writeStr(g, a, "written, never closed") == 21);
		CHECK(writeStr(g, b, "tail") == 4);
		// Visible on disk right away: no buffering in quanta.
		CHECK(readFile(f.localDir / "a.local1") == "written, never closed");
		g.closeAll();
		CHECK(g.openCount() == 0);
		CHECK(g.read(a, nullptr, 0) == QUANTA_EBADF);
		std::int32_t c = g.open("c", OpenMode::Write);
		CHECK(writeStr(g, c, "dropped with the guest") == 22);
	}
	CHECK(readFile(f.localDir / "a.local1") == "written, never closed");
	CHECK(readFile(f.sharedDir / "data.txt.local1") == f.original + "tail");
	CHECK(readFile(f.localDir / "c.local1") == "dropped with the guest");
}

// ---- Byte protocol -----------------------------------------------------------

namespace {

// Drives a ByteProtocol as a guest would, one byte per port access.
struct ByteGuest {
	ByteProtocol &p;

	void outs(std::initializer_list<int> bytes)
	{
		for (int b : bytes)
			p.out(static_cast<std::uint8_t>(b));
	}
	void fd(std::int32_t value)
	{
		auto v = static_cast<std::uint32_t>(value);
		outs({ static_cast<int>(v >> 24 & 0xff), static_cast<int>(v >> 16 & 0xff),
		       static_cast<int>(v >> 8 & 0xff), static_cast<int>(v & 0xff) });
	}
	std::int32_t open(const std::string &name, bool write)
	{
		p.out(write ? QUANTA_FILE_BYTE_OPEN_WRITE : QUANTA_FILE_BYTE_OPEN_READ);
		for (char c : name)
			p.out(static_cast<std::uint8_t>(c));
		p.out(0);
		std::uint32_t v = 0;
		for (int i = 0; i < 4; ++i)
			v = v << 8 | p.in();
		return static_cast<std::int32_t>(v);
	}
	std::uint8_t close(std::int32_t descriptor)
	{
		p.out(QUANTA_FILE_BYTE_CLOSE);
		fd(descriptor);
		return p.in();
	}
	std::uint8_t getc(std::int32_t descriptor)
	{
		p.out(QUANTA_FILE_BYTE_READ);
		fd(descriptor);
		return p.in();
	}
	std::uint8_t putc(std::int32_t descriptor, std::uint8_t byte)
	{
		p.out(QUANTA_FILE_BYTE_WRITE);
		fd(descriptor);
		p.out(byte);
		return p.in();
	}
	std::string readAll(std::int32_t descriptor)
	{
		std::string out;
		for (;;) {
			std::uint8_t c = getc(descriptor);
			if (c == 0xff)
				return out;
			out.push_back(static_cast<char>(c));
		}
	}
	bool write(std::int32_t descriptor, const std::string &text)
	{
		for (char c : text)
			if (putc(descriptor, static_cast<std::uint8_t>(c)) != static_cast<std::uint8_t>(c))
				return false;
		return true;
	}
	std::string error() { return p.takeError(); }
};

} // namespace

TEST_CASE("byte protocol: open, read to end of file, close; descriptors big-endian")
{
	Fixture f;
	FileStore store = f.store();
	GuestFiles files(store, 1);
	ByteProtocol proto(files);
	ByteGuest g{ proto };

	std::int32_t fd = g.open("data.txt", false);
	CHECK(fd == 0);
	CHECK(g.error().empty());
	CHECK(g.readAll(fd) == f.original);
	CHECK(g.getc(fd) == 0xff); // still end of file
	CHECK(g.error().empty());  // end of file is not an error
	CHECK(g.close(fd) == 0);
	CHECK(g.error().empty());

	// Descriptor bytes are big-endian: open 3 files, read from the third.
	CHECK(g.open("data.txt", false) == 0);
	CHECK(g.open("other.bin", false) == 1);
	CHECK(g.open("data.txt", false) == 2);
	proto.out(QUANTA_FILE_BYTE_READ);
	g.outs({ 0, 0, 0, 1 });
	CHECK(proto.in() == 0x00); // other.bin: 00 01 02 fe
	proto.out(QUANTA_FILE_BYTE_READ);
	g.outs({ 1, 0, 0, 0 }); // 0x01000000 (little-endian 1): no such descriptor
	CHECK(proto.in() == 0xff);
	CHECK_FALSE(g.error().empty());
	CHECK(g.getc(1) == 0x01);
	CHECK(g.getc(1) == 0x02);
	CHECK(g.getc(1) == 0xfe);
	CHECK(g.getc(1) == 0xff);
}

TEST_CASE("byte protocol: write creates a local file, each byte echoed; the open result is -1 on error")
{
	Fixture f;
	FileStore store = f.store();
	GuestFiles files(store, 2);
	ByteProtocol proto(files);
	ByteGuest g{ proto };

	CHECK(g.open("log.txt", false) == -1); // reading a local file that does not exist
	CHECK(g.error().find("log.txt") != std::string::npos);
	std::int32_t w = g.open("log.txt", true);
	REQUIRE(w == 0);
	CHECK(g.putc(w, 'h') == 'h');
	CHECK(g.putc(w, 0) == 0);
	CHECK(g.write(w, "ello"));
	CHECK(readFile(f.localDir / "log.txt.local2") == std::string("h\0ello", 6));
	// Writing on a read descriptor, reading on a write descriptor.
	std::int32_t r = g.open("data.txt", false);
	CHECK(g.putc(r, 'x') == 0xff);
	CHECK(g.error().find("not open for writing") != std::string::npos);
	CHECK(g.getc(w) == 0xff);
	CHECK(g.error().find("not open for reading") != std::string::npos);
	CHECK(g.close(w) == 0);
	CHECK(g.close(w) == 0xff);
	CHECK(g.open("log.txt", false) == 0);
	CHECK(g.readAll(0) == std::string("h\0ello", 6));
}

TEST_CASE("byte protocol: opening a shared file for writing copies it (truncating) and invalidates earlier descriptors")
{
	Fixture f;
	FileStore store = f.store();
	GuestFiles files(store, 1), otherFiles(store, 2);
	ByteProtocol proto(files), otherProto(otherFiles);
	ByteGuest g{ proto }, other{ otherProto };

	std::int32_t r = g.open("data.txt", false);
	std::int32_t o = other.open("data.txt", false);
	CHECK(g.getc(r) == 'l');
	std::int32_t w = g.open("data.txt", true); // the byte protocol's open-for-write is "w"
	REQUIRE(w == 1);
	CHECK(g.write(w, "mine\n"));
	CHECK(readFile(f.sharedDir / "data.txt.local1") == "mine\n");
	CHECK(readFile(f.data) == f.original);

	// The earlier descriptor: reads and close give errors.
	CHECK(g.getc(r) == 0xff);
	CHECK(g.error().find("invalidated") != std::string::npos);
	CHECK(g.close(r) == 0xff);
	CHECK_FALSE(g.error().empty());
	// A new read descriptor sees the copy; the other guest the original.
	std::int32_t r2 = g.open("data.txt", false);
	CHECK(g.readAll(r2) == "mine\n");
	CHECK(other.readAll(o) == f.original);
}

TEST_CASE("byte protocol: confinement and limits come back as -1 / 0xFF")
{
	Fixture f;
	FileLimits limits;
	limits.maxFileSize = 3;
	FileStore store = f.store(limits);
	GuestFiles files(store, 1);
	ByteProtocol proto(files);
	ByteGuest g{ proto };

	for (const char *name : { "../data.txt", "/etc/passwd", "a/b", "..", "" }) {
		CAPTURE(name);
		CHECK(g.open(name, false) == -1);
		CHECK_FALSE(g.error().empty());
		CHECK(g.open(name, true) == -1);
	}
	// A name of exactly 255 bytes reaches the file table; 256 and more are
	// consumed to the NUL (the device stays in step) and refused.
	CHECK(g.open(std::string(255, 'n'), false) == -1);
	CHECK(g.error().find("neither shared nor created") != std::string::npos);
	CHECK(g.open(std::string(256, 'n'), true) == -1);
	CHECK(g.error().find("longer than 255") != std::string::npos);
	CHECK(g.open(std::string(10000, 'n'), true) == -1);
	CHECK(g.open("data.txt", false) == 0); // in step afterwards
	CHECK(g.close(0) == 0);

	// EFBIG at the size limit.
	std::int32_t w = g.open("small", true);
	CHECK(g.write(w, "abc"));
	CHECK(g.putc(w, 'd') == 0xff);
	CHECK(g.error().find("file-max-size") != std::string::npos);
	CHECK(readFile(f.localDir / "small.local1") == "abc");
	CHECK(g.close(w) == 0);

	// EMFILE at 16.
	for (int i = 0; i < 16; ++i)
		CHECK(g.open("data.txt", false) == i);
	CHECK(g.open("data.txt", false) == -1);
	CHECK(g.error().find("limit 16") != std::string::npos);
	CHECK(g.close(7) == 0);
	CHECK(g.open("data.txt", false) == 7);
}

TEST_CASE("byte protocol: a symlink planted at NAME.local1 is refused")
{
	Fixture f;
	FileStore store = f.store();
	writeFile(f.dir / "victim", "precious");
	fs::create_symlink(f.dir / "victim", f.localDir / "out.local1");
	fs::create_symlink(f.dir / "victim", f.sharedDir / "data.txt.local1");
	GuestFiles files(store, 1);
	ByteProtocol proto(files);
	ByteGuest g{ proto };
	CHECK(g.open("out", true) == -1);
	CHECK_FALSE(g.error().empty());
	CHECK(g.open("data.txt", true) == -1);
	CHECK(readFile(f.dir / "victim") == "precious");
}

TEST_CASE("byte protocol garbage: unknown opcodes are ignored, an IN without a command is 0xFF")
{
	Fixture f;
	FileStore store = f.store();
	GuestFiles files(store, 1);
	ByteProtocol proto(files);
	ByteGuest g{ proto };

	for (int op : { 0, 6, 7, 0x42, 0x80, 0xfe, 0xff }) {
		CAPTURE(op);
		proto.out(static_cast<std::uint8_t>(op));
		CHECK(g.error().find("unknown opcode") != std::string::npos);
	}
	CHECK(proto.in() == 0xff);
	CHECK(g.error().find("IN without a command") != std::string::npos);
	CHECK(proto.in() == 0xff);
	CHECK_FALSE(g.error().empty());
	// Nothing is wedged.
	CHECK(g.open("data.txt", false) == 0);
	CHECK(g.getc(0) == 'l');
	CHECK(g.error().empty());
}

TEST_CASE("byte protocol garbage: an IN in the middle of a command abandons it")
{
	Fixture f;
	FileStore store = f.store();
	GuestFiles files(store, 1);
	ByteProtocol proto(files);
	ByteGuest g{ proto };

	// Mid-name.
	g.outs({ QUANTA_FILE_BYTE_OPEN_WRITE, 'a', 'b' });
	CHECK(proto.in() == 0xff);
	CHECK(g.error().find("abandoned") != std::string::npos);
	CHECK(files.openCount() == 0);
	CHECK_FALSE(present(f.localDir / "ab.local1"));
	// Mid-descriptor, for each command.
	for (int op : { QUANTA_FILE_BYTE_CLOSE, QUANTA_FILE_BYTE_READ, QUANTA_FILE_BYTE_WRITE }) {
		CAPTURE(op);
		g.outs({ op, 0, 0 });
		CHECK(proto.in() == 0xff);
		CHECK(g.error().find("abandoned") != std::string::npos);
	}
	// A write with its descriptor but without the byte.
	std::int32_t w = g.open("out", true);
	REQUIRE(w == 0);
	proto.out(QUANTA_FILE_BYTE_WRITE);
	g.fd(w);
	CHECK(proto.in() == 0xff);
	CHECK(readFile(f.localDir / "out.local1").empty()); // nothing written
	// The device is in step: a whole command works.
	CHECK(g.putc(w, 'z') == 'z');
	CHECK(readFile(f.localDir / "out.local1") == "z");
}

TEST_CASE("byte protocol garbage: a result not read is dropped and the next OUT starts a new command")
{
	Fixture f;
	FileStore store = f.store();
	GuestFiles files(store, 1);
	ByteProtocol proto(files);
	ByteGuest g{ proto };

	// Open, read only 2 of the 4 descriptor bytes, then a new command.
	g.outs({ QUANTA_FILE_BYTE_OPEN_READ, 'd', 'a', 't', 'a', '.', 't', 'x', 't', 0 });
	CHECK(proto.in() == 0);
	CHECK(proto.in() == 0);
	CHECK(g.getc(0) == 'l'); // the file was opened (descriptor 0)
	CHECK(g.error().find("result not read") != std::string::npos);
	// Close without reading its result, then open: the open is intact.
	proto.out(QUANTA_FILE_BYTE_CLOSE);
	g.fd(0);
	CHECK(g.open("other.bin", false) == 0); // 0 was freed by the close
	// Write without reading the echo: the byte is written anyway.
	std::int32_t w = g.open("out", true);
	proto.out(QUANTA_FILE_BYTE_WRITE);
	g.fd(w);
	proto.out('A');
	CHECK(g.putc(w, 'B') == 'B');
	CHECK(readFile(f.localDir / "out.local1") == "AB");
	// A read whose IN never comes reads nothing: the byte is still there.
	CHECK(g.getc(0) == 0x00);
	proto.out(QUANTA_FILE_BYTE_READ);
	g.fd(0);
	CHECK(g.getc(0) == 0x01);
}

TEST_CASE("byte protocol garbage: a command abandoned mid-descriptor swallows the next bytes, then errors, then recovers")
{
	Fixture f;
	FileStore store = f.store();
	GuestFiles files(store, 1);
	ByteProtocol proto(files);
	ByteGuest g{ proto };
	REQUIRE(g.open("data.txt", false) == 0);

	// OUT 4, 0, 0 and then a new open: the protocol has no framing, so the
	// open's first bytes complete the read's descriptor (0, 0, 2, 'o').
	// The guest's open comes back as -1 and nothing was opened or created.
	g.outs({ QUANTA_FILE_BYTE_READ, 0, 0 });
	CHECK(g.open("out", true) == -1);
	CHECK(files.openCount() == 1);
	CHECK_FALSE(present(f.localDir / "out.local1"));
	CHECK_FALSE(present(f.localDir / "ut.local1"));
	// Then a whole command works again, and descriptor 0 kept its offset.
	CHECK(g.getc(0) == 'l');
	CHECK(g.open("out", true) == 1);
	// Same for an abandoned close: descriptor 0 stays open (the swallowed
	// bytes make another descriptor number).
	g.outs({ QUANTA_FILE_BYTE_CLOSE, 0 });
	CHECK(g.close(0) == 0xff);
	g.error();
	CHECK(g.getc(0) == 'i');
	CHECK(g.close(0) == 0);
}

TEST_CASE("byte protocol garbage: random bytes and INs never crash and never escape; the device resynchronises")
{
	Fixture f;
	FileLimits limits;
	limits.maxFileSize = 4096;
	FileStore store = f.store(limits);
	GuestFiles files(store, 1);
	ByteProtocol proto(files);
	ByteGuest g{ proto };

	std::mt19937 rng(12345);
	std::uniform_int_distribution<int> kind(0, 9), byte(0, 255), small(0, 7);
	for (int i = 0; i < 200000; ++i) {
		switch (kind(rng)) {
		case 0:
			proto.in();
			break;
		case 1:
		case 2:
			proto.out(static_cast<std::uint8_t>(1 + small(rng) % 5)); // an opcode
			break;
		case 3:
			proto.out(static_cast<std::uint8_t>(small(rng))); // small fd bytes, NULs
			break;
		default:
			proto.out(static_cast<std::uint8_t>(byte(rng)));
			break;
		}
		proto.takeError();
	}
	// At most 4 INs finish any pending result; one more is in Idle.
	for (int i = 0; i < 5; ++i)
		proto.in();
	proto.takeError();
	files.closeAll();
	std::int32_t fd = g.open("data.txt", false);
	CHECK(fd == 0);
	CHECK(g.readAll(fd) == f.original);
	// Whatever was created is a local file in the files dir or a copy
	// beside the shared file, each named NAME.local1; the shared files are
	// intact.
	CHECK(readFile(f.data) == f.original);
	CHECK(readFile(f.other) == std::string("\x00\x01\x02\xfe", 4));
	for (auto &e : fs::recursive_directory_iterator(f.dir.path)) {
		if (e.is_directory())
			continue;
		const std::string name = e.path().filename().string();
		if (name == "data.txt" || name == "other.bin")
			continue;
		CAPTURE(e.path().string());
		CHECK(name.size() > 7);
		CHECK(name.substr(name.size() - 7) == ".local1");
		CHECK(fs::file_size(e.path()) <= 4096);
	}
}

// ---- Block protocol (FileDevice) ----------------------------------------------

namespace {

class FakeGuest : public GuestContext {
public:
	explicit FakeGuest(std::size_t bytes)
		: memory_(bytes) {}
	GuestMemory &memory() override { return memory_; }
	Translation translatePointer(std::uint64_t) override { return {}; }
	std::uint64_t pointerBase() override { return 0; }
	void print(std::string_view) override {}
	void warn(std::string_view text) override { warnings.emplace_back(text); }
	std::int64_t uptimeNs() const override { return clock; }

	std::vector<std::string> warnings;
	// BlockGuest::call moves it on by 2 s (a new warning window) unless frozen.
	std::int64_t clock = 0;
	bool frozen = false;

private:
	GuestMemory memory_;
};

constexpr std::uint64_t kRequest = 0x1000;
constexpr std::uint64_t kName = 0x2000;
constexpr std::uint64_t kBuffer = 0x10000;

struct BlockGuest {
	FakeGuest guest{ 1 << 20 };
	FileDevice device;

	explicit BlockGuest(const FileStore &store, unsigned id = 1)
		: device(guest, store, id) {}

	quanta_file_request call(quanta_file_request r, std::uint64_t at = kRequest)
	{
		if (!guest.frozen)
			guest.clock += 2'000'000'000;
		r.ret = 12345;
		REQUIRE(guest.memory().store(gpa(at), r));
		auto address = static_cast<std::uint32_t>(at);
		std::uint8_t bytes[4];
		std::memcpy(bytes, &address, 4);
		REQUIRE(device.portOut(0, { bytes, 4 }) == IoStatus::Done);
		return *guest.memory().load<quanta_file_request>(gpa(at));
	}
	std::int32_t open(const std::string &name, std::uint32_t mode)
	{
		REQUIRE(guest.memory().write(gpa(kName), { reinterpret_cast<const std::uint8_t *>(name.c_str()),
							   name.size() + 1 }));
		return call({ QUANTA_FILE_OPEN, -1, static_cast<quanta_gpa_t>(kName),
			      static_cast<std::uint32_t>(name.size() + 1), mode, 0, 0, 0, 0 })
			.ret;
	}
	std::int32_t close(std::int32_t fd) { return call({ QUANTA_FILE_CLOSE, fd, 0, 0, 0, 0, 0, 0, 0 }).ret; }
	std::int32_t write(std::int32_t fd, const std::string &text)
	{
		REQUIRE(guest.memory().write(gpa(kBuffer), { reinterpret_cast<const std::uint8_t *>(text.data()),
							     text.size() }));
		return call({ QUANTA_FILE_WRITE, fd, static_cast<quanta_gpa_t>(kBuffer),
			      static_cast<std::uint32_t>(text.size()), 0, 0, 0, 0, 0 })
			.ret;
	}
	std::string read(std::int32_t fd, std::uint32_t length)
	{
		auto r = call({ QUANTA_FILE_READ, fd, static_cast<quanta_gpa_t>(kBuffer), length, 0, 0, 0, 0, 0 });
		REQUIRE(r.ret >= 0);
		std::string out(static_cast<std::size_t>(r.ret), '\0');
		REQUIRE(guest.memory().read(gpa(kBuffer), { reinterpret_cast<std::uint8_t *>(out.data()), out.size() }));
		return out;
	}
	quanta_file_request seek(std::int32_t fd, std::int64_t offset, std::uint32_t whence)
	{
		return call({ QUANTA_FILE_SEEK, fd, 0, 0, whence, 0, offset, 0, 0 });
	}
};

} // namespace

TEST_CASE("block protocol: open, whole-buffer write and read, seek, close")
{
	Fixture f;
	FileStore store = f.store();
	BlockGuest g(store);

	std::int32_t fd = g.open("data.txt", QUANTA_FILE_MODE_R);
	REQUIRE(fd == 0);
	CHECK(g.read(fd, 1000) == f.original);
	CHECK(g.read(fd, 1000) == "");
	auto s = g.seek(fd, 5, QUANTA_SEEK_SET);
	CHECK(s.ret == 5);
	CHECK(s.offset == 5);
	CHECK(g.read(fd, 3) == "one");
	s = g.seek(fd, -4, QUANTA_SEEK_END);
	CHECK(s.ret == 14);
	CHECK(s.offset == 14);
	CHECK(g.close(fd) == 0);
	CHECK(g.close(fd) == QUANTA_EBADF);

	// a+ on the shared file: the copy, then read back after a seek.
	fd = g.open("data.txt", QUANTA_FILE_MODE_APLUS);
	REQUIRE(fd == 0);
	CHECK(g.write(fd, "line three\n") == 11);
	CHECK(g.seek(fd, 0, QUANTA_SEEK_SET).ret == 0);
	CHECK(g.read(fd, 100) == f.original + "line three\n");
	CHECK(readFile(f.data) == f.original);
	CHECK(readFile(f.sharedDir / "data.txt.local1") == f.original + "line three\n");

	// A 64 KiB write and read in one request each.
	std::string big(QUANTA_FILE_MAX_IO, 'q');
	for (std::size_t i = 0; i < big.size(); ++i)
		big[i] = static_cast<char>('a' + i % 26);
	std::int32_t w = g.open("big", QUANTA_FILE_MODE_WPLUS);
	CHECK(g.write(w, big) == static_cast<std::int32_t>(QUANTA_FILE_MAX_IO));
	CHECK(g.seek(w, 0, QUANTA_SEEK_SET).ret == 0);
	CHECK(g.read(w, QUANTA_FILE_MAX_IO) == big);
	CHECK(readFile(f.localDir / "big.local1") == big);
	CHECK(g.guest.warnings.size() == 1); // the second close

	// A position past 2 GiB: in offset; ret (32-bit) stays non-negative.
	s = g.seek(w, 3000000000ll, QUANTA_SEEK_SET);
	CHECK(s.offset == 3000000000ll);
	CHECK(s.ret == INT32_MAX);
	CHECK(g.seek(w, 0, QUANTA_SEEK_CUR).offset == 3000000000ll);
}

TEST_CASE("block protocol: every refusal is a code in the request and a line in the log")
{
	Fixture f;
	FileLimits limits;
	limits.maxFileSize = 8;
	FileStore store = f.store(limits);
	BlockGuest g(store);
	auto &warnings = g.guest.warnings;

	CHECK(g.open("../data.txt", QUANTA_FILE_MODE_R) == QUANTA_EACCES);
	CHECK(g.open("/etc/passwd", QUANTA_FILE_MODE_R) == QUANTA_EACCES);
	CHECK(g.open("a/b", QUANTA_FILE_MODE_W) == QUANTA_EACCES);
	CHECK(g.open("nope", QUANTA_FILE_MODE_R) == QUANTA_ENOENT);
	CHECK(g.open("data.txt", 6) == QUANTA_EINVAL); // no such mode
	CHECK(g.open(std::string(300, 'x'), QUANTA_FILE_MODE_W) == QUANTA_ENAMETOOLONG);
	REQUIRE(warnings.size() == 6);
	CHECK(warnings[0].find("file: ") == 0);
	CHECK(warnings[0].find("refused") != std::string::npos);
	// Each line gives this request's reason, not the previous one's.
	CHECK(warnings[4].find("unknown mode 6") != std::string::npos);
	CHECK(warnings[5].find("no NUL") != std::string::npos);

	// A name without its NUL within the length given.
	REQUIRE(g.guest.memory().write(gpa(kName), { reinterpret_cast<const std::uint8_t *>("data.txt"), 8 }));
	auto r = g.call({ QUANTA_FILE_OPEN, -1, static_cast<quanta_gpa_t>(kName), 4, QUANTA_FILE_MODE_R, 0, 0, 0, 0 });
	CHECK(r.ret < 0);
	// Names and buffers outside guest memory.
	r = g.call({ QUANTA_FILE_OPEN, -1, 0xfffffff0u, 16, QUANTA_FILE_MODE_R, 0, 0, 0, 0 });
	CHECK(r.ret == QUANTA_EFAULT);
	std::int32_t fd = g.open("data.txt", QUANTA_FILE_MODE_R);
	REQUIRE(fd == 0);
	r = g.call({ QUANTA_FILE_READ, fd, (1u << 20) - 4, 8, 0, 0, 0, 0, 0 });
	CHECK(r.ret == QUANTA_EFAULT);
	r = g.call({ QUANTA_FILE_READ, fd, static_cast<quanta_gpa_t>(kBuffer), QUANTA_FILE_MAX_IO + 1, 0, 0, 0, 0, 0 });
	CHECK(r.ret == QUANTA_E2BIG);
	CHECK(g.read(fd, 4) == "line"); // nothing was consumed by the failures
	CHECK(warnings.back().find("at most 65536") != std::string::npos);
	r = g.call({ 99, fd, 0, 0, 0, 0, 0, 0, 0 });
	CHECK(r.ret == QUANTA_ENOSYS);
	CHECK(warnings.back().find("unknown request op 99") != std::string::npos);
	r = g.call({ 0, fd, 0, 0, 0, 0, 0, 0, 0 });
	CHECK(r.ret == QUANTA_ENOSYS);
	CHECK(g.seek(fd, 0, 7).ret == QUANTA_EINVAL);

	// Limits.
	std::int32_t w = g.open("out", QUANTA_FILE_MODE_W);
	CHECK(g.write(w, "12345678") == 8);
	CHECK(g.write(w, "9") == QUANTA_EFBIG);
	for (int i = 2; i < 16; ++i)
		CHECK(g.open("data.txt", QUANTA_FILE_MODE_R) == i);
	CHECK(g.open("data.txt", QUANTA_FILE_MODE_R) == QUANTA_EMFILE);
	CHECK(readFile(f.localDir / "out.local1") == "12345678");

	// A request block outside memory: nowhere to write the result, logged.
	std::size_t before = warnings.size();
	std::uint32_t outside = 0xfffffff0u;
	std::uint8_t bytes[4];
	std::memcpy(bytes, &outside, 4);
	CHECK(g.device.portOut(0, { bytes, 4 }) == IoStatus::Done);
	CHECK(warnings.size() == before + 1);
	CHECK(warnings.back().find("outside memory") != std::string::npos);
	// Accesses of the wrong width stop the VM with a reason.
	CHECK(g.device.portOut(0, { bytes, 2 }) == IoStatus::Error);
	CHECK_FALSE(g.device.lastError().empty());
	CHECK(g.device.portIn(0, { bytes, 4 }) == IoStatus::Error);
}

TEST_CASE("block protocol and byte protocol share one descriptor table")
{
	Fixture f;
	FileStore store = f.store();
	BlockGuest g(store);
	std::int32_t fd = g.open("data.txt", QUANTA_FILE_MODE_R);
	REQUIRE(fd == 0);
	// Byte protocol read of descriptor 0 through the same device.
	auto out = [&](std::uint8_t b) { REQUIRE(g.device.portOut(0, { &b, 1 }) == IoStatus::Done); };
	auto in = [&] {
		std::uint8_t b = 0;
		REQUIRE(g.device.portIn(0, { &b, 1 }) == IoStatus::Done);
		return b;
	};
	for (std::uint8_t b : { 4, 0, 0, 0, 0 })
		out(b);
	CHECK(in() == 'l');
	CHECK(g.read(fd, 4) == "ine ");
	// Garbage on the byte side is logged, never a stop.
	out(0x42);
	CHECK(in() == 0xff);
	CHECK(g.guest.warnings.size() == 2);
	CHECK(g.close(fd) == 0);
}

// ---- Hardening (issue 12 C, D, G; issue 11 path-named shared files) --------

TEST_CASE("log injection: a guest-chosen name is escaped and capped in every diagnostic")
{
	Fixture f;
	FileStore store = f.store();
	BlockGuest g(store);
	const std::string forged = "x\nquanta: Morpheus: stopped: FORGED\x1b[2J/" + std::string(300, 'y');
	CHECK(g.open(forged.substr(0, 200), QUANTA_FILE_MODE_W) == QUANTA_EACCES);
	CHECK(g.open("\x1b[2J/nope", QUANTA_FILE_MODE_R) == QUANTA_EACCES);
	CHECK(g.open("nope\xe2\x80\xae", QUANTA_FILE_MODE_R) == QUANTA_ENOENT); // U+202E turns text around
	REQUIRE(g.guest.warnings.size() == 3);
	for (const std::string &line : g.guest.warnings) {
		for (char c : line)
			CHECK((c >= 0x20 && c < 0x7f));
		CHECK(line.size() < 400);
	}
	CHECK(g.guest.warnings[0].find("x\\x0aquanta: Morpheus") != std::string::npos);
	CHECK(g.guest.warnings[0].find("...") != std::string::npos);
	CHECK(g.guest.warnings[1].find("'\\x1b[2J/nope'") != std::string::npos);
	CHECK(g.guest.warnings[2].find("'nope\\xe2\\x80\\xae'") != std::string::npos);
}

TEST_CASE("log injection: a flood of bad requests gives a few lines and a count, not a line each")
{
	Fixture f;
	FileStore store = f.store();
	BlockGuest g(store);
	g.guest.frozen = true;   // all in one window
	std::uint8_t bad = 0x42; // no such opcode
	for (int i = 0; i < 12350; ++i)
		g.device.portOut(0, { &bad, 1 });
	CHECK(g.guest.warnings.size() == 5);
	g.device.stopped();
	REQUIRE(g.guest.warnings.size() == 6);
	CHECK(g.guest.warnings.back() == "file: byte protocol: unknown opcode # ignored ... 12,345 more like this");
	// Other kinds of warning still show in the same window.
	CHECK(g.open("a/b", QUANTA_FILE_MODE_R) == QUANTA_EACCES);
	CHECK(g.guest.warnings.back().find("'a/b' is a path") != std::string::npos);
	g.guest.warnings.pop_back();
	// A later window shows new warnings again, after the count.
	g.guest.clock += 5'000'000'000;
	std::uint8_t b = 0x42;
	g.device.portOut(0, { &b, 1 });
	CHECK(g.guest.warnings.size() == 7);
}

namespace {

// RLIMIT_FSIZE makes write(2) stop part way, as a full disk does: the
// first write that crosses the limit is short, the next fails.
struct FileSizeLimit {
	rlimit saved{};
	void (*savedHandler)(int);
	explicit FileSizeLimit(rlim_t bytes)
	{
		REQUIRE(::getrlimit(RLIMIT_FSIZE, &saved) == 0);
		savedHandler = std::signal(SIGXFSZ, SIG_IGN);
		rlimit limit{ bytes, saved.rlim_max };
		REQUIRE(::setrlimit(RLIMIT_FSIZE, &limit) == 0);
	}
	~FileSizeLimit()
	{
		::setrlimit(RLIMIT_FSIZE, &saved);
		std::signal(SIGXFSZ, savedHandler);
	}
};

} // namespace

TEST_CASE("full disk: a write that partly succeeds reports the bytes that reached the disk")
{
	Fixture f;
	FileStore store = f.store();
	GuestFiles g(store, 1);
	std::int32_t fd = g.open("out", OpenMode::Write);
	REQUIRE(fd >= 0);
	std::vector<std::uint8_t> block(65536, 'z');
	{
		FileSizeLimit limit(45056);
		CHECK(g.write(fd, block.data(), block.size()) == 45056);
		CHECK(g.lastError().find("stopped after 45056") != std::string::npos);
		CHECK(g.seek(fd, 0, QUANTA_SEEK_CUR) == 45056);
		// Nothing more fits: now the guest gets an error, and nothing moved.
		CHECK(g.write(fd, block.data(), block.size()) < 0);
		CHECK(g.seek(fd, 0, QUANTA_SEEK_CUR) == 45056);
	}
	CHECK(fs::file_size(f.localDir / "out.local1") == 45056);
	CHECK(g.localBytes() == 45056);
}

TEST_CASE("full disk: a failed copy-on-write gives its real reason and leaves no partial .local<ID>")
{
	Fixture f;
	writeFile(f.data, std::string(200000, 'd'));
	FileStore store = f.store();
	GuestFiles g(store, 1);
	{
		FileSizeLimit limit(100000);
		CHECK(g.open("data.txt", OpenMode::Append) < 0);
		CHECK(g.lastError().find(std::strerror(EFBIG)) != std::string::npos);
		CHECK(g.lastError().find("partial copy was removed") != std::string::npos);
	}
	CHECK_FALSE(present(f.sharedDir / "data.txt.local1"));
	CHECK(g.localFiles() == 0);
	// With room again, the copy works and the shared file is untouched.
	std::int32_t fd = g.open("data.txt", OpenMode::Append);
	REQUIRE(fd >= 0);
	CHECK(fs::file_size(f.sharedDir / "data.txt.local1") == 200000);
	CHECK(g.localBytes() == 200000);
}

TEST_CASE("quota: a guest's own files are limited in number and in total bytes (--file-quota)")
{
	Fixture f;
	FileLimits limits;
	limits.maxFiles = 3;
	limits.maxTotalBytes = 100;
	FileStore store = f.store(limits);
	GuestFiles g(store, 1);
	std::vector<std::uint8_t> bytes(60, 'q');
	std::int32_t a = g.open("a", OpenMode::Write);
	std::int32_t b = g.open("b", OpenMode::Write);
	REQUIRE(a >= 0);
	REQUIRE(b >= 0);
	CHECK(g.write(a, bytes.data(), 60) == 60);
	CHECK(g.write(b, bytes.data(), 60) == QUANTA_EDQUOT);
	CHECK(g.lastError().find("--file-quota") != std::string::npos);
	CHECK(g.write(b, bytes.data(), 40) == 40);
	// Rewriting in place does not grow the total; truncating frees it.
	CHECK(g.seek(a, 0, QUANTA_SEEK_SET) == 0);
	CHECK(g.write(a, bytes.data(), 60) == 60);
	CHECK(g.open("a", OpenMode::Write) >= 0);
	CHECK(g.localBytes() == 40);
	// The copy of data.txt (18 bytes) is the third file; a fourth is refused.
	CHECK(g.open("data.txt", OpenMode::Append) >= 0);
	CHECK(g.localBytes() == 58);
	CHECK(g.open("d", OpenMode::Write) == QUANTA_EDQUOT);
	CHECK_FALSE(present(f.localDir / "d.local1"));
	// Another guest has its own quota.
	GuestFiles other(store, 2);
	CHECK(other.open("d", OpenMode::Write) >= 0);
}

TEST_CASE("name length: NAME_MAX less the .local<ID> suffix, with a clear error")
{
	Fixture f;
	FileStore store = f.store();
	GuestFiles g1(store, 1), g10(store, 10);
	CHECK(g1.maxLocalName() == 248);
	CHECK(g10.maxLocalName() == 247);
	CHECK(g1.open(std::string(248, 'n'), OpenMode::Write) >= 0);
	for (std::size_t length = 249; length <= 255; ++length) {
		CHECK(g1.open(std::string(length, 'n'), OpenMode::Write) == QUANTA_ENAMETOOLONG);
		CHECK(g1.lastError().find("at most 248") != std::string::npos);
	}
	CHECK(g10.open(std::string(247, 'n'), OpenMode::Write) >= 0);
	CHECK(g10.open(std::string(248, 'n'), OpenMode::Write) == QUANTA_ENAMETOOLONG);
	CHECK(g10.lastError().find("at most 247 (NAME_MAX 255 less '.local10')") != std::string::npos);
	// Reading a shared file is not limited by the suffix.
	fs::path longShared = f.sharedDir / std::string(250, 's');
	writeFile(longShared, "long");
	FileStore withLong({ longShared.string() }, f.localDir, {});
	GuestFiles reader(withLong, 1);
	CHECK(reader.open(std::string(250, 's'), OpenMode::Read) >= 0);
	CHECK(reader.open(std::string(250, 's'), OpenMode::Append) == QUANTA_ENAMETOOLONG);
}

TEST_CASE("path-named shared files: the exact -f string opens the file; no other path does")
{
	Fixture f;
	fs::create_directory(f.sharedDir / "sub dir");
	fs::path spaced = f.sharedDir / "sub dir" / "shared file.txt";
	writeFile(spaced, "shared text");
	// Relative, as Simplified-KVM's users give it: -f "files/shared file.txt".
	fs::path cwd = fs::current_path();
	fs::current_path(f.sharedDir);
	FileStore store({ "sub dir/shared file.txt" }, f.localDir, {});
	GuestFiles g(store, 1);
	std::int32_t fd = g.open("sub dir/shared file.txt", OpenMode::Read);
	REQUIRE(fd >= 0);
	CHECK(readAll(g, fd) == "shared text");
	// Its plain name is the same file; other spellings of the path are not.
	CHECK(g.open("shared file.txt", OpenMode::Read) >= 0);
	CHECK(g.open("./sub dir/shared file.txt", OpenMode::Read) == QUANTA_EACCES);
	CHECK(g.open("sub dir/../sub dir/shared file.txt", OpenMode::Read) == QUANTA_EACCES);
	CHECK(g.open("sub dir/other.txt", OpenMode::Write) == QUANTA_EACCES);
	CHECK(g.lastError().find("nor a -f argument") != std::string::npos);
	// Writing by the path makes <path>.local<ID> beside the shared file.
	std::int32_t w = g.open("sub dir/shared file.txt", OpenMode::Append);
	REQUIRE(w >= 0);
	CHECK(writeStr(g, w, "+1") == 2);
	CHECK(readFile(f.sharedDir / "sub dir" / "shared file.txt.local1") == "shared text+1");
	CHECK(readFile(spaced) == "shared text");
	// Both names now reach the guest's copy.
	std::int32_t r = g.open("shared file.txt", OpenMode::Read);
	REQUIRE(r >= 0);
	CHECK(readAll(g, r) == "shared text+1");
	fs::current_path(cwd);
}

} // namespace quanta

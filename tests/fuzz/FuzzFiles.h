// What the file-protocol fuzzers share: a scratch directory made once per
// process with one shared file, and a check after each input that nothing
// appeared outside the guest's own files (no escape, whatever the bytes).
#pragma once

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <unistd.h>

#include "files/FileStore.h"

namespace quanta::fuzz {

namespace fs = std::filesystem;

struct Scratch {
	fs::path root;
	fs::path shared;
	fs::path local;

	Scratch()
	{
		// In /dev/shm when there is one: fsync() on every close is free on a
		// tmpfs and costs milliseconds on a disk.
		char shm[] = "/dev/shm/quanta-fuzz-XXXXXX";
		char tmp[] = "/tmp/quanta-fuzz-XXXXXX";
		char *templ = ::access("/dev/shm", W_OK) == 0 ? shm : tmp;
		if (!::mkdtemp(templ))
			std::abort();
		root = templ;
		shared = root / "shared";
		local = root / "local";
		fs::create_directory(shared);
		fs::create_directory(local);
		std::ofstream(shared / "data.txt") << "line one\nline two\n";
		std::ofstream(shared / "other.bin") << std::string("\x00\x01\xfe\xff", 4);
	}

	~Scratch()
	{
		std::error_code ignored;
		fs::remove_all(root, ignored);
	}
	Scratch(const Scratch &) = delete;
	Scratch &operator=(const Scratch &) = delete;

	FileLimits limits() const
	{
		FileLimits l;
		l.maxFileSize = 4096;
		l.maxFiles = 8;
		l.maxTotalBytes = 16384;
		return l;
	}

	FileStore store() const
	{
		return FileStore({ (shared / "data.txt").string(), (shared / "other.bin").string() }, local,
				 limits());
	}

	// After each input: only the two shared files and this guest's
	// NAME.local1 files exist; the latter are removed for the next input.
	void checkAndReset() const
	{
		for (const fs::path &dir : { shared, local })
			for (const auto &entry : fs::directory_iterator(dir)) {
				std::string name = entry.path().filename().string();
				bool sharedFile = dir == shared && (name == "data.txt" || name == "other.bin");
				bool localFile = name.size() > 7 && name.compare(name.size() - 7, 7, ".local1") == 0;
				if (!sharedFile && !localFile)
					std::abort(); // something a guest must not be able to make
				if (localFile)
					fs::remove(entry.path());
			}
		for (const auto &entry : fs::directory_iterator(root))
			if (entry.path() != shared && entry.path() != local)
				std::abort();
		std::ifstream in(shared / "data.txt");
		std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
		if (text != "line one\nline two\n")
			std::abort(); // a shared file changed
	}
};

inline const Scratch &scratch()
{
	static const Scratch s;
	return s;
}

} // namespace quanta::fuzz

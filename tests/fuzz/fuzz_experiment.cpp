// The experiment reader (quanta run FILE.toml): any bytes as the file.
// A bad file is a UsageError naming file and line, nothing else.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <unistd.h>

#include "app/Experiment.h"
#include "base/Error.h"

using namespace quanta;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t *data, std::size_t size)
{
	static const std::string path = [] {
		char templ[] = "/tmp/quanta-fuzz-toml-XXXXXX";
		int fd = ::mkstemp(templ);
		if (fd < 0)
			std::abort();
		::close(fd);
		return std::string(templ);
	}();
	FILE *file = std::fopen(path.c_str(), "wb");
	if (!file)
		std::abort();
	std::fwrite(data, 1, size, file);
	std::fclose(file);
	try {
		readExperiment(path);
	} catch (const UsageError &) {
	}
	return 0;
}

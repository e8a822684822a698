#include "app/ReportMeta.h"

#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <fmt/format.h>
#include <fstream>
#include <iterator>
#include <sched.h>
#include <sstream>
#include <sys/utsname.h>
#include <unistd.h>

#include "Version.h"
#include "base/Error.h"

#ifndef QUANTA_VERSION
#define QUANTA_VERSION "unknown"
#endif

namespace quanta {

namespace {

std::string readFile(const std::string &path)
{
	std::ifstream in(path, std::ios::binary);
	return { std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>() };
}

std::vector<std::string> procCommandLine()
{
	std::string raw = readFile("/proc/self/cmdline");
	std::vector<std::string> args;
	std::size_t start = 0;
	while (start < raw.size()) {
		std::size_t end = raw.find('\0', start);
		if (end == std::string::npos)
			end = raw.size();
		args.push_back(raw.substr(start, end - start));
		start = end + 1;
	}
	return args;
}

std::string utcNow()
{
	auto now = std::chrono::system_clock::now();
	std::time_t seconds = std::chrono::system_clock::to_time_t(now);
	auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count() % 1000;
	std::tm tm{};
	::gmtime_r(&seconds, &tm);
	char text[32];
	std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%S", &tm);
	return fmt::format("{}.{:03}Z", text, ms);
}

std::string kvmModule()
{
	// The module that provides /dev/kvm shows in /sys/module.
	for (const char *name : { "kvm_pvm", "kvm_amd", "kvm_intel" })
		if (::access(fmt::format("/sys/module/{}", name).c_str(), F_OK) == 0)
			return name;
	return "unknown";
}

std::string cpuModel()
{
	std::istringstream in(readFile("/proc/cpuinfo"));
	for (std::string line; std::getline(in, line);) {
		if (line.rfind("model name", 0) == 0) {
			std::size_t colon = line.find(':');
			if (colon != std::string::npos)
				return line.substr(line.find_first_not_of(' ', colon + 1));
		}
	}
	return "unknown";
}

std::array<double, 3> loadAverage()
{
	std::array<double, 3> load{ -1, -1, -1 };
	if (::getloadavg(load.data(), 3) != 3)
		load = { -1, -1, -1 };
	return load;
}

std::vector<int> affinity()
{
	std::vector<int> cpus;
	cpu_set_t set;
	CPU_ZERO(&set);
	if (::sched_getaffinity(0, sizeof set, &set) == 0)
		for (int cpu = 0; cpu < CPU_SETSIZE; ++cpu)
			if (CPU_ISSET(cpu, &set))
				cpus.push_back(cpu);
	return cpus;
}

// SHA-256 (FIPS 180-4).
class Sha256 {
public:
	void update(std::string_view data)
	{
		for (char c : data) {
			block_[used_++] = static_cast<std::uint8_t>(c);
			if (used_ == 64) {
				compress();
				used_ = 0;
			}
		}
		bits_ += static_cast<std::uint64_t>(data.size()) * 8;
	}

	std::string hex()
	{
		std::uint64_t bits = bits_;
		update(std::string_view("\x80", 1));
		while (used_ != 56)
			update(std::string_view("\0", 1));
		for (int i = 7; i >= 0; --i) {
			char byte = static_cast<char>(bits >> (i * 8));
			update(std::string_view(&byte, 1));
		}
		std::string out;
		for (std::uint32_t word : state_)
			out += fmt::format("{:08x}", word);
		return out;
	}

private:
	static std::uint32_t rotr(std::uint32_t x, int n) { return (x >> n) | (x << (32 - n)); }

	void compress()
	{
		static constexpr std::uint32_t k[64] = {
			0x428a2f98,
			0x71374491,
			0xb5c0fbcf,
			0xe9b5dba5,
			0x3956c25b,
			0x59f111f1,
			0x923f82a4,
			0xab1c5ed5,
			0xd807aa98,
			0x12835b01,
			0x243185be,
			0x550c7dc3,
			0x72be5d74,
			0x80deb1fe,
			0x9bdc06a7,
			0xc19bf174,
			0xe49b69c1,
			0xefbe4786,
			0x0fc19dc6,
			0x240ca1cc,
			0x2de92c6f,
			0x4a7484aa,
			0x5cb0a9dc,
			0x76f988da,
			0x983e5152,
			0xa831c66d,
			0xb00327c8,
			0xbf597fc7,
			0xc6e00bf3,
			0xd5a79147,
			0x06ca6351,
			0x14292967,
			0x27b70a85,
			0x2e1b2138,
			0x4d2c6dfc,
			0x53380d13,
			0x650a7354,
			0x766a0abb,
			0x81c2c92e,
			0x92722c85,
			0xa2bfe8a1,
			0xa81a664b,
			0xc24b8b70,
			0xc76c51a3,
			0xd192e819,
			0xd6990624,
			0xf40e3585,
			0x106aa070,
			0x19a4c116,
			0x1e376c08,
			0x2748774c,
			0x34b0bcb5,
			0x391c0cb3,
			0x4ed8aa4a,
			0x5b9cca4f,
			0x682e6ff3,
			0x748f82ee,
			0x78a5636f,
			0x84c87814,
			0x8cc70208,
			0x90befffa,
			0xa4506ceb,
			0xbef9a3f7,
			0xc67178f2,
		};
		std::uint32_t w[64];
		for (int i = 0; i < 16; ++i)
			w[i] = std::uint32_t{ block_[4 * i] } << 24 | std::uint32_t{ block_[4 * i + 1] } << 16 |
			       std::uint32_t{ block_[4 * i + 2] } << 8 | block_[4 * i + 3];
		for (int i = 16; i < 64; ++i) {
			std::uint32_t s0 = rotr(w[i - 15], 7) ^ rotr(w[i - 15], 18) ^ (w[i - 15] >> 3);
			std::uint32_t s1 = rotr(w[i - 2], 17) ^ rotr(w[i - 2], 19) ^ (w[i - 2] >> 10);
			w[i] = w[i - 16] + s0 + w[i - 7] + s1;
		}
		std::uint32_t a = state_[0], b = state_[1], c = state_[2], d = state_[3];
		std::uint32_t e = state_[4], f = state_[5], g = state_[6], h = state_[7];
		for (int i = 0; i < 64; ++i) {
			std::uint32_t t1 = h + (rotr(e, 6) ^ rotr(e, 11) ^ rotr(e, 25)) + ((e & f) ^ (~e & g)) + k[i] + w[i];
			std::uint32_t t2 = (rotr(a, 2) ^ rotr(a, 13) ^ rotr(a, 22)) + ((a & b) ^ (a & c) ^ (b & c));
			h = g;
			g = f;
			f = e;
			e = d + t1;
			d = c;
			c = b;
			b = a;
			a = t1 + t2;
		}
		state_[0] += a;
		state_[1] += b;
		state_[2] += c;
		state_[3] += d;
		state_[4] += e;
		state_[5] += f;
		state_[6] += g;
		state_[7] += h;
	}

	std::uint32_t state_[8] = { 0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
				    0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19 };
	std::uint8_t block_[64] = {};
	std::size_t used_ = 0;
	std::uint64_t bits_ = 0;
};

} // namespace

std::string sha256Hex(std::string_view data)
{
	Sha256 hash;
	hash.update(data);
	return hash.hex();
}

std::string cpuListText(const std::vector<int> &cpus)
{
	std::string out;
	for (std::size_t i = 0; i < cpus.size();) {
		std::size_t j = i;
		while (j + 1 < cpus.size() && cpus[j + 1] == cpus[j] + 1)
			++j;
		// Appending in steps: GCC 12 at -O3 misreports "literal" + string&& as -Wrestrict.
		if (!out.empty())
			out += ',';
		out += j == i ? fmt::format("{}", cpus[i]) : fmt::format("{}-{}", cpus[i], cpus[j]);
		i = j + 1;
	}
	return out;
}

void pinToCpu(int cpu)
{
	std::vector<int> allowed = affinity();
	cpu_set_t set;
	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	if (::sched_setaffinity(0, sizeof set, &set) != 0)
		throw UsageError(fmt::format("--cpu {}: cannot run there ({}; this process may use CPUs {})", cpu,
					     std::strerror(errno), cpuListText(allowed)));
}

std::string experimentFileOf(const std::vector<std::string> &args)
{
	if (args.size() >= 3 && (args[1] == "run" || args[1] == "sweep") && !args[2].empty() && args[2][0] != '-')
		return args[2];
	return "";
}

RunMetadata startMetadata(const std::vector<std::string> &args, std::optional<std::uint64_t> seed)
{
	RunMetadata meta;
	meta.quantaVersion = QUANTA_VERSION;
	meta.quantaCommit = kQuantaCommit;
	meta.commandLine = args;
	std::string joined;
	for (const std::string &arg : args)
		joined += arg + '\0';
	meta.commandSha256 = sha256Hex(joined);
	meta.experimentPath = experimentFileOf(args);
	if (!meta.experimentPath.empty())
		meta.experimentSha256 = sha256Hex(readFile(meta.experimentPath));
	meta.seed = seed;
	meta.startTime = utcNow();
	char host[256] = {};
	if (::gethostname(host, sizeof host - 1) == 0)
		meta.hostName = host;
	struct utsname uts;
	if (::uname(&uts) == 0)
		meta.kernel = fmt::format("{} {} {} {}", uts.sysname, uts.release, uts.version, uts.machine);
	const char *via = std::getenv("QUANTA_KVM_VIA");
	meta.kvmVia = via && *via ? via : "direct";
	meta.kvmModule = kvmModule();
	meta.cpuModel = cpuModel();
	meta.cpusOnline = ::sysconf(_SC_NPROCESSORS_ONLN);
	meta.cpuAffinity = cpuListText(affinity());
	meta.cpuAtStart = ::sched_getcpu();
	meta.loadBefore = loadAverage();
	return meta;
}

RunMetadata startMetadata(std::optional<std::uint64_t> seed)
{
	return startMetadata(procCommandLine(), seed);
}

void finishMetadata(RunMetadata &meta)
{
	meta.cpuAtEnd = ::sched_getcpu();
	meta.loadAfter = loadAverage();
}

nlohmann::json metadataJson(const RunMetadata &m)
{
	nlohmann::json experiment = nullptr;
	if (!m.experimentPath.empty())
		experiment = { { "path", m.experimentPath }, { "sha256", m.experimentSha256 } };
	nlohmann::json j = {
		{ "quanta_version", m.quantaVersion },
		{ "quanta_commit", m.quantaCommit },
		{ "command_line", m.commandLine },
		{ "command_sha256", m.commandSha256 },
		{ "experiment", experiment },
		{ "seed", m.seed ? nlohmann::json(*m.seed) : nlohmann::json(nullptr) },
		{ "start_time", m.startTime },
		{ "host_name", m.hostName },
		{ "kernel", m.kernel },
		{ "kvm_via", m.kvmVia },
		{ "kvm_module", m.kvmModule },
		{ "cpu_model", m.cpuModel },
		{ "cpus_online", m.cpusOnline },
		{ "cpu_affinity", m.cpuAffinity },
		{ "cpu_pinned", m.cpuPinned ? nlohmann::json(*m.cpuPinned) : nlohmann::json(nullptr) },
		{ "realtime", m.realtime ? nlohmann::json(*m.realtime) : nlohmann::json(nullptr) },
		{ "cpu_at_start", m.cpuAtStart },
		{ "cpu_at_end", m.cpuAtEnd },
		{ "load_avg_before", m.loadBefore },
		{ "load_avg_after", m.loadAfter },
	};
	if (!m.sweep.is_null())
		j["sweep"] = m.sweep;
	return j;
}

} // namespace quanta

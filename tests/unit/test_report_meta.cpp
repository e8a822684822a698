// Run metadata and the report's noise rules, without KVM.
#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "app/Report.h"
#include "app/ReportMeta.h"
#include "base/Error.h"

#include <sched.h>

using namespace quanta;

TEST_SUITE("report-meta")
{
	TEST_CASE("SHA-256 matches the FIPS 180-4 examples")
	{
		CHECK(sha256Hex("") == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
		CHECK(sha256Hex("abc") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
		CHECK(sha256Hex("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq") ==
		      "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
		CHECK(sha256Hex(std::string(1'000'000, 'a')) ==
		      "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
	}

	TEST_CASE("CPU lists are written as ranges")
	{
		CHECK(cpuListText({}) == "");
		CHECK(cpuListText({ 0 }) == "0");
		CHECK(cpuListText({ 0, 1, 2, 3 }) == "0-3");
		CHECK(cpuListText({ 0, 2, 3, 4, 7 }) == "0,2-4,7");
	}

	TEST_CASE("the experiment file is found on run and sweep command lines")
	{
		CHECK(experimentFileOf({ "quanta", "run", "e.toml", "--seed", "1" }) == "e.toml");
		CHECK(experimentFileOf({ "quanta", "sweep", "s.toml" }) == "s.toml");
		CHECK(experimentFileOf({ "quanta", "-g", "a.elf" }) == "");
		CHECK(experimentFileOf({ "quanta", "sweep", "--collect", "d" }) == "");
	}

	TEST_CASE("--cpu pins the thread, or says where it may run")
	{
		cpu_set_t saved;
		REQUIRE(::sched_getaffinity(0, sizeof saved, &saved) == 0);
		int first = 0;
		while (!CPU_ISSET(first, &saved))
			++first;
		pinToCpu(first);
		CHECK(::sched_getcpu() == first);
		CHECK_THROWS_WITH_AS(pinToCpu(CPU_SETSIZE - 1), doctest::Contains("this process may use CPUs"), UsageError);
		::sched_setaffinity(0, sizeof saved, &saved);
	}

	TEST_CASE("metadata carries the command line, its hash, the seed and the host")
	{
		RunMetadata m = startMetadata({ "quanta", "-g", "a.elf" }, 42);
		finishMetadata(m);
		nlohmann::json j = metadataJson(m);
		CHECK(j["command_line"] == nlohmann::json::array({ "quanta", "-g", "a.elf" }));
		CHECK(j["command_sha256"] == sha256Hex(std::string("quanta\0-g\0a.elf\0", 16)));
		CHECK(j["seed"] == 42);
		CHECK(j["experiment"].is_null());
		CHECK(j["cpus_online"].get<long>() >= 1);
		CHECK(j["load_avg_before"].size() == 3);
		CHECK(j["start_time"].get<std::string>().size() == 24); // 2026-12-02T17:10:00.123Z
		CHECK(!j["host_name"].get<std::string>().empty());
		CHECK(!j["quanta_commit"].get<std::string>().empty());
		CHECK(j["cpu_at_start"].get<int>() >= 0);
	}
}

namespace {

RunRecord record(std::vector<std::pair<VmStatus, Nanos>> vms, Nanos wall)
{
	RunRecord r;
	r.wallNs = wall;
	for (auto [status, life] : vms) {
		RunRecord::Vm vm;
		vm.status = status;
		vm.sched.wallNs = life / 2;
		vm.sched.ranNs = life / 2;
		vm.sched.waitingNs = life - life / 2;
		r.vms.push_back(vm);
	}
	return r;
}

} // namespace

TEST_SUITE("report-noise")
{
	const Nanos ms = 1'000'000;
	const std::vector<std::string> names{ "a", "b", "c" };

	TEST_CASE("a run shorter than 20 quanta leaves every VM out")
	{
		sched::Scheduler s(sched::Policy::Stride, 10 * ms, { 1, 1 }, 0);
		RunReport report{};
		auto why = fairnessExclusions(report, record({ { VmStatus::Halted, 4 * ms }, { VmStatus::Halted, 4 * ms } }, 4 * ms),
					      s, names);
		REQUIRE(why.size() == 2);
		CHECK(why[0].find("0.4 quanta") != std::string::npos);
		CHECK(why[1] == why[0]);
		REQUIRE(report.warnings.size() == 1);
		CHECK(report.warnings[0].code == "short_run");
	}

	TEST_CASE("a VM that halted early is left out, the others compared")
	{
		sched::Scheduler s(sched::Policy::Stride, 1 * ms, { 1, 1, 1 }, 0);
		RunReport report{};
		auto why = fairnessExclusions(
			report,
			record({ { VmStatus::Stopped, 1000 * ms }, { VmStatus::Halted, 100 * ms }, { VmStatus::Stopped, 1000 * ms } },
			       1000 * ms),
			s, names);
		CHECK(why[0].empty());
		CHECK(why[1].find("halted after 100.0 ms") != std::string::npos);
		CHECK(why[2].empty());
		REQUIRE(report.warnings.size() == 1);
		CHECK(report.warnings[0].code == "halted_early");
		CHECK(report.warnings[0].message.find("VM b") != std::string::npos);
	}

	TEST_CASE("VMs that all ran to the end, or were stopped by the run, are all included")
	{
		sched::Scheduler s(sched::Policy::Stride, 1 * ms, { 1, 1 }, 0);
		RunReport report{};
		auto why = fairnessExclusions(
			report, record({ { VmStatus::Halted, 950 * ms }, { VmStatus::Halted, 1000 * ms } }, 1000 * ms), s, names);
		CHECK(why[0].empty());
		CHECK(why[1].empty());
		// Stopped by --duration or a signal: not early, whatever its life.
		auto stopped = fairnessExclusions(
			report, record({ { VmStatus::Stopped, 10 * ms }, { VmStatus::Halted, 1000 * ms } }, 1000 * ms), s, names);
		CHECK(stopped[0].empty());
		CHECK(report.warnings.empty());
	}

	TEST_CASE("the io policy has no quantum to be short of")
	{
		sched::Scheduler s(sched::Policy::Io, 10 * ms, { 1, 1 }, 0);
		RunReport report{};
		auto why = fairnessExclusions(report, record({ { VmStatus::Halted, 4 * ms }, { VmStatus::Halted, 4 * ms } }, 4 * ms),
					      s, names);
		CHECK(why[0].empty());
		CHECK(report.warnings.empty());
	}

	TEST_CASE("a loaded host is named")
	{
		RunReport report{};
		RunMetadata meta;
		meta.cpusOnline = 2;
		meta.loadBefore = { 0.5, 0.5, 0.5 };
		addNoiseWarnings(report, meta);
		CHECK(report.warnings.empty());
		meta.loadBefore = { 1.5, 0.5, 0.5 };
		addNoiseWarnings(report, meta);
		REQUIRE(report.warnings.size() == 1);
		CHECK(report.warnings[0].code == "loaded_host");
		CHECK(report.warnings[0].message.find("1.50") != std::string::npos);
	}
}

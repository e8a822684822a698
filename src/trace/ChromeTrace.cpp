#include "trace/ChromeTrace.h"

#include <array>
#include <cmath>
#include <fmt/format.h>
#include <iterator>
#include <limits>
#include <linux/kvm.h>
#include <nlohmann/json.hpp>

#include "base/Error.h"

namespace quanta::trace {

namespace {

constexpr int kPid = 1;

// Nanoseconds as microseconds with three decimals: exact, and what the
// format's ts and dur fields expect.
std::string micros(Nanos ns)
{
	const char *sign = ns < 0 ? "-" : "";
	// Unsigned magnitude: -INT64_MIN does not fit in a Nanos.
	std::uint64_t abs = ns < 0 ? 0 - static_cast<std::uint64_t>(ns) : static_cast<std::uint64_t>(ns);
	return fmt::format("{}{}.{:03}", sign, abs / 1000, abs % 1000);
}

// Differences and sums of times from a trace file, which may hold any
// values: saturated, never a signed overflow.
Nanos minus(Nanos a, Nanos b)
{
	Nanos out;
	if (__builtin_sub_overflow(a, b, &out))
		return b < 0 ? INT64_MAX : INT64_MIN;
	return out;
}

Nanos plus(Nanos a, Nanos b)
{
	Nanos out;
	if (__builtin_add_overflow(a, b, &out))
		return b < 0 ? INT64_MIN : INT64_MAX;
	return out;
}

// Times in a trace file beyond a century are not a run's: refused, so that
// everything computed from them stays far from overflow.
constexpr double kMaxTraceNs = 4e18;

std::string jsonString(std::string_view text)
{
	return nlohmann::json(std::string(text)).dump();
}

std::string csvField(std::string_view text)
{
	if (text.find_first_of(",\"\n\r") == std::string_view::npos)
		return std::string(text);
	std::string out = "\"";
	for (char c : text) {
		if (c == '"')
			out += '"';
		out += c;
	}
	return out + '"';
}

const std::array<sched::SliceEnd, sched::kSliceEndCount> kSliceEnds = {
	sched::SliceEnd::Timer,
	sched::SliceEnd::IoExit,
	sched::SliceEnd::Yield,
	sched::SliceEnd::Park,
	sched::SliceEnd::Halt,
	sched::SliceEnd::Fault,
	sched::SliceEnd::Stop,
};

std::optional<sched::SliceEnd> parseSliceEnd(std::string_view name)
{
	for (sched::SliceEnd why : kSliceEnds)
		if (sched::sliceEndName(why) == name)
			return why;
	return std::nullopt;
}

// Calls onSlice/onExit in time order. Both vectors are chronological, and
// a slice's KVM_RUNs lie inside it, so a merge puts each slice right
// before its own exits (viewers nest them that way).
template <typename OnSlice, typename OnExit>
void inTimeOrder(const TraceData &data, OnSlice onSlice, OnExit onExit)
{
	std::size_t e = 0;
	for (const SliceEvent &slice : data.slices) {
		while (e < data.exits.size() && data.exits[e].enter < slice.start)
			onExit(data.exits[e++]);
		onSlice(slice);
	}
	while (e < data.exits.size())
		onExit(data.exits[e++]);
}

Nanos nanosField(const nlohmann::json &event, const char *key)
{
	auto it = event.find(key);
	if (it == event.end() || !it->is_number())
		throw UsageError(fmt::format("trace event without a numeric '{}'", key));
	double ns = it->get<double>() * 1000.0;
	if (!(std::fabs(ns) <= kMaxTraceNs))
		throw UsageError(fmt::format("trace event with '{}' out of range", key));
	return static_cast<Nanos>(std::llround(ns));
}

// An integer field in [low, high] (a default when absent): a number out of
// range or of the wrong kind is an error, never a cast that overflows.
template <typename T>
T intField(const nlohmann::json &object, const char *key, T fallback, T low = std::numeric_limits<T>::min(),
	   T high = std::numeric_limits<T>::max())
{
	auto it = object.find(key);
	if (it == object.end())
		return fallback;
	// Compared as int64 and uint64 against the bounds: every T used here
	// fits one of them.
	const auto lowS = static_cast<std::int64_t>(low);
	const auto highU = static_cast<std::uint64_t>(high);
	bool fits = false;
	if (it->is_number_unsigned()) {
		auto v = it->get<std::uint64_t>();
		fits = (lowS <= 0 || v >= static_cast<std::uint64_t>(lowS)) && v <= highU;
	} else if (it->is_number_integer()) {
		auto v = it->get<std::int64_t>();
		fits = v >= lowS && (v < 0 || static_cast<std::uint64_t>(v) <= highU);
	} else if (it->is_number_float()) {
		double v = it->get<double>();
		fits = v == std::floor(v) && v >= static_cast<double>(lowS) && v < static_cast<double>(highU) + 1.0;
		if (fits)
			return static_cast<T>(v);
	}
	if (!fits)
		throw UsageError(fmt::format("trace field '{}' is not an integer in [{}, {}]", key, low, high));
	return it->get<T>();
}

} // namespace

std::string chromeTraceJson(const TraceData &data)
{
	nlohmann::json vms = nlohmann::json::array();
	for (const TraceVm &vm : data.vms)
		vms.push_back({ { "name", vm.name }, { "weight", vm.weight }, { "target_share_frac", vm.targetShare } });
	nlohmann::json meta = {
		{ "policy", data.policy },
		{ "quantum_ns", data.quantum },
		{ "wall_ns", data.wall },
		{ "level", std::string(levelName(data.level)) },
		{ "dropped_exits", data.droppedExits },
		{ "vms", vms },
	};
	if (!data.metaJson.empty()) {
		meta["schema_version"] = data.schemaVersion;
		meta["kind"] = "trace";
		meta["meta"] = nlohmann::json::parse(data.metaJson);
	}

	std::string out;
	out.reserve(256 + data.slices.size() * 200 + data.exits.size() * 130);
	auto sink = std::back_inserter(out);
	fmt::format_to(sink, "{{\"displayTimeUnit\":\"ms\",\n\"quanta\":{},\n\"traceEvents\":[\n", meta.dump());
	fmt::format_to(sink,
		       "{{\"ph\":\"M\",\"name\":\"process_name\",\"pid\":{},\"tid\":0,\"args\":{{\"name\":{}}}}}",
		       kPid,
		       jsonString(fmt::format("quanta: {}, quantum {} ms", data.policy,
					      static_cast<double>(data.quantum) / 1e6)));
	for (std::size_t i = 0; i < data.vms.size(); ++i) {
		fmt::format_to(sink,
			       ",\n{{\"ph\":\"M\",\"name\":\"thread_name\",\"pid\":{},\"tid\":{},\"args\":{{\"name\":{}}}}}",
			       kPid, i + 1, jsonString(data.vms[i].name));
		fmt::format_to(sink,
			       ",\n{{\"ph\":\"M\",\"name\":\"thread_sort_index\",\"pid\":{},\"tid\":{},\"args\":{{\"sort_index\":{}}}}}",
			       kPid, i + 1, i + 1);
	}

	std::vector<std::string> names;
	for (const TraceVm &vm : data.vms)
		names.push_back(jsonString(vm.name));
	auto nameOf = [&](std::uint32_t vm) {
		return vm < names.size() ? names[vm] : jsonString(fmt::format("vm{}", vm));
	};
	std::vector<Nanos> ran(data.vms.size(), 0);
	Nanos ranTotal = 0;

	inTimeOrder(
		data,
		[&](const SliceEvent &s) {
			fmt::format_to(sink,
				       ",\n{{\"ph\":\"X\",\"cat\":\"slice\",\"name\":{},\"pid\":{},\"tid\":{},\"ts\":{},\"dur\":{},"
				       "\"args\":{{\"end\":\"{}\",\"ran_ns\":{},\"runs\":{}}}}}",
				       nameOf(s.vm), kPid, s.vm + 1, micros(minus(s.start, data.origin)),
				       micros(minus(s.end, s.start)), sched::sliceEndName(s.why), s.ran, s.runs);
			if (s.vm < ran.size()) {
				ran[s.vm] = plus(ran[s.vm], s.ran);
				ranTotal = plus(ranTotal, s.ran);
			}
			if (ranTotal <= 0)
				return;
			fmt::format_to(sink, ",\n{{\"ph\":\"C\",\"name\":\"share\",\"pid\":{},\"ts\":{},\"args\":{{", kPid,
				       micros(minus(s.end, data.origin)));
			for (std::size_t i = 0; i < ran.size(); ++i)
				fmt::format_to(sink, "{}{}:{:.6f}", i ? "," : "", names[i],
					       static_cast<double>(ran[i]) / static_cast<double>(ranTotal));
			out += "}}";
		},
		[&](const ExitEvent &x) {
			fmt::format_to(sink,
				       ",\n{{\"ph\":\"X\",\"cat\":\"exit\",\"name\":\"{}\",\"pid\":{},\"tid\":{},\"ts\":{},\"dur\":{},"
				       "\"args\":{{\"exit\":{}",
				       exitName(x), kPid, x.vm + 1, micros(minus(x.enter, data.origin)), micros(minus(x.exit, x.enter)),
				       x.reason);
			if (x.reason == KVM_EXIT_IO)
				fmt::format_to(sink, ",\"port\":{},\"out\":{},\"size\":{}", x.port, x.out ? 1 : 0, x.size);
			out += "}}";
		});
	out += "\n]}\n";
	return out;
}

TraceData readChromeTrace(std::string_view text)
{
	nlohmann::json doc = nlohmann::json::parse(text, nullptr, false);
	if (doc.is_discarded() || !doc.is_object())
		throw UsageError("not a JSON object");
	auto meta = doc.find("quanta");
	auto events = doc.find("traceEvents");
	if (meta == doc.end() || !meta->is_object() || events == doc.end() || !events->is_array())
		throw UsageError("not a quanta trace (no \"quanta\" object or \"traceEvents\")");

	TraceData data;
	try {
		data.policy = meta->value("policy", "");
		constexpr auto kMaxNs = static_cast<Nanos>(kMaxTraceNs);
		data.quantum = intField<Nanos>(*meta, "quantum_ns", 0, 0, kMaxNs);
		data.wall = intField<Nanos>(*meta, "wall_ns", 0, 0, kMaxNs);
		data.level = parseLevel(meta->value("level", "slices")).value_or(Level::Slices);
		data.droppedExits = intField<std::uint64_t>(*meta, "dropped_exits", 0);
		for (const auto &vm : meta->at("vms")) {
			TraceVm info;
			info.name = vm.at("name").get<std::string>();
			info.weight = intField<std::uint64_t>(vm, "weight", 1);
			// Traces before schema version 1 called it target_share.
			info.targetShare = vm.value("target_share_frac", vm.value("target_share", 0.0));
			data.vms.push_back(std::move(info));
		}
		for (const auto &event : *events) {
			if (event.value("ph", "") != "X")
				continue;
			std::string cat = event.value("cat", "");
			long tid = intField<long>(event, "tid", 0);
			if (tid < 1 || static_cast<std::size_t>(tid) > data.vms.size())
				throw UsageError(fmt::format("event on tid {} but the trace has {} VMs", tid, data.vms.size()));
			auto vm = static_cast<std::uint32_t>(tid - 1);
			Nanos start = nanosField(event, "ts");
			Nanos length = nanosField(event, "dur");
			const nlohmann::json &args = event.at("args");
			if (cat == "slice") {
				std::string end = args.value("end", "");
				auto why = parseSliceEnd(end);
				if (!why)
					throw UsageError(fmt::format("slice with unknown end reason '{}'", end));
				data.slices.push_back({ start, start + length,
							intField<Nanos>(args, "ran_ns", 0, -kMaxNs, kMaxNs), vm,
							intField<std::uint32_t>(args, "runs", 0), *why });
			} else if (cat == "exit") {
				data.exits.push_back({ start, start + length, vm, intField<std::uint32_t>(args, "exit", 0),
						       intField<std::uint16_t>(args, "port", 0), intField<int>(args, "out", 0) != 0,
						       intField<std::uint8_t>(args, "size", 0) });
			}
		}
	} catch (const nlohmann::json::exception &e) {
		throw UsageError(fmt::format("malformed quanta trace: {}", e.what()));
	}
	return data;
}

std::string traceCsv(const TraceData &data)
{
	std::vector<std::string> names;
	for (const TraceVm &vm : data.vms)
		names.push_back(csvField(vm.name));
	auto nameOf = [&](std::uint32_t vm) { return vm < names.size() ? names[vm] : std::string(); };

	std::string out = "type,vm,name,start_ns,end_ns,ran_ns,reason,runs,port,size\n";
	out.reserve(out.size() + data.slices.size() * 60 + data.exits.size() * 60);
	auto sink = std::back_inserter(out);
	inTimeOrder(
		data,
		[&](const SliceEvent &s) {
			fmt::format_to(sink, "slice,{},{},{},{},{},{},{},,\n", s.vm, nameOf(s.vm), minus(s.start, data.origin),
				       minus(s.end, data.origin), s.ran, sched::sliceEndName(s.why), s.runs);
		},
		[&](const ExitEvent &x) {
			std::string reason = x.reason == KVM_EXIT_IO ? (x.out ? "io out" : "io in") : exitReasonName(x.reason);
			fmt::format_to(sink, "exit,{},{},{},{},{},{},,", x.vm, nameOf(x.vm), minus(x.enter, data.origin),
				       minus(x.exit, data.origin), minus(x.exit, x.enter), reason);
			if (x.reason == KVM_EXIT_IO)
				fmt::format_to(sink, "{:#x},{}\n", x.port, x.size);
			else
				out += ",\n";
		});
	return out;
}

} // namespace quanta::trace

#include "trace/ChromeTrace.h"

#include <array>
#include <cmath>
#include <fmt/format.h>
#include <iterator>
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
	Nanos abs = ns < 0 ? -ns : ns;
	return fmt::format("{}{}.{:03}", sign, abs / 1000, abs % 1000);
}

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
	return static_cast<Nanos>(std::llround(it->get<double>() * 1000.0));
}

} // namespace

std::string chromeTraceJson(const TraceData &data)
{
	nlohmann::json vms = nlohmann::json::array();
	for (const TraceVm &vm : data.vms)
		vms.push_back({ { "name", vm.name }, { "weight", vm.weight }, { "target_share", vm.targetShare } });
	nlohmann::json meta = {
		{ "policy", data.policy },
		{ "quantum_ns", data.quantum },
		{ "wall_ns", data.wall },
		{ "level", std::string(levelName(data.level)) },
		{ "dropped_exits", data.droppedExits },
		{ "vms", vms },
	};

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
				       nameOf(s.vm), kPid, s.vm + 1, micros(s.start - data.origin), micros(s.end - s.start),
				       sched::sliceEndName(s.why), s.ran, s.runs);
			if (s.vm < ran.size()) {
				ran[s.vm] += s.ran;
				ranTotal += s.ran;
			}
			if (ranTotal <= 0)
				return;
			fmt::format_to(sink, ",\n{{\"ph\":\"C\",\"name\":\"share\",\"pid\":{},\"ts\":{},\"args\":{{", kPid,
				       micros(s.end - data.origin));
			for (std::size_t i = 0; i < ran.size(); ++i)
				fmt::format_to(sink, "{}{}:{:.6f}", i ? "," : "", names[i],
					       static_cast<double>(ran[i]) / static_cast<double>(ranTotal));
			out += "}}";
		},
		[&](const ExitEvent &x) {
			fmt::format_to(sink,
				       ",\n{{\"ph\":\"X\",\"cat\":\"exit\",\"name\":\"{}\",\"pid\":{},\"tid\":{},\"ts\":{},\"dur\":{},"
				       "\"args\":{{\"exit\":{}",
				       exitName(x), kPid, x.vm + 1, micros(x.enter - data.origin), micros(x.exit - x.enter),
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
		data.quantum = meta->value("quantum_ns", Nanos{ 0 });
		data.wall = meta->value("wall_ns", Nanos{ 0 });
		data.level = parseLevel(meta->value("level", "slices")).value_or(Level::Slices);
		data.droppedExits = meta->value("dropped_exits", std::uint64_t{ 0 });
		for (const auto &vm : meta->at("vms")) {
			TraceVm info;
			info.name = vm.at("name").get<std::string>();
			info.weight = vm.value("weight", std::uint64_t{ 1 });
			info.targetShare = vm.value("target_share", 0.0);
			data.vms.push_back(std::move(info));
		}
		for (const auto &event : *events) {
			if (event.value("ph", "") != "X")
				continue;
			std::string cat = event.value("cat", "");
			long tid = event.value("tid", 0L);
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
				data.slices.push_back({ start, start + length, args.value("ran_ns", Nanos{ 0 }), vm,
							args.value("runs", std::uint32_t{ 0 }), *why });
			} else if (cat == "exit") {
				data.exits.push_back({ start, start + length, vm, args.value("exit", std::uint32_t{ 0 }),
						       args.value("port", std::uint16_t{ 0 }), args.value("out", 0) != 0,
						       args.value("size", std::uint8_t{ 0 }) });
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
			fmt::format_to(sink, "slice,{},{},{},{},{},{},{},,\n", s.vm, nameOf(s.vm), s.start - data.origin,
				       s.end - data.origin, s.ran, sched::sliceEndName(s.why), s.runs);
		},
		[&](const ExitEvent &x) {
			std::string reason = x.reason == KVM_EXIT_IO ? (x.out ? "io out" : "io in") : exitReasonName(x.reason);
			fmt::format_to(sink, "exit,{},{},{},{},{},{},,", x.vm, nameOf(x.vm), x.enter - data.origin,
				       x.exit - data.origin, x.exit - x.enter, reason);
			if (x.reason == KVM_EXIT_IO)
				fmt::format_to(sink, "{:#x},{}\n", x.port, x.size);
			else
				out += ",\n";
		});
	return out;
}

} // namespace quanta::trace
